-- The waitlist: customers waiting for a full day of a service, first come first served, and the
-- offers that hold a freed slot for one of them for a while (WAITLIST_OFFER_MINUTES).

CREATE TABLE waitlist_entries (
    id                   uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    -- The order of the line: a plain counter, so two entries joining in the same microsecond
    -- still have a first and a second.
    line_number          bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    service_id           uuid        NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    waitlist_date        date        NOT NULL,
    customer_user_id     uuid        REFERENCES users (id) ON DELETE SET NULL,
    customer_name        text        NOT NULL CHECK (length(customer_name) BETWEEN 1 AND 200),
    customer_email       citext      NOT NULL CHECK (length(customer_email) BETWEEN 3 AND 254),
    customer_phone       text        CHECK (length(customer_phone) <= 40),
    customer_timezone    text        CHECK (length(customer_timezone) BETWEEN 1 AND 64),
    -- Hashes only: the keys themselves are in the customer's links, never here. The offer key
    -- is the one in the latest offer's e-mail (it opens the same page).
    manage_key_hash      text        NOT NULL CHECK (length(manage_key_hash) = 64),
    offer_key_hash       text        CHECK (length(offer_key_hash) = 64),
    status               text        NOT NULL DEFAULT 'waiting'
                                     CHECK (status IN ('waiting', 'offered', 'booked',
                                                       'expired', 'left')),
    -- The booking a claimed offer became (the slot's row, so the same id).
    booked_appointment_id uuid       REFERENCES appointments (id) ON DELETE SET NULL,
    created_at           timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at           timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- One place in line per e-mail per service and day while it is still in line.
CREATE UNIQUE INDEX waitlist_entries_one_active_per_email_uq
    ON waitlist_entries (service_id, waitlist_date, customer_email)
    WHERE status IN ('waiting', 'offered');

-- "The first entry still waiting" for a freed slot, and positions in line.
CREATE INDEX waitlist_entries_waiting_idx
    ON waitlist_entries (service_id, waitlist_date, line_number)
    WHERE status = 'waiting';

-- The provider's dashboard: who waits for which day.
CREATE INDEX waitlist_entries_day_idx ON waitlist_entries (service_id, waitlist_date);

-- A free slot held for one entry until `expires_at`. The slot row stays free (booked = false);
-- this row is what makes it unavailable to everyone else. A slot is offered to at most one
-- entry (the primary key), an entry holds at most one offer (UNIQUE).
CREATE TABLE waitlist_offers (
    slot_id     uuid        PRIMARY KEY REFERENCES appointments (id) ON DELETE CASCADE,
    entry_id    uuid        NOT NULL UNIQUE REFERENCES waitlist_entries (id) ON DELETE CASCADE,
    offered_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at  timestamptz NOT NULL,
    CHECK (expires_at > offered_at)
);

-- The expiry sweep: offers whose time ran out, oldest first.
CREATE INDEX waitlist_offers_expires_at_idx ON waitlist_offers (expires_at);

-- An offer whose slot went away with it (time off over it, new hours replacing it) puts its
-- entry back in line in the same place: the entry was not at fault. Offers ended on purpose
-- (claimed, expired, left) change the entry's status first, so this leaves them alone.
CREATE FUNCTION waitlist_offer_gone_puts_entry_back() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE waitlist_entries
       SET status = 'waiting',
           updated_at = clock_timestamp()
     WHERE id = OLD.entry_id
       AND status = 'offered';
    RETURN OLD;
END;
$$;

CREATE TRIGGER waitlist_offers_gone
    AFTER DELETE ON waitlist_offers
    FOR EACH ROW EXECUTE FUNCTION waitlist_offer_gone_puts_entry_back();
