-- The operator's /admin page lists failed messages and webhook deliveries newest first, and
-- counts the pending outbox by kind: partial indexes keep those reads off the sent rows, which
-- are nearly all of each table.
CREATE INDEX outbox_failed_idx ON outbox (created_at DESC) WHERE status = 'failed';
CREATE INDEX outbox_pending_kind_idx ON outbox (kind, channel) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_failing_idx ON webhook_deliveries (created_at DESC)
    WHERE status = 'failed' OR (status = 'pending' AND attempts > 0);
