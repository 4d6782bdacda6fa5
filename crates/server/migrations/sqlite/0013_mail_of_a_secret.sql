-- Which outbox row carries a secret's mail, so the screen waiting for it can say where that mail
-- is, and the counter can resend it. A resend mails a new key for the same row and points here.
ALTER TABLE auth_keys ADD COLUMN mail_id INTEGER;
ALTER TABLE login_challenges ADD COLUMN mail_id INTEGER;
ALTER TABLE recovery_requests ADD COLUMN mail_id INTEGER;
ALTER TABLE email_changes ADD COLUMN mail_id INTEGER;
CREATE INDEX auth_keys_mail ON auth_keys(mail_id);
CREATE INDEX login_challenges_mail ON login_challenges(mail_id);
CREATE INDEX recovery_requests_mail ON recovery_requests(mail_id);
CREATE INDEX email_changes_mail ON email_changes(mail_id);
