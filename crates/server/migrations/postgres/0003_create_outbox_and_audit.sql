-- The transactional mail outbox and the audit log.
CREATE TABLE outbox (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind TEXT NOT NULL,
    to_addr TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    job_seeker_id BIGINT REFERENCES job_seekers(id),
    created_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    locked_until BIGINT,
    sent_at BIGINT,
    failed_at BIGINT,
    last_error TEXT
);
CREATE INDEX outbox_pending ON outbox(next_attempt_at);
CREATE INDEX outbox_job_seeker ON outbox(job_seeker_id);

CREATE TABLE audit_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    job_seeker_id BIGINT REFERENCES job_seekers(id),
    detail TEXT NOT NULL,
    client_addr TEXT
);
CREATE INDEX audit_events_job_seeker ON audit_events(job_seeker_id, at);
CREATE INDEX audit_events_kind ON audit_events(kind, at);
