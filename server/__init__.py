"""Appointly: real-time appointment booking."""
