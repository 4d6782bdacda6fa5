-- Login: one-time password challenges, remembered browsers (OTP skipped for 90 days), and the
-- record of successful logins shown to the account holder.
CREATE TABLE login_challenges (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    otp_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    failed_attempts BIGINT NOT NULL DEFAULT 0,
    voided_at BIGINT,
    used_at BIGINT
);
CREATE INDEX login_challenges_account ON login_challenges(account_id);

CREATE TABLE remembered_browsers (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    token_hash TEXT NOT NULL UNIQUE,
    user_agent TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX remembered_browsers_account ON remembered_browsers(account_id);

CREATE TABLE logins (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    at BIGINT NOT NULL,
    method TEXT NOT NULL CHECK (method IN ('otp', 'remembered')),
    user_agent TEXT NOT NULL,
    client_addr TEXT NOT NULL
);
CREATE INDEX logins_account ON logins(account_id, at);
