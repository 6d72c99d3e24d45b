-- What Appointly knows about a booking's Stripe Checkout Session beyond its id.

ALTER TABLE appointments
    -- The URL the customer pays on, so a replayed booking request can answer with it.
    ADD COLUMN checkout_url        text        CHECK (length(checkout_url) BETWEEN 1 AND 2048),
    -- When the session was expired at Stripe (or found expired, or completed): nothing more
    -- can be paid on it. NULL while an ended booking's session may still be payable.
    ADD COLUMN checkout_closed_at  timestamptz,
    -- A delayed payment method (SEPA, ACH, Bacs…) is processing: the hold is kept past its
    -- time, and the expiry sweep asks Stripe again from this moment on.
    ADD COLUMN payment_check_after timestamptz,
    ADD CONSTRAINT appointments_payment_check_only_while_awaiting_payment
        CHECK (payment_check_after IS NULL OR payment_status = 'awaiting_payment');

-- The sweep looks for ended unpaid bookings whose Checkout Session may still be open.
CREATE INDEX appointments_sessions_to_close_idx ON appointments (booked_at)
    WHERE payment_status = 'awaiting_payment'
      AND stripe_checkout_session_id IS NOT NULL
      AND checkout_closed_at IS NULL
      AND status IN ('CANCELLED', 'REJECTED');
