"""A provider's analytics, computed by PostgreSQL in the provider's own time zone.

Weeks start on Monday and months are calendar months where the provider is: every bucket is
`date_trunc` of the local start time (`starts_at AT TIME ZONE zone`), so a booking at 23:30 on
31 October in London lands in October even when that is 22:30 UTC.

Rules (issue 8): earnings and revenue count COMPLETED bookings that were paid (online or at the
visit); cancellations count the customer's and the provider's (a rejection, or an unpaid hold
running out, is not a cancellation); the appointment counts count bookings that were not
rejected or cancelled, by their start. Money is summed in the provider's main currency (the
one most of their services use); bookings in another currency are left out of the sums.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

WEEKS = 12
MONTHS = 12

# The provider's "now" on their own clock, the edges of this week and month as instants (so
# rows are compared with constants, not converted to local time one by one), and the
# provider's main currency.
_CLOCK = """
    local AS (
        SELECT p.id,
               p.timezone,
               date_trunc('week',  $2::timestamptz AT TIME ZONE p.timezone) AS this_week,
               date_trunc('month', $2::timestamptz AT TIME ZONE p.timezone) AS this_month
          FROM providers AS p
         WHERE p.id = $1
    ),
    clock AS (
        SELECT local.timezone,
               local.this_week,
               local.this_month,
               local.this_week AT TIME ZONE local.timezone                          AS week_from,
               (local.this_week + interval '1 week') AT TIME ZONE local.timezone    AS week_to,
               local.this_month AT TIME ZONE local.timezone                         AS month_from,
               (local.this_month + interval '1 month') AT TIME ZONE local.timezone  AS month_to,
               (SELECT s.currency
                  FROM services AS s
                 WHERE s.provider_id = local.id
                 GROUP BY s.currency
                 ORDER BY count(*) DESC, s.currency
                 LIMIT 1) AS currency
          FROM local
    )"""

TOTALS = f"""
WITH {_CLOCK},
    bookings AS (
        SELECT a.id,
               a.status,
               a.payment_status,
               a.price_cents,
               a.currency = clock.currency                                 AS in_currency,
               a.starts_at >= clock.week_from  AND a.starts_at < clock.week_to  AS this_week,
               a.starts_at >= clock.month_from AND a.starts_at < clock.month_to AS this_month
          FROM clock
          JOIN services AS s ON s.provider_id = $1
          JOIN appointments AS a ON a.service_id = s.id AND a.booked
    )
SELECT (SELECT currency FROM clock) AS currency,
       coalesce(sum(price_cents) FILTER (
           WHERE status = 'COMPLETED' AND payment_status IN ('paid', 'pay_at_visit')
             AND in_currency AND this_month), 0)                     AS earnings_this_month_cents,
       coalesce(sum(price_cents) FILTER (
           WHERE status = 'COMPLETED' AND payment_status IN ('paid', 'pay_at_visit')
             AND in_currency), 0)                                    AS revenue_cents,
       count(*) FILTER (
           WHERE status NOT IN ('REJECTED', 'CANCELLED') AND this_week)  AS appointments_this_week,
       count(*) FILTER (
           WHERE status NOT IN ('REJECTED', 'CANCELLED') AND this_month) AS appointments_this_month,
       count(*) FILTER (WHERE status = 'NO_SHOW')                    AS no_shows,
       count(*) FILTER (
           WHERE status = 'CANCELLED'
             AND EXISTS (SELECT 1
                           FROM appointment_events AS e
                          WHERE e.appointment_id = bookings.id
                            AND e.to_status = 'CANCELLED'
                            AND e.actor IN ('customer', 'provider'))) AS cancellations,
       count(*) FILTER (WHERE status = 'COMPLETED')                  AS completed
  FROM bookings
