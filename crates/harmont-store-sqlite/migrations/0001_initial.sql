-- Users, sessions and parked CLI grants. Times are Unix milliseconds; ids are
-- hyphenated UUID text; secrets appear only as 32-byte hashes.

CREATE TABLE users (
    id                TEXT    PRIMARY KEY NOT NULL,
    email             TEXT    NOT NULL UNIQUE,
    name              TEXT,
    personal_org_slug TEXT,
    created_at        INTEGER NOT NULL
);

CREATE TABLE sessions (
    id           TEXT    PRIMARY KEY NOT NULL,
    user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   BLOB    NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER,
    user_agent   TEXT,
    ip           TEXT
);

-- authenticate uses the UNIQUE index on token_hash.
CREATE INDEX sessions_user_id ON sessions (user_id, created_at);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX sessions_revoked_at ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE cli_grants (
    kind           TEXT    NOT NULL CHECK (kind IN ('transfer', 'paste')),
    key_hash       BLOB    NOT NULL CHECK (length(key_hash) = 32),
    user_id        TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_challenge TEXT,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    PRIMARY KEY (kind, key_hash)
) WITHOUT ROWID;

CREATE INDEX cli_grants_expires_at ON cli_grants (expires_at);
