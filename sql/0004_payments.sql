-- Refunds: one per appointment, requested in the transaction that ends a paid booking and made
-- by the worker afterwards (never inside a transaction), retried with backoff until Stripe
-- agrees or we give up and leave it visibly failed.

CREATE TABLE refunds (
    id                 uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    appointment_id     uuid        NOT NULL UNIQUE REFERENCES appointments (id) ON DELETE RESTRICT,
    payment_intent_id  text        NOT NULL CHECK (length(payment_intent_id) BETWEEN 1 AND 255),
    status             text        NOT NULL DEFAULT 'requested'
                                   CHECK (status IN ('requested', 'succeeded', 'failed')),
    attempts           integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error         text        CHECK (length(last_error) <= 1000),
    -- When the worker may try next; NULL once it succeeded or we gave up.
    next_attempt_at    timestamptz DEFAULT now(),
    stripe_refund_id   text        UNIQUE,
    requested_at       timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CHECK (status <> 'succeeded' OR next_attempt_at IS NULL)
);

-- process_refunds looks for refunds that are due.
CREATE INDEX refunds_due_idx ON refunds (next_attempt_at)
    WHERE status IN ('requested', 'failed') AND next_attempt_at IS NOT NULL;

-- charge.refunded names the payment intent, not the appointment.
CREATE INDEX appointments_payment_intent_idx ON appointments (stripe_payment_intent_id)
    WHERE stripe_payment_intent_id IS NOT NULL;
