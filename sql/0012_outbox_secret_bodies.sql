-- Messages whose body carries a secret link (a password-reset or verification token, a
-- booking's manage key). Once such a message is done with (sent, or given up on), the hourly
-- purge_expired job empties its body and clears the mark: the link lives on in the
-- recipient's mailbox, not in our database.
ALTER TABLE outbox ADD COLUMN carries_secret boolean NOT NULL DEFAULT false;

-- The kinds that carried one before the column existed.
UPDATE outbox
   SET carries_secret = true
 WHERE kind IN ('password_reset', 'verify_email', 'booking_received');

-- The purge's work list: only rows still holding a secret, so it stays small.
CREATE INDEX outbox_secret_bodies_idx ON outbox (id)
    WHERE carries_secret AND status IN ('sent', 'failed');
