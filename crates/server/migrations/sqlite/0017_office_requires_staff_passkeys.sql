-- An admin may require passkeys for the staff of an office (0 or 1): a member of such an office
-- logs in with staff ID + passkey; password + TOTP only lets one without a passkey add one.
ALTER TABLE offices ADD COLUMN staff_passkeys_required INTEGER NOT NULL DEFAULT 0 CHECK (staff_passkeys_required IN (0, 1));
