-- Limits become atomic reservations: every attempt is a row with an id (so a reservation can be
-- released), and a per-subject lock row serializes the reservations of one subject on every
-- node (PostgreSQL row lock; SQLite's single writer does the same).
DROP TABLE attempt_log;
CREATE TABLE attempt_log (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    scope TEXT NOT NULL,
    subject TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX attempt_log_lookup ON attempt_log(scope, subject, at);
CREATE INDEX attempt_log_at ON attempt_log(at);

CREATE TABLE limit_subjects (
    scope TEXT NOT NULL,
    subject TEXT NOT NULL,
    touched_at BIGINT NOT NULL,
    PRIMARY KEY (scope, subject)
);
CREATE INDEX limit_subjects_touched ON limit_subjects(touched_at);

-- At most one live secret per owner. Earlier races may have left two: keep the newest.
UPDATE auth_keys SET voided_at = created_at WHERE used_at IS NULL AND voided_at IS NULL
    AND id NOT IN (SELECT MAX(id) FROM auth_keys WHERE used_at IS NULL AND voided_at IS NULL GROUP BY job_seeker_id, purpose);
CREATE UNIQUE INDEX auth_keys_one_live ON auth_keys(job_seeker_id, purpose) WHERE used_at IS NULL AND voided_at IS NULL;

UPDATE login_challenges SET voided_at = created_at WHERE used_at IS NULL AND voided_at IS NULL
    AND id NOT IN (SELECT MAX(id) FROM login_challenges WHERE used_at IS NULL AND voided_at IS NULL GROUP BY account_id);
CREATE UNIQUE INDEX login_challenges_one_live ON login_challenges(account_id) WHERE used_at IS NULL AND voided_at IS NULL;

UPDATE account_codes SET voided_at = issued_at WHERE used_at IS NULL AND voided_at IS NULL
    AND id NOT IN (SELECT MAX(id) FROM account_codes WHERE used_at IS NULL AND voided_at IS NULL GROUP BY job_seeker_id);
CREATE UNIQUE INDEX account_codes_one_live ON account_codes(job_seeker_id) WHERE used_at IS NULL AND voided_at IS NULL;

UPDATE email_changes SET voided_at = created_at WHERE used_at IS NULL AND voided_at IS NULL
    AND id NOT IN (SELECT MAX(id) FROM email_changes WHERE used_at IS NULL AND voided_at IS NULL GROUP BY account_id);
CREATE UNIQUE INDEX email_changes_one_live ON email_changes(account_id) WHERE used_at IS NULL AND voided_at IS NULL;
