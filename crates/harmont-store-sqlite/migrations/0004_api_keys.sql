-- Personal API keys, stored as the SHA-256 of their secret. A revoked or
-- expired key is kept until the sweep, like a session.
CREATE TABLE api_keys (
    id           TEXT    PRIMARY KEY NOT NULL,
    user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   BLOB    NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    description  TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER,
    revoked_at   INTEGER
);

CREATE INDEX api_keys_user_id ON api_keys (user_id, created_at);
