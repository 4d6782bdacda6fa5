-- Passkeys (WebAuthn): the credentials of job seekers' accounts and staff members, and the
-- ceremonies in progress. A ceremony's state lives only here, so any node finishes one another
-- began; it is single-use (one guarded UPDATE sets used_at) and short-lived.
CREATE TABLE passkeys (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- base64url of the credential ID the authenticator chose
    credential_id TEXT NOT NULL UNIQUE,
    -- the user handle the credential carries (one per owner), base64url
    user_handle TEXT NOT NULL,
    account_id BIGINT REFERENCES accounts(id),
    staff_id BIGINT REFERENCES staff(id),
    -- the serialized passkey (public key, algorithm, sign counter)
    passkey TEXT NOT NULL,
    sign_count BIGINT NOT NULL DEFAULT 0,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
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
    account_id BIGINT REFERENCES accounts(id),
    staff_id BIGINT REFERENCES staff(id),
    -- what the device is to be called (registration)
    name TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX webauthn_ceremonies_expires ON webauthn_ceremonies(expires_at);

-- Recent logins may now be by passkey.
ALTER TABLE logins DROP CONSTRAINT logins_method_check;
ALTER TABLE logins ADD CONSTRAINT logins_method_check CHECK (method IN ('otp', 'remembered', 'passkey'));
