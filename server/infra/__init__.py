"""Plumbing: configuration, database, Redis state, embedded servers, migrations, JSON and the job
queue. Nothing here knows about bookings or about HTTP."""
