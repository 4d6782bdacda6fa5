-- Facts about the deployment that every node must agree on, such as the server secret's
-- fingerprint (an HMAC under the secret, never the secret itself). Written once, read on start.
CREATE TABLE server_facts (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Outbox bodies are sealed from now on; rows written before this migration keep their clear
-- body until they are sent or given up on. Later ids must open as sealed bodies.
INSERT INTO server_facts (name, value)
SELECT 'outbox_sealed_from', CAST(COALESCE(MAX(id), 0) + 1 AS TEXT) FROM outbox;
