"""Configuration: every variable is validated before anything starts, with a message naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.infra.config import ConfigError, load_config


def _refused(env: dict[str, str], *fragments: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(env)
    for fragment in fragments:
        assert fragment in str(raised.value)


def test_an_empty_environment_gives_the_documented_defaults() -> None:
    config = load_config({})
    assert config.database_url is None
    assert config.redis_url is None
    assert config.data_dir == Path(".appointly")
    assert config.base_url == "http://127.0.0.1:8000"
    assert config.base_origin == "http://127.0.0.1:8000"
    assert config.app_env == "development"
    assert config.smtp_enabled is False
    assert config.smtp_port == 587
    assert config.smtp_starttls is True
    assert config.google_enabled is False
    assert config.google_discovery_url == (
        "https://accounts.google.com/.well-known/openid-configuration"
    )
    assert config.stripe_enabled is False
    assert config.stripe_api_base == "https://api.stripe.com"
    assert config.platform_fee_percent == 0
    assert config.slot_horizon_days == 30
    assert config.reminder_offsets == (1440, 60)
    assert config.hold_minutes == 15


def test_development_gets_a_random_secret_key_per_start() -> None:
    first, second = load_config({}), load_config({})
    assert len(first.secret_key) >= 32
    assert first.secret_key != second.secret_key


def test_secret_key_from_the_environment_is_used() -> None:
    assert load_config({"SECRET_KEY": "s3cret-value"}).secret_key == "s3cret-value"


@pytest.mark.parametrize("secret", [None, "", "   "])
def test_production_requires_a_secret_key(secret: str | None) -> None:
    env = {"APP_ENV": "production"}
    if secret is not None:
        env["SECRET_KEY"] = secret
    _refused(env, "SECRET_KEY", "production")


def test_production_with_a_secret_key_starts() -> None:
    config = load_config(
        {"APP_ENV": "production", "SECRET_KEY": "long-random-value", "SMTP_HOST": "mail"}
    )
    assert config.app_env == "production"


@pytest.mark.parametrize("app_env", ["development", "test", "production"])
def test_every_documented_app_env_is_accepted(app_env: str) -> None:
    env = {"APP_ENV": app_env, "SECRET_KEY": "k", "SMTP_HOST": "mail"}
    assert load_config(env).app_env == app_env


@pytest.mark.parametrize("app_env", ["prod", "Production", "staging"])
def test_an_unknown_app_env_is_refused(app_env: str) -> None:
    _refused({"APP_ENV": app_env}, "APP_ENV", app_env)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("SLOT_HORIZON_DAYS", "7", 7),
        ("SLOT_HORIZON_DAYS", " 60 ", 60),
        ("HOLD_MINUTES", "30", 30),
        ("SMTP_PORT", "2525", 2525),
    ],
)
def test_whole_numbers_are_read(name: str, value: str, expected: int) -> None:
    attribute = name.lower()
    assert getattr(load_config({name: value}), attribute) == expected


@pytest.mark.parametrize("name", ["SLOT_HORIZON_DAYS", "HOLD_MINUTES", "SMTP_PORT"])
@pytest.mark.parametrize("value", ["abc", "1.5", "ten", "0x10"])
def test_a_non_number_is_refused(name: str, value: str) -> None:
    _refused({name: value}, name, "whole number", value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SLOT_HORIZON_DAYS", "0"),
        ("SLOT_HORIZON_DAYS", "-3"),
        ("SLOT_HORIZON_DAYS", "367"),
        ("HOLD_MINUTES", "0"),
        ("HOLD_MINUTES", "1441"),
        ("SMTP_PORT", "0"),
        ("SMTP_PORT", "65536"),
    ],
)
def test_an_out_of_range_number_is_refused(name: str, value: str) -> None:
    _refused({name: value}, name, "between")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0", 0.0), ("2.5", 2.5), ("100", 100.0), ("10", 10.0)],
)
def test_platform_fee_percent_is_read(value: str, expected: float) -> None:
    assert load_config({"PLATFORM_FEE_PERCENT": value}).platform_fee_percent == expected


@pytest.mark.parametrize("value", ["-1", "100.01", "150", "nan", "inf", "five", "10%"])
def test_platform_fee_percent_outside_0_to_100_is_refused(value: str) -> None:
    _refused({"PLATFORM_FEE_PERCENT": value}, "PLATFORM_FEE_PERCENT")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("60", (60,)),
        ("1440,60", (1440, 60)),
        ("60, 1440", (1440, 60)),
        ("60,1440,60", (1440, 60)),
        ("30,", (30,)),
    ],
)
def test_reminder_offsets_are_distinct_minutes_latest_first(
    value: str, expected: tuple[int, ...]
) -> None:
    assert load_config({"REMINDER_OFFSETS": value}).reminder_offsets == expected


@pytest.mark.parametrize("value", ["abc", "60;1440", "60,x", "0", "-5,60", " , ", "99999999999"])
def test_bad_reminder_offsets_are_refused(value: str) -> None:
    _refused({"REMINDER_OFFSETS": value}, "REMINDER_OFFSETS")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", True),
        ("1", True),
        ("YES", True),
        ("on", True),
        ("false", False),
        ("0", False),
        ("No", False),
        ("off", False),
    ],
)
def test_smtp_starttls_reads_the_usual_booleans(value: str, expected: bool) -> None:
    assert load_config({"SMTP_STARTTLS": value}).smtp_starttls is expected


@pytest.mark.parametrize("value", ["maybe", "2", "enabled"])
def test_smtp_starttls_refuses_anything_else(value: str) -> None:
    _refused({"SMTP_STARTTLS": value}, "SMTP_STARTTLS", value)


def test_database_and_redis_urls_are_read() -> None:
    config = load_config(
        {
            "DATABASE_URL": "postgresql://app@db.internal:5432/appointly",
            "REDIS_URL": "redis://cache.internal:6379/2",
        }
    )
    assert config.database_url == "postgresql://app@db.internal:5432/appointly"
    assert config.redis_url == "redis://cache.internal:6379/2"
    assert load_config({"DATABASE_URL": "postgres://x/y"}).database_url == "postgres://x/y"
    assert load_config({"REDIS_URL": "unix:///tmp/r.sock"}).redis_url == "unix:///tmp/r.sock"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "mysql://db/appointly"),
        ("DATABASE_URL", "db.internal:5432"),
        ("REDIS_URL", "http://cache"),
        ("REDIS_URL", "localhost:6379"),
    ],
)
def test_a_service_url_with_the_wrong_scheme_is_refused(name: str, value: str) -> None:
    _refused({name: value}, name, value)


@pytest.mark.parametrize(
    "name", ["BASE_URL", "GOOGLE_DISCOVERY_URL", "STRIPE_API_BASE", "TWILIO_API_BASE"]
)
@pytest.mark.parametrize("value", ["ftp://example.com", "example.com", "http://", "https:/x"])
def test_an_http_url_setting_that_is_not_an_http_url_is_refused(name: str, value: str) -> None:
    _refused({name: value}, name, "http")


def test_base_url_loses_its_trailing_slash_and_gives_the_origin() -> None:
    config = load_config({"BASE_URL": "https://book.example.com/"})
    assert config.base_url == "https://book.example.com"
    assert config.base_origin == "https://book.example.com"
    assert config.is_https is True


def test_optional_integrations_are_enabled_only_when_configured() -> None:
    config = load_config(
        {
            "SMTP_HOST": "mail.example.com",
            "GOOGLE_CLIENT_ID": "id",
            "GOOGLE_CLIENT_SECRET": "secret",
            "STRIPE_SECRET_KEY": "sk_test_x",
            "STRIPE_WEBHOOK_SECRET": "whsec_x",
        }
    )
    assert config.smtp_enabled and config.google_enabled and config.stripe_enabled
    assert load_config({"GOOGLE_CLIENT_ID": "id"}).google_enabled is False


def test_appointly_data_dir_is_read() -> None:
    assert load_config({"APPOINTLY_DATA_DIR": "/var/lib/appointly"}).data_dir == Path(
        "/var/lib/appointly"
    )


@pytest.mark.parametrize("secret", [None, "", " , "])
def test_a_stripe_key_without_a_webhook_secret_is_refused(secret: str | None) -> None:
    env = {"STRIPE_SECRET_KEY": "sk_test_x"}
    if secret is not None:
        env["STRIPE_WEBHOOK_SECRET"] = secret
    _refused(env, "STRIPE_WEBHOOK_SECRET", "STRIPE_SECRET_KEY")


def test_stripe_webhook_secret_is_a_comma_separated_list() -> None:
    config = load_config(
        {"STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_WEBHOOK_SECRET": "whsec_platform, whsec_connect"}
    )
    assert config.stripe_webhook_secrets == ("whsec_platform", "whsec_connect")
    assert config.stripe_livemode is False


@pytest.mark.parametrize(
    ("key", "live"), [("sk_live_x", True), ("rk_live_x", True), ("sk_test_x", False)]
)
def test_the_stripe_key_says_whether_payments_are_live(key: str, live: bool) -> None:
    config = load_config({"STRIPE_SECRET_KEY": key, "STRIPE_WEBHOOK_SECRET": "whsec_x"})
    assert config.stripe_livemode is live
