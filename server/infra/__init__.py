"""Plumbing: configuration, database, Redis state, embedded servers, migrations, JSON, errors
and the HTTP security rules. Nothing here knows about bookings."""
