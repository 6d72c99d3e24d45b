-- The provider's real week, per service: a gap after each slot, how soon before its start a slot
-- can still be booked, how many days ahead slots exist, and until when customers may cancel or
-- reschedule. horizon_days NULL follows SLOT_HORIZON_DAYS.
ALTER TABLE services
    ADD COLUMN buffer_minutes         integer NOT NULL DEFAULT 0
        CHECK (buffer_minutes BETWEEN 0 AND 240),
    ADD COLUMN min_notice_minutes     integer NOT NULL DEFAULT 0
        CHECK (min_notice_minutes BETWEEN 0 AND 43200),
    ADD COLUMN horizon_days           integer
        CHECK (horizon_days BETWEEN 1 AND 365),
    ADD COLUMN cancel_cutoff_minutes  integer NOT NULL DEFAULT 0
        CHECK (cancel_cutoff_minutes BETWEEN 0 AND 43200);
