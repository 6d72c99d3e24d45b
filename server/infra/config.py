"""Configuration read once from the environment and validated before anything starts."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from urllib.parse import urlsplit

APP_ENVS = ("development", "test", "production")
LOG_FORMATS = ("text", "json")
# A year ahead is already absurd for a reminder; the bound keeps datetime arithmetic in range.
MAX_REMINDER_MINUTES = 366 * 24 * 60
DEFAULT_DISCOVERY_URL = "https://accounts.google.com/.well-known/openid-configuration"


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class RateLimit:
    """At most `count` requests from one client address in a window of `seconds`."""

    count: int
    seconds: int


TrustedNetwork = IPv4Network | IPv6Network


@dataclass(frozen=True)
class Config:
    database_url: str | None = None
    redis_url: str | None = None
    # Real time's own Redis (a plain one, or a node of a Redis Cluster); None: redis_url.
    redis_pubsub_url: str | None = None
    data_dir: Path = Path(".appointly")
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    base_url: str = "http://127.0.0.1:8000"
    app_env: str = "development"
    # How often a signed-in socket re-checks its session even without a revocation notice, so
    # it closes within the contract's 30 seconds if the notice is lost (tests make it short).
    session_check_seconds: float = 20.0
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_starttls: bool = True
    mail_from: str = "Appointly <no-reply@appointly.local>"
    google_client_id: str | None = None
    google_client_secret: str | None = field(default=None, repr=False)
    google_discovery_url: str = DEFAULT_DISCOVERY_URL
    stripe_secret_key: str | None = field(default=None, repr=False)
    stripe_webhook_secret: str | None = field(default=None, repr=False)
    stripe_api_base: str = "https://api.stripe.com"
    # Seconds one Stripe request may take (the SDK retries twice), so a slow Stripe answers a
    # booking with 409 `payments_unavailable` in bounded time rather than hanging it.
    stripe_timeout: float = 8.0
    platform_fee_percent: float = 0.0
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = field(default=None, repr=False)
    twilio_from: str | None = None
    twilio_api_base: str = "https://api.twilio.com"
    # Per client address; None turns a limit off (server/edge/client_limits.py).
    booking_rate_limit: RateLimit | None = RateLimit(20, 60)
    signup_rate_limit: RateLimit | None = RateLimit(10, 3600)
    websocket_rate_limit: RateLimit | None = RateLimit(60, 60)
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (server/edge/forwarded.py).
    forwarded_allow_ips: tuple[TrustedNetwork, ...] = ()
    slot_horizon_days: int = 30
    reminder_offsets: tuple[int, ...] = (1440, 60)
    hold_minutes: int = 15
    # How long anything waits on PostgreSQL or Redis before answering 503 or moving on.
    db_pool_size: int = 10
    # Real time's own pool (snapshots, the broker's re-reads), so sockets and pages never wait
    # for each other's connections.
    realtime_pool_size: int = 3
    db_acquire_timeout: float = 5.0
    db_statement_timeout: float = 30.0
    redis_timeout: float = 1.0
    # The broker pings a quiet pub/sub connection this often; no pong within redis_timeout
    # counts as a lost connection.
    redis_ping_interval: float = 10.0
    # How long a freed slot is held for the waitlist entry it is offered to.
    waitlist_offer_minutes: int = 15
    # How often the worker fetches each busy calendar (the provider's outside iCal feeds).
    busy_sync_minutes: int = 10
    # Operators who may open /admin (lower-cased); their addresses must be verified too.
    admin_emails: frozenset[str] = frozenset()
    # The bearer token /metrics requires; None: /metrics answers 404.
    metrics_token: str | None = field(default=None, repr=False)
    # `text` or `json` (one object per line): server/infra/logs.py.
    log_format: str = "text"
    # `--metrics-bind HOST:PORT`: an address answering only /metrics, token-free.
    metrics_bind: str | None = None
    # Where browsers open live sockets (the socket tier, realtime.tier): None for this origin
    # (a load balancer routes /ws/ to the tier, or Hypercorn serves them itself).
    sockets_public_url: str | None = None

    @property
    def base_origin(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def is_https(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def google_enabled(self) -> bool:
        return bool(self.google_client_id and self.google_client_secret)

    @property
    def stripe_enabled(self) -> bool:
        return bool(self.stripe_secret_key)

    @property
    def stripe_webhook_secrets(self) -> tuple[str, ...]:
        """STRIPE_WEBHOOK_SECRET as a list: the platform endpoint's and the Connect endpoint's
        signing secrets (each endpoint signs with its own)."""
        return _secret_list(self.stripe_webhook_secret)

    @property
    def stripe_livemode(self) -> bool:
        """Whether the Stripe key is a live one (`sk_live_…`, `rk_live_…`) or a test one."""
        return (self.stripe_secret_key or "").startswith(("sk_live_", "rk_live_"))

    @property
    def smtp_enabled(self) -> bool:
        return bool(self.smtp_host)

    def shared_environment(self) -> dict[str, str]:
        """What a child process (`appointly run`/`serve` start the worker and the socket tier)
        must be given to agree with this one: the same databases, links and, above all, the
        same SECRET_KEY — random per start in development, so generated once by the parent."""
        env = {
            "SECRET_KEY": self.secret_key,
            "BASE_URL": self.base_url,
            "DATABASE_URL": self.database_url or "",
            "REDIS_URL": self.redis_url or "",
        }
        if self.sockets_public_url is not None:
            env["SOCKETS_PUBLIC_URL"] = self.sockets_public_url
        return env

    def with_changes(self, **changes: object) -> Config:
        return replace(self, **changes)  # type: ignore[arg-type]


def load_config(environ: Mapping[str, str] | None = None) -> Config:
    """Build a Config from environment variables, raising ConfigError on the first bad value."""
    env = os.environ if environ is None else environ
    app_env = env.get("APP_ENV", "development")
    if app_env not in APP_ENVS:
        raise ConfigError(f"APP_ENV must be one of {', '.join(APP_ENVS)}, not {app_env!r}")
    secret_key = (env.get("SECRET_KEY") or "").strip() or None
    if secret_key is None and app_env == "production":
        raise ConfigError("SECRET_KEY is required when APP_ENV=production")
    if not env.get("SMTP_HOST") and app_env == "production":
        # Without SMTP, e-mail is written to the log instead, reset and manage links included.
        raise ConfigError("SMTP_HOST is required when APP_ENV=production (e-mail must be sent)")
    base_url = _url(env, "BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    config = Config(
        database_url=_optional_url(env, "DATABASE_URL", ("postgres", "postgresql")),
        redis_url=_optional_url(env, "REDIS_URL", ("redis", "rediss", "unix")),
        redis_pubsub_url=_optional_url(env, "REDIS_PUBSUB_URL", ("redis", "rediss", "unix")),
        data_dir=data_dir_setting(env),
        base_url=base_url,
        app_env=app_env,
        smtp_host=env.get("SMTP_HOST") or None,
        smtp_port=_int(env, "SMTP_PORT", 587, 1, 65535),
        smtp_username=env.get("SMTP_USERNAME") or None,
        smtp_password=env.get("SMTP_PASSWORD") or None,
        smtp_starttls=_bool(env, "SMTP_STARTTLS", True),
        mail_from=env.get("MAIL_FROM") or "Appointly <no-reply@appointly.local>",
        google_client_id=env.get("GOOGLE_CLIENT_ID") or None,
        google_client_secret=env.get("GOOGLE_CLIENT_SECRET") or None,
        google_discovery_url=_url(env, "GOOGLE_DISCOVERY_URL", DEFAULT_DISCOVERY_URL),
        stripe_secret_key=env.get("STRIPE_SECRET_KEY") or None,
        stripe_webhook_secret=env.get("STRIPE_WEBHOOK_SECRET") or None,
        stripe_api_base=_url(env, "STRIPE_API_BASE", "https://api.stripe.com").rstrip("/"),
        platform_fee_percent=_percent(env, "PLATFORM_FEE_PERCENT"),
        twilio_account_sid=env.get("TWILIO_ACCOUNT_SID") or None,
        twilio_auth_token=env.get("TWILIO_AUTH_TOKEN") or None,
        twilio_from=env.get("TWILIO_FROM") or None,
        twilio_api_base=_url(env, "TWILIO_API_BASE", "https://api.twilio.com").rstrip("/"),
        booking_rate_limit=_rate_limit(env, "BOOKING_RATE_LIMIT", RateLimit(20, 60)),
        signup_rate_limit=_rate_limit(env, "SIGNUP_RATE_LIMIT", RateLimit(10, 3600)),
        websocket_rate_limit=_rate_limit(env, "WEBSOCKET_RATE_LIMIT", RateLimit(60, 60)),
        forwarded_allow_ips=_networks(env, "FORWARDED_ALLOW_IPS"),
        slot_horizon_days=_int(env, "SLOT_HORIZON_DAYS", 30, 1, 366),
        reminder_offsets=_minutes_list(env, "REMINDER_OFFSETS", (1440, 60)),
        hold_minutes=_int(env, "HOLD_MINUTES", 15, 1, 24 * 60),
        db_pool_size=_int(env, "DB_POOL_SIZE", 10, 2, 1000),
        waitlist_offer_minutes=_int(env, "WAITLIST_OFFER_MINUTES", 15, 1, 24 * 60),
        busy_sync_minutes=_int(env, "BUSY_SYNC_MINUTES", 10, 1, 24 * 60),
        admin_emails=_emails(env, "APPOINTLY_ADMIN_EMAILS"),
        metrics_token=(env.get("METRICS_TOKEN") or "").strip() or None,
        log_format=_log_format(env),
        sockets_public_url=_socket_url(env, "SOCKETS_PUBLIC_URL"),
    )
    if config.stripe_enabled and not config.stripe_webhook_secrets:
        raise ConfigError(
            "STRIPE_WEBHOOK_SECRET is required when STRIPE_SECRET_KEY is set (the signing "
            "secrets of the platform and Connect webhook endpoints, comma-separated)"
        )
    if secret_key is not None:
        config = replace(config, secret_key=secret_key)
    return config


def _emails(env: Mapping[str, str], name: str) -> frozenset[str]:
    """Comma-separated e-mail addresses, compared case-insensitively."""
    found = set()
    for part in (env.get(name) or "").split(","):
        address = part.strip().lower()
        if not address:
            continue
        if not re.fullmatch(r"[^@\s]+@[^@\s]+", address):
            raise ConfigError(f"{name} must list e-mail addresses, not {part.strip()!r}")
        found.add(address)
    return frozenset(found)


def data_dir_setting(environ: Mapping[str, str] | None = None) -> Path:
    """APPOINTLY_DATA_DIR, read alone (the cli needs it before anything else is loaded)."""
    env = os.environ if environ is None else environ
    return Path(env.get("APPOINTLY_DATA_DIR") or ".appointly")


def _log_format(env: Mapping[str, str]) -> str:
    raw = (env.get("LOG_FORMAT") or "text").strip().lower()
    if raw not in LOG_FORMATS:
        raise ConfigError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {raw!r}")
    return raw


def _secret_list(raw: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (raw or "").split(",") if part.strip())


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, not {value}")
    return value


def _percent(env: Mapping[str, str], name: str) -> float:
    raw = env.get(name)
    if not raw:
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from None
    if not 0 <= value <= 100:
        raise ConfigError(f"{name} must be between 0 and 100, not {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if not raw:
        return default
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def _url(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name) or default
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name} must be an http(s) URL, not {raw!r}")
    return raw


def _socket_url(env: Mapping[str, str], name: str) -> str | None:
    """A ws:// or wss:// origin (no path); empty or unset means the page's own origin."""
    raw = (env.get(name) or "").strip().rstrip("/")
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("ws", "wss") or not parts.netloc or parts.path:
        raise ConfigError(
            f"{name} must be a ws:// or wss:// origin such as wss://host:8001, not {raw!r}"
        )
    return raw


