-- Every lookup on a request path is an index scan at national scale (2 million job seekers).

-- Search results are ordered by kana then 求職番号 (BINARY: by code point, so a kana prefix is
-- a plain range): the index gives that order, so LIMIT stops early.
DROP INDEX job_seekers_kana;
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
