"""Payments through Stripe: the API client, Connect onboarding and webhook events."""
