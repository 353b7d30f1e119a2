-- Single sign-on: flows between their start and callback, and the identities
-- (an issuer's subject) linked to users. A flow is keyed by the SHA-256 of
-- the random reference in the browser's cookie; its state, nonce and PKCE
-- verifier are derived from that reference, so no column here is secret.

CREATE TABLE sso_flows (
    key_hash   BLOB    PRIMARY KEY NOT NULL CHECK (length(key_hash) = 32),
    provider   TEXT    NOT NULL,
    next       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX sso_flows_expires_at ON sso_flows (expires_at);

CREATE TABLE identities (
    id           TEXT    PRIMARY KEY NOT NULL,
    user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider     TEXT    NOT NULL,
    issuer       TEXT    NOT NULL,
    subject      TEXT    NOT NULL,
    email        TEXT,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    UNIQUE (issuer, subject)
);

CREATE INDEX identities_user_id ON identities (user_id, created_at);
