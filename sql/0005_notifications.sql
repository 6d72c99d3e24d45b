-- Notifications: an outbox of e-mails and text messages. A row is written in the same
-- transaction as the change that causes it and delivered by the worker after the commit, so a
-- message exists exactly when its change committed and survives any crash before delivery.
CREATE TABLE outbox (
    id               uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    channel          text        NOT NULL DEFAULT 'email' CHECK (channel IN ('email', 'sms')),
    kind             text        NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]{0,62}$'),
    recipient        text        NOT NULL CHECK (length(recipient) BETWEEN 3 AND 254),
    -- Rendered when queued, in the recipient's time zone: what was sent stays auditable.
    subject          text        CHECK (length(subject) <= 300),
    body_text        text        NOT NULL,
    body_html        text,
    -- [{"filename", "content_type", "content"}], e.g. the .ics of a confirmed booking.
    attachments      jsonb       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(attachments) = 'array'),
    appointment_id   uuid        REFERENCES appointments (id) ON DELETE CASCADE,
    user_id          uuid        REFERENCES users (id) ON DELETE CASCADE,
    -- One message per event per recipient, whoever queues it and however often.
    dedupe_key       text        NOT NULL UNIQUE CHECK (length(dedupe_key) BETWEEN 1 AND 300),
    -- Held back until the booking it is about is paid (released) or its hold expires (dropped).
    held             boolean     NOT NULL DEFAULT false,
    -- skipped: a reminder whose appointment was no longer CONFIRMED when its turn came.
    status           text        NOT NULL DEFAULT 'pending'
                                 CHECK (status IN ('pending', 'sent', 'failed', 'skipped')),
    attempts         integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- A worker's lease on the row while it sends; an expired lease means the worker died.
    locked_until     timestamptz,
    last_error       text        CHECK (length(last_error) <= 2000),
    sent_at          timestamptz,
    created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK ((status = 'sent') = (sent_at IS NOT NULL)),
    CHECK (channel = 'sms' OR subject IS NOT NULL),
    CHECK (NOT held OR status = 'pending')
);

-- The delivery sweep: due, unheld, pending rows, oldest first.
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at) WHERE status = 'pending' AND NOT held;
CREATE INDEX outbox_appointment_idx ON outbox (appointment_id) WHERE appointment_id IS NOT NULL;
CREATE INDEX outbox_user_idx ON outbox (user_id) WHERE user_id IS NOT NULL;

-- send_reminders looks for CONFIRMED appointments that have not started yet.
CREATE INDEX appointments_confirmed_upcoming_idx ON appointments (starts_at)
    WHERE status = 'CONFIRMED';
