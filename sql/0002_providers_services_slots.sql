-- Providers, their services, and the appointments table whose unbooked rows are the slots.
CREATE TABLE providers (
    id                 uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id            uuid        NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    business_name      text        NOT NULL CHECK (length(business_name) BETWEEN 1 AND 200),
    slug               text        NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    timezone           text        NOT NULL,
    phone              text        CHECK (length(phone) <= 40),
    stripe_account_id  text        UNIQUE,
    charges_enabled    boolean     NOT NULL DEFAULT false,
    created_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE services (
    id                        uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    provider_id               uuid        NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    name                      text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description               text        NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
    category                  text        CHECK (length(category) <= 100),
    location                  text        CHECK (length(location) <= 300),
    price_cents               integer     NOT NULL CHECK (price_cents >= 0),
    currency                  text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    duration_minutes          integer     NOT NULL CHECK (duration_minutes BETWEEN 5 AND 480),
    max_appointments_per_day  integer     NOT NULL CHECK (max_appointments_per_day BETWEEN 1 AND 500),
    hours                     jsonb       NOT NULL,
    is_active                 boolean     NOT NULL DEFAULT true,
    -- The last provider-local day slots were generated for; top-up continues from here.
    slots_generated_until     date,
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX services_provider_id_idx ON services (provider_id);

-- One row per slot. A free slot has booked = false and no customer; booking fills the row in.
-- A cancelled or rejected appointment keeps its row as history and stops occupying the slot
-- (occupies_slot = false); freeing the slot inserts a fresh free row for the same time.
CREATE TABLE appointments (
    id                          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    service_id                  uuid        NOT NULL REFERENCES services (id) ON DELETE RESTRICT,
    slot_date                   date        NOT NULL,
    starts_at                   timestamptz NOT NULL,
    ends_at                     timestamptz NOT NULL,
    token                       integer     NOT NULL CHECK (token > 0),
    booked                      boolean     NOT NULL DEFAULT false,
    status                      text        CHECK (status IN ('PENDING', 'CONFIRMED', 'REJECTED',
                                                              'CANCELLED', 'COMPLETED', 'NO_SHOW')),
    payment_status              text        CHECK (payment_status IN ('pay_at_visit', 'awaiting_payment',
                                                                      'paid', 'refunded')),
    customer_user_id            uuid        REFERENCES users (id) ON DELETE SET NULL,
    customer_name               text        CHECK (length(customer_name) BETWEEN 1 AND 200),
    customer_email              citext      CHECK (length(customer_email) BETWEEN 3 AND 254),
    customer_phone              text        CHECK (length(customer_phone) <= 40),
    notes                       text        CHECK (length(notes) <= 2000),
    manage_key                  text,
    hold_expires_at             timestamptz,
    stripe_checkout_session_id  text        UNIQUE,
    stripe_payment_intent_id    text,
    booked_at                   timestamptz,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now(),
    occupies_slot               boolean     GENERATED ALWAYS AS
                                    (status IS NULL OR status NOT IN ('CANCELLED', 'REJECTED')) STORED,
    CHECK (ends_at > starts_at),
    CHECK (booked = (status IS NOT NULL)),
    CHECK (NOT booked OR (customer_name IS NOT NULL
                          AND customer_email IS NOT NULL
                          AND payment_status IS NOT NULL
                          AND manage_key IS NOT NULL))
);

-- The guarantees that make a double booking impossible even if the code is wrong:
-- one live row per start, one live row per token in a day, and no two live bookings
-- overlapping. The overlap check covers booked rows only: free slots come from the pure
-- generator, and a GiST entry per free slot made generating them five times slower.
CREATE UNIQUE INDEX appointments_live_start_uq
    ON appointments (service_id, starts_at) WHERE occupies_slot;
CREATE UNIQUE INDEX appointments_live_token_uq
    ON appointments (service_id, slot_date, token) WHERE occupies_slot;
ALTER TABLE appointments
    ADD CONSTRAINT appointments_booked_no_overlap
    EXCLUDE USING gist (service_id WITH =, tstzrange(starts_at, ends_at) WITH &&)
    WHERE (booked AND occupies_slot);

CREATE INDEX appointments_service_date_idx ON appointments (service_id, slot_date, starts_at);
CREATE INDEX appointments_customer_idx ON appointments (customer_user_id, starts_at)
    WHERE customer_user_id IS NOT NULL;

-- Stripe redelivers events; recording each id once makes handling them idempotent.
CREATE TABLE stripe_events (
    id           text        PRIMARY KEY,
    type         text        NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now()
);
