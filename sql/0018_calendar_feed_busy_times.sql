-- Calendars, read side and write side: the provider's subscription feed (a secret URL), the
-- outside calendars whose events make the provider busy, and the busy times themselves.

-- One feed per provider. The URL's token is a bearer secret: it is HMAC(SECRET_KEY, nonce),
-- so a copy of the database alone does not open anyone's feed; only its SHA-256 is stored,
-- for the lookup. Rotating draws a new nonce: the old URL stops answering.
CREATE TABLE calendar_feeds (
    provider_id  uuid        PRIMARY KEY REFERENCES providers (id) ON DELETE CASCADE,
    nonce        text        NOT NULL CHECK (length(nonce) BETWEEN 16 AND 100),
    token_hash   text        NOT NULL UNIQUE CHECK (length(token_hash) = 64),
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- The provider's outside iCalendar addresses (at most five, kept in the order given). The
-- worker fetches each with a conditional GET (etag / last_modified from the last answer).
CREATE TABLE busy_calendars (
    id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    provider_id     uuid        NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    url             text        NOT NULL CHECK (length(url) BETWEEN 8 AND 2000),
    position        smallint    NOT NULL CHECK (position BETWEEN 0 AND 4),
    etag            text,
    last_modified   text,
    -- When the worker last tried (due again BUSY_SYNC_MINUTES later) and last succeeded.
    last_attempt_at timestamptz,
    last_synced_at  timestamptz,
    last_error      text        CHECK (length(last_error) <= 500),
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider_id, url)
);

-- The sync sweep: the calendars not tried for longest first.
CREATE INDEX busy_calendars_last_attempt_idx ON busy_calendars (last_attempt_at NULLS FIRST);

-- Busy intervals of a provider, each owned by one source: 'ics:<busy_calendars.id>' for an
-- iCalendar feed, 'caldav' for the CalDAV calendar. A source's rows are replaced whole on each
-- successful sync; a failing source keeps its last rows. Free slots overlapping any of them
-- are shown unavailable and refused; booked appointments are never touched.
CREATE TABLE busy_times (
    provider_id  uuid        NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    source       text        NOT NULL CHECK (length(source) BETWEEN 1 AND 100),
    starts_at    timestamptz NOT NULL,
    ends_at      timestamptz NOT NULL,
    CHECK (ends_at > starts_at)
);

CREATE INDEX busy_times_provider_idx ON busy_times (provider_id, starts_at);
CREATE INDEX busy_times_source_idx ON busy_times (provider_id, source);
