"""The Prometheus metrics every Appointly process records (web, socket tier, worker).

One name per thing an operator watches; labels are small closed sets (a route *template*, a
status, a kind), never ids. The process-local values are shared through prometheus-client's
multi-process mode: `PROMETHEUS_MULTIPROC_DIR` must be set before this module is first imported
(the `appointly` command sets it for every process it starts), and `/metrics` reads the whole
deployment's values from that folder.

Figures that live in the database (outbox backlog, oldest due message) are not counters kept
here: `/metrics` reads them at scrape time, so they are right whichever process answers.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# Latency buckets in seconds: from a quick JSON answer to a slow checkout.
_HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Commit → socket send: the real-time promise is 100 ms.
_FANOUT_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_JOB_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0)
# How long after its due moment a reminder went out.
_LATENESS_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)

# --- HTTP ---------------------------------------------------------------------------------
HTTP_REQUESTS = Counter(
    "appointly_http_requests_total",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "appointly_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template and method.",
    ["route", "method"],
    buckets=_HTTP_BUCKETS,
)

# --- Bookings and money -------------------------------------------------------------------
BOOKINGS_CREATED = Counter(
    "appointly_bookings_created_total",
    "Appointments booked, by how (slot, queue, waitlist).",
    ["mode"],
)
BOOKING_RACES_LOST = Counter(
    "appointly_booking_races_lost_total",
    "Bookings refused because someone else got there first (slot_taken, day_full).",
    ["code"],
)
HOLDS_EXPIRED = Counter(
    "appointly_holds_expired_total", "Unpaid holds released by the sweep or by Stripe."
)
PAYMENTS_RECORDED = Counter("appointly_payments_recorded_total", "Payments recorded as paid.")
REFUNDS = Counter("appointly_refunds_total", "Refunds asked of Stripe, by outcome.", ["outcome"])

# --- Real time ----------------------------------------------------------------------------
WEBSOCKET_CONNECTIONS = Gauge(
    "appointly_websocket_connections",
    "Open WebSocket connections, by kind (slots, provider, waitlist).",
    ["kind"],
    multiprocess_mode="livesum",
)
WEBSOCKET_FRAMES_SENT = Counter(
    "appointly_websocket_frames_sent_total", "WebSocket frames sent, by kind.", ["kind"]
)
WEBSOCKET_SLOW_CLOSED = Counter(
    "appointly_websocket_slow_closed_total",
    "Sockets closed 1013 because they fell behind, by kind.",
    ["kind"],
)
WEBSOCKET_RESYNCS = Counter(
    "appointly_websocket_resyncs_total",
    "Fresh snapshots sent because the server could not tell what changed, by kind.",
    ["kind"],
)
FANOUT_LATENCY = Histogram(
    "appointly_fanout_latency_seconds",
    "From the publishing commit to the frame's send to the watchers.",
    buckets=_FANOUT_BUCKETS,
)
REDIS_RECONNECTS = Counter(
    "appointly_redis_reconnects_total", "Times the pub/sub connection to Redis was re-made."
)

# --- Messages, jobs and integrations ------------------------------------------------------
MESSAGES_SENT = Counter(
    "appointly_messages_sent_total",
    "Outbox messages delivered, by channel (email, sms) and outcome (sent, failed, retry).",
    ["channel", "outcome"],
)
REMINDERS_SENT = Counter("appointly_reminders_sent_total", "Reminders queued for sending.")
REMINDER_LATENESS = Histogram(
    "appointly_reminder_lateness_seconds",
    "How long after its due moment a reminder was queued.",
    buckets=_LATENESS_BUCKETS,
)
JOB_RUNS = Counter(
    "appointly_job_runs_total",
    "Worker job runs, by job and outcome (ok, failed).",
    ["job", "outcome"],
)
JOB_DURATION = Histogram(
    "appointly_job_duration_seconds", "Worker job run time, by job.", ["job"], buckets=_JOB_BUCKETS
)
CALENDAR_SYNC_FAILURES = Counter(
    "appointly_calendar_sync_failures_total",
    "Failed calendar syncs, by kind (busy_feed, caldav_pull, caldav_push).",
    ["kind"],
)
WEBHOOK_DELIVERIES = Counter(
    "appointly_webhook_deliveries_total",
    "Provider webhook delivery attempts, by outcome (delivered, retry, gave_up).",
    ["outcome"],
)

# --- Pools ----------------------------------------------------------------------------------
DB_POOL_IN_USE = Gauge(
    "appointly_db_pool_in_use",
    "Database connections in use, summed over live processes.",
    multiprocess_mode="livesum",
)
DB_POOL_WAITING = Gauge(
    "appointly_db_pool_waiting",
    "Callers waiting for a database connection, summed over live processes.",
    multiprocess_mode="livesum",
)

# --- Read from the database at scrape time (server/routes/metrics.py) -----------------------
OUTBOX_PENDING = "appointly_outbox_pending"
OUTBOX_PENDING_HELP = "Messages waiting in the outbox (not held for payment), by kind."
OUTBOX_OLDEST_DUE_AGE = "appointly_outbox_oldest_due_age_seconds"
OUTBOX_OLDEST_DUE_AGE_HELP = "How long the oldest message that is due has waited (0: none due)."
