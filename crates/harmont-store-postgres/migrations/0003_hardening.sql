-- How each session was signed in, so that changing credentials can demand a
-- recent browser sign-in; sessions from before this migration are 'unknown',
-- which never qualifies. passkey_id names the passkey that signed a session
-- in, so removing the passkey ends its sessions.
ALTER TABLE sessions ADD COLUMN method TEXT NOT NULL DEFAULT 'unknown'
    CHECK (method IN ('cli', 'passkey', 'link', 'sso', 'operator', 'unknown'));
ALTER TABLE sessions ADD COLUMN passkey_id UUID;
CREATE INDEX sessions_passkey_id ON sessions (passkey_id) WHERE passkey_id IS NOT NULL;

-- A claimed grant is marked consumed instead of deleted, and every grant
-- keeps its key until reserved_until (for transfers, one more transfer window
-- after it expires), so a spent nonce cannot be parked again meanwhile. The
-- sweep deletes rows once their reservation ends.
ALTER TABLE cli_grants ADD COLUMN consumed_at BIGINT;
ALTER TABLE cli_grants ADD COLUMN reserved_until BIGINT;
UPDATE cli_grants SET reserved_until = expires_at;
ALTER TABLE cli_grants ALTER COLUMN reserved_until SET NOT NULL;
DROP INDEX cli_grants_expires_at;
CREATE INDEX cli_grants_reserved_until ON cli_grants (reserved_until);
