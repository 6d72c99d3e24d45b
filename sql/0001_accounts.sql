-- Accounts: users, their server-side sessions, and the extensions later migrations rely on.
CREATE EXTENSION IF NOT EXISTS citext;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE users (
    id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    email           citext      NOT NULL UNIQUE CHECK (length(email) BETWEEN 3 AND 254),
    name            text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    password_hash   text,
    google_subject  text        UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- Every account can sign in somehow: a password, Google, or both.
    CHECK (password_hash IS NOT NULL OR google_subject IS NOT NULL)
);

-- quart-auth's cookie carries a session id, not a user id, so logging out deletes the row
-- and the cookie stops working everywhere at once.
CREATE TABLE sessions (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL
);

CREATE INDEX sessions_user_id_idx ON sessions (user_id);
