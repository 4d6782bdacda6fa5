-- Every lookup on a request path is an index scan at national scale (2 million job seekers).

-- Kana compare by code point, as SQLite's BINARY does: a kana prefix is then a plain range
-- (`>= prefix AND < prefix || U+10FFFF`) whatever the database's locale, and both databases
-- list search results in one order.
DROP INDEX job_seekers_kana;
ALTER TABLE job_seekers ALTER COLUMN name_kana TYPE TEXT COLLATE "C";
-- Search results are ordered by kana then 求職番号: the index gives that order, so LIMIT stops early.
CREATE INDEX job_seekers_kana ON job_seekers(name_kana, number);
CREATE INDEX job_seekers_office_kana ON job_seekers(office_id, name_kana, number);

-- The audit log is read newest first by (at, id), filtered by one column or none, a page at a time.
DROP INDEX audit_events_job_seeker;
DROP INDEX audit_events_kind;
DROP INDEX audit_events_actor;
CREATE INDEX audit_events_job_seeker ON audit_events(job_seeker_id, at, id);
CREATE INDEX audit_events_kind ON audit_events(kind, at, id);
CREATE INDEX audit_events_actor ON audit_events(actor, at, id);
CREATE INDEX audit_events_at ON audit_events(at, id);
