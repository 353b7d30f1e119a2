-- Short CLI approvals (issue 11, item 8): a terminal registers its login
-- under its verification code, which a signed-in user then types on
-- /cli-login/device. Keyed by an HMAC of the code (with the server secret),
-- never the code; the terminal's nonce only as its SHA-256, the key its
-- transfer grant is parked under. Kept until it expires, used or not, so a
-- code is never registered twice while it may still be typed.
CREATE TABLE device_requests (
    key_hash       BLOB    PRIMARY KEY NOT NULL CHECK (length(key_hash) = 32),
    nonce_hash     BLOB    NOT NULL CHECK (length(nonce_hash) = 32),
    code_challenge TEXT    NOT NULL,
    host           TEXT,
    ip             TEXT,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    used_at        INTEGER
);
