-- Passkeys (WebAuthn): the credentials of job seekers' accounts and staff members, and the
-- ceremonies in progress. A ceremony's state lives only here, so any node finishes one another
-- began; it is single-use (one guarded UPDATE sets used_at) and short-lived.
CREATE TABLE passkeys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- base64url of the credential ID the authenticator chose
    credential_id TEXT NOT NULL UNIQUE,
    -- the user handle the credential carries (one per owner), base64url
    user_handle TEXT NOT NULL,
    account_id INTEGER REFERENCES accounts(id),
    staff_id INTEGER REFERENCES staff(id),
    -- the serialized passkey (public key, algorithm, sign counter)
    passkey TEXT NOT NULL,
    sign_count INTEGER NOT NULL DEFAULT 0,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    CHECK ((account_id IS NULL) <> (staff_id IS NULL))
);
CREATE INDEX passkeys_account ON passkeys(account_id);
CREATE INDEX passkeys_staff ON passkeys(staff_id);

CREATE TABLE webauthn_ceremonies (
    -- keyed hash of the random ceremony ID the browser carries
    id_hash TEXT PRIMARY KEY,
    purpose TEXT NOT NULL CHECK (purpose IN ('register', 'login')),
    -- keyed hash of the session or pre-session that began it: no other browser finishes it
    binding TEXT NOT NULL,
    account_id INTEGER REFERENCES accounts(id),
    staff_id INTEGER REFERENCES staff(id),
    -- what the device is to be called (registration)
    name TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX webauthn_ceremonies_expires ON webauthn_ceremonies(expires_at);

-- Recent logins may now be by passkey: SQLite changes a CHECK only by rebuilding the table.
CREATE TABLE logins_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    at INTEGER NOT NULL,
    method TEXT NOT NULL CHECK (method IN ('otp', 'remembered', 'passkey')),
    user_agent TEXT NOT NULL,
    client_addr TEXT NOT NULL
);
INSERT INTO logins_new (id, account_id, at, method, user_agent, client_addr)
    SELECT id, account_id, at, method, user_agent, client_addr FROM logins;
DROP TABLE logins;
ALTER TABLE logins_new RENAME TO logins;
CREATE INDEX logins_account ON logins(account_id, at);
