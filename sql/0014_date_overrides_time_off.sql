-- The provider's real week beyond weekly hours: a date of one service with other hours (or
-- closed), time off for the whole business, and the free slots withdrawn by either, so a
-- customer who tries to book one of them is told it is no longer offered (409) rather than
-- that it never existed (404).

-- One date of one service uses these intervals instead of its weekday's hours; [] closes it.
-- `hours` is the canonical form [["10:00", "14:00"], …] written by server.domain.hours.
CREATE TABLE service_date_overrides (
    service_id     uuid        NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    override_date  date        NOT NULL,
    hours          jsonb       NOT NULL CHECK (jsonb_typeof(hours) = 'array'
                                               AND jsonb_array_length(hours) <= 48),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (service_id, override_date)
);

-- The whole business is closed over [starts_at, ends_at): no free slot of any of the
-- provider's services overlaps it.
CREATE TABLE provider_time_off (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    provider_id  uuid        NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    starts_at    timestamptz NOT NULL,
    ends_at      timestamptz NOT NULL,
    reason       text        CHECK (length(reason) BETWEEN 1 AND 500),
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at)
);

-- Generation and the provider's list read the time off that has not ended yet.
CREATE INDEX provider_time_off_provider_idx ON provider_time_off (provider_id, ends_at);

-- Free slots taken away by an override or time off. Only rows that start in the future are
-- worth keeping; applying an override or time off clears the ones whose time has passed.
CREATE TABLE withdrawn_slots (
    slot_id       uuid        PRIMARY KEY,
    service_id    uuid        NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    starts_at     timestamptz NOT NULL,
    withdrawn_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX withdrawn_slots_starts_at_idx ON withdrawn_slots (starts_at);