"""

# Each series is a sorted array of bucket edges (instants); width_bucket finds a row's bucket
# by binary search, 1 for the oldest week or month, WEEKS or MONTHS for the current one.
SERIES = f"""
WITH {_CLOCK},
    edges AS (
        SELECT ARRAY(SELECT edge AT TIME ZONE clock.timezone
                       FROM generate_series(clock.this_week - interval '{WEEKS - 1} weeks',
                                            clock.this_week + interval '1 week',
                                            interval '1 week') AS edge) AS weeks,
               ARRAY(SELECT edge AT TIME ZONE clock.timezone
                       FROM generate_series(clock.this_month - interval '{MONTHS - 1} months',
                                            clock.this_month + interval '1 month',
                                            interval '1 month') AS edge) AS months,
               clock.timezone
          FROM clock
    ),
    counted AS (
        SELECT width_bucket(a.starts_at, edges.weeks)  AS week,
               width_bucket(a.starts_at, edges.months) AS month
          FROM edges
          JOIN services AS s ON s.provider_id = $1
          JOIN appointments AS a ON a.service_id = s.id AND a.booked
         WHERE a.status NOT IN ('REJECTED', 'CANCELLED')
           AND a.starts_at >= least(edges.weeks[1], edges.months[1])
           AND a.starts_at <  greatest(edges.weeks[{WEEKS + 1}], edges.months[{MONTHS + 1}])
    ),
    per_week AS (SELECT week AS n, count(*) AS count FROM counted GROUP BY week),
    per_month AS (SELECT month AS n, count(*) AS count FROM counted GROUP BY month)
SELECT 'week' AS period,
       (edges.weeks[n] AT TIME ZONE edges.timezone)::date AS starts,
       coalesce(per_week.count, 0) AS count
  FROM edges
 CROSS JOIN generate_series(1, {WEEKS}) AS n
  LEFT JOIN per_week USING (n)
 UNION ALL
SELECT 'month',
       (edges.months[n] AT TIME ZONE edges.timezone)::date,
       coalesce(per_month.count, 0)
  FROM edges
 CROSS JOIN generate_series(1, {MONTHS}) AS n
  LEFT JOIN per_month USING (n)
 ORDER BY period, starts
"""


@dataclass(frozen=True)
class ProviderStats:
    currency: str | None
    earnings_this_month_cents: int
    revenue_cents: int
    appointments_this_week: int
    appointments_this_month: int
    per_week: list[tuple[date, int]]
    per_month: list[tuple[date, int]]
    no_shows: int
    cancellations: int
    completed: int

    def to_json(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "earnings_this_month_cents": self.earnings_this_month_cents,
            "revenue_cents": self.revenue_cents,
            "appointments_this_week": self.appointments_this_week,
            "appointments_this_month": self.appointments_this_month,
            "per_week": [
                {"week_start": start.isoformat(), "count": count} for start, count in self.per_week
            ],
            "per_month": [
                {"month": start.strftime("%Y-%m"), "count": count}
                for start, count in self.per_month
            ],
            "no_shows": self.no_shows,
            "cancellations": self.cancellations,
            "completed": self.completed,
        }


async def select_provider_stats(
    conn: asyncpg.Connection, provider_id: UUID, now: datetime
) -> ProviderStats:
    """The provider's figures as of `now` (two queries, one read-only snapshot)."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        totals = await conn.fetchrow(TOTALS, provider_id, now)
        series = await conn.fetch(SERIES, provider_id, now)
    assert totals is not None
    return ProviderStats(
        currency=totals["currency"],
        earnings_this_month_cents=int(totals["earnings_this_month_cents"]),
        revenue_cents=int(totals["revenue_cents"]),
        appointments_this_week=totals["appointments_this_week"],
        appointments_this_month=totals["appointments_this_month"],
        per_week=[(row["starts"], row["count"]) for row in series if row["period"] == "week"],
        per_month=[(row["starts"], row["count"]) for row in series if row["period"] == "month"],
        no_shows=totals["no_shows"],
        cancellations=totals["cancellations"],
        completed=totals["completed"],
    )
