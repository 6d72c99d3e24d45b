"""Webhooks: a provider's endpoints hear of every change to their bookings, signed, at least
once, retried with back-off for a day (issue 14 item 4, API.md "Calendars and webhooks")."""
