-- The provider dashboard reads the bookings of the provider's services. The analytics read
-- all of them: an index holding what the stats need lets PostgreSQL answer from it alone.
CREATE INDEX appointments_bookings_for_stats_idx
    ON appointments (service_id, starts_at)
    INCLUDE (id, status, payment_status, price_cents, currency)
    WHERE booked;

-- Who cancelled: looked up for cancelled bookings only.
CREATE INDEX appointment_events_cancellations_idx
    ON appointment_events (appointment_id)
    WHERE to_status = 'CANCELLED';

-- The dashboard's "Pending requests" (and any status filter): a provider's bookings in one
-- status, soonest first.
CREATE INDEX appointments_bookings_by_status_idx
    ON appointments (service_id, status, starts_at)
    WHERE booked;
