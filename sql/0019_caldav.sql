-- CalDAV two-way sync (issue 14 item 3): one calendar per provider, its password encrypted
-- with a key derived from SECRET_KEY (never stored or returned in clear).
CREATE TABLE caldav_accounts (
    provider_id        uuid        PRIMARY KEY REFERENCES providers (id) ON DELETE CASCADE,
    url                text        NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),
    username           text        NOT NULL CHECK (length(username) BETWEEN 1 AND 200),
    password_encrypted text        NOT NULL,
    -- The server's sync token from the last sync of the calendar's own events (RFC 6578).
    sync_token         text,
    last_synced_at     timestamptz,
    last_error         text,
    -- Raised on every PUT: a sync that started before a change of account records nothing.
    generation         integer     NOT NULL DEFAULT 1,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

-- The CalDAV outbox: "this booking's event must be brought up to date". Written in the
-- transaction of every change to the booking; the worker reads the booking as it is then and
-- writes (PUT) or removes (DELETE) its event, with a lease and back-off like the e-mail
-- outbox. One row per booking: changes made while it waits are carried by the same row
-- (`version` grows), so an outage delays but never loses or reorders them.
CREATE TABLE caldav_pushes (
    appointment_id  uuid        PRIMARY KEY REFERENCES appointments (id) ON DELETE CASCADE,
    provider_id     uuid        NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    version         integer     NOT NULL DEFAULT 1,
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    locked_until    timestamptz,
    lease_token     uuid,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX caldav_pushes_due ON caldav_pushes (next_attempt_at);
