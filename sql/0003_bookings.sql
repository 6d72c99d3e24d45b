-- Bookings: what a booked slot records about its customer and price, the append-only history
-- of every status change, and the Idempotency-Key store that makes retried bookings safe.

-- The column only ever held a hash of the customer's manage key; say so in its name.
ALTER TABLE appointments RENAME COLUMN manage_key TO manage_key_hash;

ALTER TABLE appointments
    -- The zone the customer's pages and e-mails show times in, beside the provider's.
    ADD COLUMN customer_timezone  text     CHECK (length(customer_timezone) BETWEEN 1 AND 64),
    -- The price when booked: a later price change must not rewrite earnings or refunds.
    ADD COLUMN price_cents        integer  CHECK (price_cents >= 0),
    ADD COLUMN currency           text     CHECK (currency ~ '^[A-Z]{3}$'),
    ADD COLUMN paid_at            timestamptz,
    ADD CONSTRAINT appointments_booked_has_price
        CHECK (NOT booked OR (price_cents IS NOT NULL AND currency IS NOT NULL)),
    -- Only an unpaid online booking holds its slot for a limited time.
    ADD CONSTRAINT appointments_hold_only_while_awaiting_payment
        CHECK (hold_expires_at IS NULL OR payment_status = 'awaiting_payment');

-- expire_holds looks for live holds whose time ran out.
CREATE INDEX appointments_live_holds_idx ON appointments (hold_expires_at)
    WHERE payment_status = 'awaiting_payment' AND occupies_slot;

-- Every status change of an appointment, who made it and why. Rows are only ever added.
CREATE TABLE appointment_events (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    appointment_id  uuid        NOT NULL REFERENCES appointments (id) ON DELETE RESTRICT,
    from_status     text,       -- NULL when a free slot became a booking
    to_status       text        NOT NULL,
    actor           text        NOT NULL CHECK (actor IN ('customer', 'provider', 'system')),
    actor_user_id   uuid        REFERENCES users (id),
    reason          text        CHECK (length(reason) <= 500),
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX appointment_events_appointment_idx ON appointment_events (appointment_id, id);

CREATE FUNCTION appointment_events_are_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'appointment_events is append-only (% refused)', TG_OP;
END;
$$;

CREATE TRIGGER appointment_events_append_only
    BEFORE UPDATE OR DELETE ON appointment_events
    FOR EACH ROW EXECUTE FUNCTION appointment_events_are_append_only();

-- The first answer to each Idempotency-Key, replayed for 24 hours to a retry with the same
-- body. A signed-in caller's keys are theirs alone; guests share the 'guest' scope.
CREATE TABLE idempotency_keys (
    scope           text        NOT NULL CHECK (length(scope) BETWEEN 1 AND 100),
    key             text        NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash    text        NOT NULL,
    appointment_id  uuid        NOT NULL REFERENCES appointments (id) ON DELETE CASCADE,
    response        jsonb       NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);

CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);
