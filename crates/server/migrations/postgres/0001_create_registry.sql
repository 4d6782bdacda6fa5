-- Offices, job seekers registered at the counter, their account creation codes, opened accounts.
-- Portable-SQL contract: BIGINT/TEXT only, instants are integer milliseconds UTC, dates 'YYYY-MM-DD'.
CREATE TABLE offices (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    slip_notice TEXT,
    created_at BIGINT NOT NULL
);

CREATE TABLE job_seekers (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    name_kana TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    office_id BIGINT NOT NULL REFERENCES offices(id),
    email TEXT,
    email_registered_on TEXT,
    registered_on TEXT,
    valid_until TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX job_seekers_email ON job_seekers(email);
CREATE INDEX job_seekers_office ON job_seekers(office_id);

CREATE TABLE account_codes (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_seeker_id BIGINT NOT NULL REFERENCES job_seekers(id),
    code_hash TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    failed_attempts BIGINT NOT NULL DEFAULT 0,
    voided_at BIGINT,
    used_at BIGINT,
    issued_by TEXT NOT NULL
);
CREATE INDEX account_codes_job_seeker ON account_codes(job_seeker_id, id);

CREATE TABLE accounts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_seeker_id BIGINT NOT NULL UNIQUE REFERENCES job_seekers(id),
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    privacy_version BIGINT NOT NULL,
    terms_version BIGINT NOT NULL,
    consented_at BIGINT NOT NULL,
    lang TEXT NOT NULL DEFAULT 'ja',
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT,
    disabled_at BIGINT,
    created_at BIGINT NOT NULL,
    password_changed_at BIGINT NOT NULL
);

CREATE TABLE policy_documents (
    kind TEXT NOT NULL CHECK (kind IN ('privacy', 'terms')),
    version BIGINT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    published_at BIGINT NOT NULL,
    PRIMARY KEY (kind, version)
);
