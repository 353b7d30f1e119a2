-- Users, sessions and parked CLI grants. Times are Unix milliseconds, as on
-- SQLite, so both backends compare the same numbers; secrets appear only as
-- 32-byte hashes.

CREATE TABLE users (
    id                UUID   PRIMARY KEY,
    email             TEXT   NOT NULL UNIQUE,
    name              TEXT,
    personal_org_slug TEXT,
    created_at        BIGINT NOT NULL
);

CREATE TABLE sessions (
    id           UUID   PRIMARY KEY,
    user_id      UUID   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   BYTEA  NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT,
    user_agent   TEXT,
    ip           TEXT
);

-- authenticate uses the UNIQUE index on token_hash.
CREATE INDEX sessions_user_id ON sessions (user_id, created_at);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX sessions_revoked_at ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE cli_grants (
    kind           TEXT   NOT NULL CHECK (kind IN ('transfer', 'paste')),
    key_hash       BYTEA  NOT NULL CHECK (octet_length(key_hash) = 32),
    user_id        UUID   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_challenge TEXT,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    PRIMARY KEY (kind, key_hash)
);

CREATE INDEX cli_grants_expires_at ON cli_grants (expires_at);
