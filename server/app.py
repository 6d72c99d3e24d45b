"""The one place the web app is put together."""

from __future__ import annotations

import logging

from quart import Quart, Request
from quart_auth import QuartAuth
from quart_schema import QuartSchema

from realtime import sockets, waitlist_socket
from realtime.compression import decline_permessage_deflate
from realtime.sockets import start_realtime, stop_realtime
from server.auth.session_cookie import COOKIE_DURATION, COOKIE_NAME
from server.auth.session_user import SessionUser
from server.edge.cors import install_cors
from server.edge.errors import APIError, register_error_handlers
from server.edge.forwarded import TrustedProxyHeaders
from server.edge.hostile_input import install_input_checks
from server.edge.metrics_listener import MetricsListener
from server.edge.openapi import AppointlyOpenAPIProvider
from server.edge.outages import install_outage_answers
from server.edge.request_context import install_request_context
from server.edge.security import install_security
from server.infra.config import Config, load_config
from server.infra.db import create_pool
from server.infra.job_queue import job_queue
from server.infra.jsonio import OrjsonProvider
from server.infra.logs import current_request_id, prepare_logging
from server.infra.paths import STATIC_DIR, TEMPLATES_DIR
from server.infra.redis_clients import open_publisher, open_redis, open_subscriber_redis
from server.infra.runtime import resolve_services_async
from server.infra.state import EXTENSION_KEY, AppState, app_state, release_db
from server.payments.stripe_api import close_stripe_client
from server.routes import (
    account_recovery,
    admin,
    admin_page,
    auth,
    availability,
    bookings,
    caldav,
    calendars,
    customer_pages,
    dashboard,
    google,
    health,
    metrics,
    pages,
    provider_webhooks,
    providers,
    realtime_info,
    services,
    stats,
    waitlist,
    waitlist_page,
    webhooks,
)
from server.usecases.waitlist_offers import use_offer_settings

BLUEPRINTS = (
    health,
    metrics,
    realtime_info,
    auth,
    account_recovery,
    google,
    pages,
    customer_pages,
    providers,
    services,
    availability,
    bookings,
    dashboard,
    stats,
    webhooks,
    provider_webhooks,
    caldav,
    calendars,
    sockets,
    waitlist,
    waitlist_page,
    waitlist_socket,
    admin,
    admin_page,
)

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024


class AppointlyRequest(Request):
    def on_json_loading_failed(self, error: Exception) -> None:
        raise APIError(400, "invalid_json", "The request body is not valid JSON.")


def create_app(config: Config | None = None) -> Quart:
    """Build the web app; pools are opened when it starts serving, not here."""
    config = config or load_config()
    app = Quart(
        __name__,
        static_folder=str(STATIC_DIR),
        static_url_path="/static",
        template_folder=str(TEMPLATES_DIR),
    )
    app.request_class = AppointlyRequest
    app.json_provider_class = OrjsonProvider
    app.secret_key = config.secret_key
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        QUART_AUTH_COOKIE_SECURE=config.is_https,
        QUART_AUTH_COOKIE_SAMESITE="Lax",
        QUART_AUTH_COOKIE_NAME=COOKIE_NAME,
        QUART_AUTH_DURATION=COOKIE_DURATION,
        QUART_SCHEMA_CONVERSION_PREFERENCE="pydantic",
        SEND_FILE_MAX_AGE_DEFAULT=3600,
        TEMPLATES_AUTO_RELOAD=config.app_env == "development",
    )
    app.extensions[EXTENSION_KEY] = AppState(config=config)
    QuartAuth(app, user_class=SessionUser)
    QuartSchema(
        app,
        info={"title": "Appointly API", "version": "0.1.0"},
        openapi_provider_class=AppointlyOpenAPIProvider,
    )
    # After QuartSchema, which installs a stdlib-json provider of its own: request bodies are
    # decoded by orjson (its depth limit is an error, not a RecursionError).
    app.json = OrjsonProvider(app)
    install_cors(app)
    decline_permessage_deflate()
    install_security(app)
    install_input_checks(app)
    register_error_handlers(app)
    install_outage_answers(app)
    for module in BLUEPRINTS:
        app.register_blueprint(module.blueprint)
    # Rate limits and access logs see the client's address, not the load balancer's.
    behind_proxies = TrustedProxyHeaders(app.asgi_app, config.forwarded_allow_ips)
    app.asgi_app = behind_proxies  # type: ignore[method-assign, assignment]
    if config.metrics_bind:
        app.asgi_app = MetricsListener(app.asgi_app, config.metrics_bind)  # type: ignore[method-assign, assignment]
    # Outermost: request ids, access log and HTTP metrics see the real peer and every answer.
    prepare_logging()
    install_request_context(app, config.forwarded_allow_ips)
    app.teardown_request(release_db)
    app.teardown_websocket(release_db)
    app.before_serving(_open_connections)
    app.after_serving(_close_connections)
    app.context_processor(_template_globals)
    return app


async def _open_connections() -> None:
    state = app_state()
    state.config = await resolve_services_async(state.config)
    assert state.config.database_url and state.config.redis_url
    use_offer_settings(state.config)
    state.pool = await create_pool(
        state.config.database_url,
        max_size=state.config.db_pool_size,
        statement_timeout=state.config.db_statement_timeout,
    )
    state.redis = open_redis(state.config.redis_url, state.config)
    state.publisher = open_publisher(state.config, state.redis)
    state.pubsub = open_subscriber_redis(state.config, state.redis)
    state.jobs = job_queue(state.config.redis_url, state.config)
    await start_realtime()


async def _close_connections() -> None:
    state = app_state()
    await stop_realtime()
    await close_stripe_client()
    if state.jobs is not None:
        await state.jobs.aclose()
    for separate in (state.publisher, state.pubsub):  # REDIS_PUBSUB_URL's clients
        if separate is not None and separate is not state.redis:
            await separate.aclose()
    if state.redis is not None:
        await state.redis.aclose()
    if state.pool is not None:
        await state.pool.close()


async def _template_globals() -> dict[str, object]:
    state = app_state()
    return {
        "google_enabled": state.config.google_enabled,
        "app_env": state.config.app_env,
        "request_id": current_request_id(),  # quoted on error pages
        "sockets_url": state.config.sockets_public_url or "",
    }
