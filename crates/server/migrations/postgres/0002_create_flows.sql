-- Server-side sessions, auth keys of the opening and recovery flows, and the sliding-window attempt log
-- that backs every rate limit (shared by all nodes because it lives here).
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    csrf_token TEXT NOT NULL,
    account_id BIGINT REFERENCES accounts(id),
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    idle_expires_at BIGINT NOT NULL,
    abs_expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_account ON sessions(account_id);
CREATE INDEX sessions_idle ON sessions(idle_expires_at);

CREATE TABLE auth_keys (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    purpose TEXT NOT NULL CHECK (purpose IN ('open', 'reset')),
    job_seeker_id BIGINT NOT NULL REFERENCES job_seekers(id),
    code_id BIGINT REFERENCES account_codes(id),
    email TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    failed_attempts BIGINT NOT NULL DEFAULT 0,
    voided_at BIGINT,
    used_at BIGINT
);
CREATE INDEX auth_keys_job_seeker ON auth_keys(job_seeker_id, purpose);

CREATE TABLE attempt_log (
    scope TEXT NOT NULL,
    subject TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX attempt_log_lookup ON attempt_log(scope, subject, at);
CREATE INDEX attempt_log_at ON attempt_log(at);
