-- When a booking last moved: a reminder already due at that moment is skipped for the new time,
-- as one due at booking time is (the "rescheduled" e-mail covers it).
ALTER TABLE appointments
    ADD COLUMN rescheduled_at timestamptz;
