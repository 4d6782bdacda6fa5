-- A 「パスワードをお忘れの方」 request waits here for its new password and 認証キー, whether or
-- not what was typed matched an account: every request gets the same row with its own expiry and
-- guarded failure count; only a matched one has a job seeker, and only its key was mailed.
CREATE TABLE recovery_requests (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- keyed hash of the typed email, 求職番号 and birth date: a new request voids the live one
    subject TEXT NOT NULL,
    job_seeker_id BIGINT REFERENCES job_seekers(id),
    legacy BIGINT NOT NULL DEFAULT 0,
    -- what was typed (normalized), the context of the password rules on both paths
    email TEXT NOT NULL,
    job_seeker_number TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    failed_attempts BIGINT NOT NULL DEFAULT 0,
    voided_at BIGINT,
    used_at BIGINT
);
CREATE UNIQUE INDEX recovery_requests_one_live ON recovery_requests(subject) WHERE used_at IS NULL AND voided_at IS NULL;
CREATE INDEX recovery_requests_job_seeker ON recovery_requests(job_seeker_id);
CREATE INDEX recovery_requests_created ON recovery_requests(created_at);
