-- Sign-in (when TOCSIN_AUTH=on): users, their sessions, and API tokens for the REST API.
-- Secrets are never stored: passwords as Argon2id hashes, session ids and tokens as SHA-256.

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    name           TEXT    NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    password_hash  TEXT    NOT NULL,
    created_at     INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
    id_hash     BLOB    PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    hash        BLOB    NOT NULL UNIQUE,
    hint        TEXT    NOT NULL,   -- the token's last four characters, to tell tokens apart
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
) STRICT;
