"""The Stripe adapter: the API client, Checkout Sessions, Connect accounts and refunds.

Only calls to Stripe live here; what a payment means for a booking (holds, webhook events,
refund bookkeeping) is in server.usecases.
"""
