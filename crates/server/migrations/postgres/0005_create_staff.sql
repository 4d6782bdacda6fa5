-- Counter staff and admins, and staff sessions.
CREATE TABLE staff (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    login_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('counter', 'admin')),
    office_id BIGINT NOT NULL REFERENCES offices(id),
    password_hash TEXT NOT NULL,
    must_change_password BIGINT NOT NULL CHECK (must_change_password IN (0, 1)),
    totp_secret TEXT NOT NULL,
    totp_confirmed_at BIGINT,
    totp_last_step BIGINT NOT NULL DEFAULT 0,
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT,
    disabled_at BIGINT,
    created_at BIGINT NOT NULL
);

-- Staff sessions live beside job seekers' sessions, told apart by realm (and cookie).
ALTER TABLE sessions ADD COLUMN realm TEXT NOT NULL DEFAULT 'public';
ALTER TABLE sessions ADD COLUMN staff_id BIGINT REFERENCES staff(id);
CREATE INDEX sessions_staff ON sessions(staff_id);

CREATE INDEX job_seekers_kana ON job_seekers(name_kana);
CREATE INDEX audit_events_actor ON audit_events(actor, at);
