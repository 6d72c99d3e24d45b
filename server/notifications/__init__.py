"""What people are told: e-mail (and SMS) written to an outbox in the same transaction as the
change that causes it, and delivered by the worker after the commit."""
