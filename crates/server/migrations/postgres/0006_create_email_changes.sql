-- A change of login ID waits here until the code mailed to the new address is entered.
CREATE TABLE email_changes (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    new_email TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    failed_attempts BIGINT NOT NULL DEFAULT 0,
    voided_at BIGINT,
    used_at BIGINT
);
CREATE INDEX email_changes_account ON email_changes(account_id);
