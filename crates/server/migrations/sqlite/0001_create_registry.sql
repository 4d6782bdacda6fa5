-- Offices, job seekers registered at the counter, their account creation codes, opened accounts.
-- Portable-SQL contract: INTEGER/TEXT only, instants are integer milliseconds UTC, dates 'YYYY-MM-DD'.
CREATE TABLE offices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    number TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    slip_notice TEXT,
    created_at INTEGER NOT NULL
);

CREATE TABLE job_seekers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    number TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    name_kana TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    office_id INTEGER NOT NULL REFERENCES offices(id),
    email TEXT,
    email_registered_on TEXT,
    registered_on TEXT,
    valid_until TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX job_seekers_email ON job_seekers(email);
CREATE INDEX job_seekers_office ON job_seekers(office_id);

CREATE TABLE account_codes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_seeker_id INTEGER NOT NULL REFERENCES job_seekers(id),
    code_hash TEXT NOT NULL,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    voided_at INTEGER,
    used_at INTEGER,
    issued_by TEXT NOT NULL
);
CREATE INDEX account_codes_job_seeker ON account_codes(job_seeker_id, id);

CREATE TABLE accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_seeker_id INTEGER NOT NULL UNIQUE REFERENCES job_seekers(id),
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    privacy_version INTEGER NOT NULL,
    terms_version INTEGER NOT NULL,
    consented_at INTEGER NOT NULL,
    lang TEXT NOT NULL DEFAULT 'ja',
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER,
    disabled_at INTEGER,
    created_at INTEGER NOT NULL,
    password_changed_at INTEGER NOT NULL
);

CREATE TABLE policy_documents (
    kind TEXT NOT NULL CHECK (kind IN ('privacy', 'terms')),
    version INTEGER NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    published_at INTEGER NOT NULL,
    PRIMARY KEY (kind, version)
);
