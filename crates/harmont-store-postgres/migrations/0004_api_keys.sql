-- Personal API keys, stored as the SHA-256 of their secret. A revoked or
-- expired key is kept until the sweep, like a session.
CREATE TABLE api_keys (
    id           UUID   PRIMARY KEY NOT NULL,
    user_id      UUID   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   BYTEA  NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    description  TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    last_used_at BIGINT,
    revoked_at   BIGINT
);

CREATE INDEX api_keys_user_id ON api_keys (user_id, created_at);
