-- Web sign-in: passkeys, one-time login links and WebAuthn ceremonies in
-- flight. Links and ceremonies are keyed by the SHA-256 of their secret.

CREATE TABLE passkeys (
    id            TEXT    PRIMARY KEY NOT NULL,
    user_id       TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id BLOB    NOT NULL UNIQUE,
    name          TEXT    NOT NULL,
    data          TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER
);

CREATE INDEX passkeys_user_id ON passkeys (user_id, created_at);

CREATE TABLE login_links (
    key_hash   BLOB    PRIMARY KEY NOT NULL CHECK (length(key_hash) = 32),
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX login_links_expires_at ON login_links (expires_at);

CREATE TABLE webauthn_ceremonies (
    kind       TEXT    NOT NULL CHECK (kind IN ('register', 'authenticate')),
    key_hash   BLOB    NOT NULL CHECK (length(key_hash) = 32),
    user_id    TEXT    REFERENCES users (id) ON DELETE CASCADE,
    state      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (kind, key_hash)
) WITHOUT ROWID;

CREATE INDEX webauthn_ceremonies_expires_at ON webauthn_ceremonies (expires_at);
