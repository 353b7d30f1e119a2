-- Resource servers allowed to introspect tokens (RFC 7662), each with a
-- 256-bit secret stored as its SHA-256.
CREATE TABLE resource_clients (
    id          UUID   PRIMARY KEY NOT NULL,
    name        TEXT   NOT NULL UNIQUE,
    secret_hash BYTEA  NOT NULL CHECK (length(secret_hash) = 32),
    created_at  BIGINT NOT NULL
);
