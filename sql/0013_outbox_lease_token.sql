-- Which delivery run holds an outbox row's lease. A run that was slow enough for its lease to
-- run out (and another run to claim the row) sees the token changed and leaves the row alone:
-- it neither sends the message again nor records an outcome over the new holder's lease.
ALTER TABLE outbox ADD COLUMN lease_token uuid;
