-- A change of login ID waits here until the code mailed to the new address is entered.
CREATE TABLE email_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    new_email TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    voided_at INTEGER,
    used_at INTEGER
);
CREATE INDEX email_changes_account ON email_changes(account_id);
