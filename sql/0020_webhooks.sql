-- Webhooks (issue 14 item 4): a provider's endpoints, and one delivery row per event per
-- endpoint, written in the transaction of the booking change it reports.

CREATE TABLE webhooks (
    id               uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    provider_id      uuid        NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    url              text        NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),
    events           text[]      NOT NULL CHECK (
        cardinality(events) >= 1
        AND events <@ ARRAY['booking.created', 'booking.paid', 'booking.confirmed',
                            'booking.rejected', 'booking.cancelled', 'booking.rescheduled',
                            'booking.completed', 'booking.no_show']::text[]
    ),
    -- The signing secret, shown once at creation; kept encrypted (a key derived from
    -- SECRET_KEY, server.infra.secret_box) because every delivery is signed with it.
    secret_encrypted text        NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX webhooks_provider ON webhooks (provider_id, created_at);

-- `id` is the event id the receiver sees: stable across retries, so it can drop repeats.
CREATE TABLE webhook_deliveries (
    id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    webhook_id      uuid        NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event           text        NOT NULL,
    payload         jsonb       NOT NULL,
    status          text        NOT NULL DEFAULT 'pending'
                                CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0,
    response_status integer,
    last_error      text,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    locked_until    timestamptz,
    lease_token     uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz
);

-- The worker's claim: pending rows by when they are due.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
-- The provider's list: the last deliveries of one webhook.
CREATE INDEX webhook_deliveries_recent ON webhook_deliveries (webhook_id, created_at DESC);
