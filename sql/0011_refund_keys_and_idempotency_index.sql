-- Deleting a free slot (a change of hours, a cancelled booking's day regenerated) cascades to
-- idempotency_keys by appointment_id; without an index each deleted row scanned the table
-- while the service's lock was held.
CREATE INDEX idempotency_keys_appointment_id_idx ON idempotency_keys (appointment_id);

-- The Stripe idempotency key of the refund's next attempt. Stripe remembers an answer (errors
-- too) under its key for 24 hours, so an attempt after an error answer needs a new key; after a
-- network error the same key is used again, since the request may have reached Stripe.
-- NULL: the first key, appointly-refund-{appointment_id}.
ALTER TABLE refunds
    ADD COLUMN stripe_idempotency_key text
        CHECK (length(stripe_idempotency_key) BETWEEN 1 AND 255);
