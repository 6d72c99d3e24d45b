"""The HTTP edge: error handlers, security headers and the CSRF rule, CORS, the OpenAPI document
and request-body helpers. Routes lean on it; nothing below the routes imports it."""
