-- Login: one-time password challenges, remembered browsers (OTP skipped for 90 days), and the
-- record of successful logins shown to the account holder.
CREATE TABLE login_challenges (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    otp_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    voided_at INTEGER,
    used_at INTEGER
);
CREATE INDEX login_challenges_account ON login_challenges(account_id);

CREATE TABLE remembered_browsers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    token_hash TEXT NOT NULL UNIQUE,
    user_agent TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX remembered_browsers_account ON remembered_browsers(account_id);

CREATE TABLE logins (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    at INTEGER NOT NULL,
    method TEXT NOT NULL CHECK (method IN ('otp', 'remembered')),
    user_agent TEXT NOT NULL,
    client_addr TEXT NOT NULL
);
CREATE INDEX logins_account ON logins(account_id, at);
