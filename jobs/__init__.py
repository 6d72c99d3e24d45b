"""Background jobs run by the arq worker."""
