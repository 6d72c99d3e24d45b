-- Account recovery: password-reset and e-mail-verification links, and whether a user's address
-- is known to be theirs.
ALTER TABLE users ADD COLUMN email_verified boolean NOT NULL DEFAULT false;

-- A link's token is random and shown once (in the e-mail); only its SHA-256 is kept, so a copy
-- of this table cannot reset anyone's password. A token works once and only until expires_at.
CREATE TABLE account_tokens (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    purpose     text        NOT NULL CHECK (purpose IN ('password_reset', 'verify_email')),
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The address the link was sent to: following it proves that address, and no other.
    email       citext      NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    token_hash  bytea       NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Issuing a link retires the user's earlier unused ones of the same purpose.
CREATE INDEX account_tokens_unused_idx ON account_tokens (user_id, purpose) WHERE used_at IS NULL;