def _optional_url(env: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> str | None:
    raw = env.get(name) or None
    if raw is None:
        return None
    if urlsplit(raw).scheme not in schemes:
        expected = " or ".join(f"{scheme}://" for scheme in schemes)
        raise ConfigError(f"{name} must start with {expected}, not {raw!r}")
    return raw


def _minutes_list(env: Mapping[str, str], name: str, default: tuple[int, ...]) -> tuple[int, ...]:
    raw = env.get(name)
    if not raw:
        return default
    try:
        values = tuple(int(part) for part in raw.split(",") if part.strip())
    except ValueError:
        raise ConfigError(f"{name} must be comma-separated minutes, not {raw!r}") from None
    if not values or any(not 0 < value <= MAX_REMINDER_MINUTES for value in values):
        raise ConfigError(
            f"{name} must list minutes between 1 and {MAX_REMINDER_MINUTES}, not {raw!r}"
        )
    return tuple(sorted(set(values), reverse=True))


def _rate_limit(env: Mapping[str, str], name: str, default: RateLimit) -> RateLimit | None:
    """`N/SECONDS` (N requests per SECONDS), or `0` for no limit."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    if raw == "0":
        return None
    matched = re.fullmatch(r"([0-9]{1,9})\s*/\s*([0-9]{1,9})", raw)
    if matched is None:
        raise ConfigError(f"{name} must be N/SECONDS (e.g. 20/60) or 0, not {raw!r}")
    limit = RateLimit(int(matched[1]), int(matched[2]))
    if not (1 <= limit.count <= 1_000_000 and 1 <= limit.seconds <= 86_400):
        raise ConfigError(
            f"{name} must allow 1 to 1000000 requests per 1 to 86400 seconds, not {raw!r}"
        )
    return limit


def _networks(env: Mapping[str, str], name: str) -> tuple[TrustedNetwork, ...]:
    """Comma-separated addresses or CIDR networks."""
    networks = []
    for part in (env.get(name) or "").split(","):
        if not part.strip():
            continue
        try:
            networks.append(ip_network(part.strip(), strict=False))
        except ValueError:
            raise ConfigError(
                f"{name} must list IP addresses or networks (10.0.0.0/8), not {part.strip()!r}"
            ) from None
    return tuple(networks)
