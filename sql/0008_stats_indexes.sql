-- The provider's analytics read every booking of the provider's services: an index that holds
-- what the stats need lets PostgreSQL answer from the index alone.
CREATE INDEX appointments_bookings_for_stats_idx
    ON appointments (service_id, starts_at)
    INCLUDE (id, status, payment_status, price_cents, currency)
    WHERE booked;

-- Who cancelled: looked up for cancelled bookings only.
CREATE INDEX appointment_events_cancellations_idx
    ON appointment_events (appointment_id)
    WHERE to_status = 'CANCELLED';
