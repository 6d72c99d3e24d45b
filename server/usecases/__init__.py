"""Use-cases: what the routes, jobs and CLI ask for, each in one short transaction,
with side effects (Redis, Stripe, e-mail) after commit."""
