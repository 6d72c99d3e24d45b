-- Rescheduling: a booking moves to another time as the same row, so what calendars know it by
-- is kept as data on that row, and its history records the move with both times.

ALTER TABLE appointments
    -- The UID of every .ics about this booking (e-mails now, the calendar feed later): set once
    -- when the row becomes a booking and never changed, so a moved booking stays one event.
    ADD COLUMN ical_uid       text     CHECK (length(ical_uid) BETWEEN 1 AND 255),
    -- The .ics SEQUENCE: grows with every change calendars must apply over the earlier copy
    -- (a status move, a reschedule).
    ADD COLUMN ical_sequence  integer  NOT NULL DEFAULT 0 CHECK (ical_sequence >= 0);

-- Bookings made before this migration were e-mailed with the UID "{id}@appointly".
UPDATE appointments
   SET ical_uid = id::text || '@appointly'
 WHERE booked;

CREATE FUNCTION appointments_set_ical_uid() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.ical_uid := NEW.id::text || '@appointly';
    RETURN NEW;
END;
$$;

-- Whatever books a row (a booking, the demo seed, a test), it gets its UID then, once.
CREATE TRIGGER appointments_ical_uid_on_booking
    BEFORE INSERT OR UPDATE OF booked ON appointments
    FOR EACH ROW
    WHEN (NEW.booked AND NEW.ical_uid IS NULL)
    EXECUTE FUNCTION appointments_set_ical_uid();

ALTER TABLE appointments
    ADD CONSTRAINT appointments_booked_has_ical_uid CHECK (NOT booked OR ical_uid IS NOT NULL);

-- A history line for a reschedule says where the booking was and where it went; a status
-- line leaves both empty.
ALTER TABLE appointment_events
    ADD COLUMN moved_from  tstzrange,
    ADD COLUMN moved_to    tstzrange,
    ADD CONSTRAINT appointment_events_move_has_both_times
        CHECK ((moved_from IS NULL) = (moved_to IS NULL));

-- Free rows a moved booking took the place of (the booking keeps its own id, the free row is
-- deleted): whoever still claims one is told the time was taken (409), not that it never
-- existed (404). Only rows that start in the future are worth keeping; each move clears the
-- ones whose time has passed.
CREATE TABLE absorbed_slots (
    slot_id         uuid        PRIMARY KEY,
    service_id      uuid        NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    appointment_id  uuid        NOT NULL REFERENCES appointments (id) ON DELETE CASCADE,
    starts_at       timestamptz NOT NULL,
    absorbed_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX absorbed_slots_starts_at_idx ON absorbed_slots (starts_at);
