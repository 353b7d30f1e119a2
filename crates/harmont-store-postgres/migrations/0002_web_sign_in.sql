-- Web sign-in: passkeys, one-time login links and WebAuthn ceremonies in
-- flight. Links and ceremonies are keyed by the SHA-256 of their secret.

CREATE TABLE passkeys (
    id            UUID   PRIMARY KEY,
    user_id       UUID    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id BYTEA    NOT NULL UNIQUE,
    name          TEXT    NOT NULL,
    data          TEXT    NOT NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT
);

CREATE INDEX passkeys_user_id ON passkeys (user_id, created_at);

CREATE TABLE login_links (
    key_hash   BYTEA    PRIMARY KEY CHECK (octet_length(key_hash) = 32),
    user_id    UUID    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX login_links_expires_at ON login_links (expires_at);

CREATE TABLE webauthn_ceremonies (
    kind       TEXT    NOT NULL CHECK (kind IN ('register', 'authenticate')),
    key_hash   BYTEA    NOT NULL CHECK (octet_length(key_hash) = 32),
    user_id    UUID    REFERENCES users (id) ON DELETE CASCADE,
    state      TEXT    NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (kind, key_hash)
);

CREATE INDEX webauthn_ceremonies_expires_at ON webauthn_ceremonies (expires_at);
