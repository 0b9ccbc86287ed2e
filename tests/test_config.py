"""Settings: safe development defaults, hard stops in production, URL normalisation."""
import subprocess
import sys
from pathlib import Path

import pytest

from sdr_agent.config import REQUIRED_OUTSIDE_DEVELOPMENT, ConfigError, Settings, normalise_database_url

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "SDR_ENV": "production",
    "TWILIO_AUTH_TOKEN": "token",
    "PHONE_HASH_SECRET": "hash",
    "SECRET_KEY": "secret",
    "DATABASE_URL": "postgres://u:p@db.internal:5432/sdr",
    "REDIS_URL": "redis://kv.internal:6379",
}


def test_development_has_local_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.env == "development"
    assert settings.database_url.startswith("sqlite:///") and settings.database_url.endswith("/instance/sdr.db")
    assert settings.redis_url is None
    assert settings.default_language == "pt-BR"
    assert settings.processing_budget_ms == 3000
    assert settings.idle_reset_hours == 24


def test_render_means_production() -> None:
    with pytest.raises(ConfigError, match="TWILIO_AUTH_TOKEN is required when SDR_ENV=production"):
        Settings.from_env({"RENDER": "true"})


@pytest.mark.parametrize("missing", REQUIRED_OUTSIDE_DEVELOPMENT)
def test_production_names_each_missing_secret(missing: str) -> None:
    env = {key: value for key, value in PRODUCTION.items() if key != missing}
    with pytest.raises(ConfigError, match=f"^{missing} is required when SDR_ENV=production$"):
        Settings.from_env(env)


def test_production_with_everything_set() -> None:
    settings = Settings.from_env(PRODUCTION)
    assert settings.database_url == "postgresql+psycopg://u:p@db.internal:5432/sdr"
    assert settings.sentry_environment == "production"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@h:5432/d", "postgresql+psycopg://u:p@h:5432/d"),
        ("postgresql://u@h/d", "postgresql+psycopg://u@h/d"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_database_urls_are_normalised(given: str, expected: str) -> None:
    assert normalise_database_url(given) == expected


def test_relative_sqlite_path_is_relative_to_the_working_directory() -> None:
    assert normalise_database_url("sqlite:///data/x.db") == f"sqlite:///{Path.cwd() / 'data' / 'x.db'}"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SDR_PROCESSING_BUDGET_MS", "fast", "SDR_PROCESSING_BUDGET_MS must be a whole number"),
        ("SDR_IDLE_RESET_HOURS", "-1", "SDR_IDLE_RESET_HOURS must be positive"),
        ("SENTRY_TRACES_SAMPLE_RATE", "2", "SENTRY_TRACES_SAMPLE_RATE must be between 0 and 1"),
        ("SDR_DEFAULT_LANGUAGE", "fr", "SDR_DEFAULT_LANGUAGE must be one of pt-BR, en"),
        ("SDR_ENV", "prod", "SDR_ENV must be one of"),
        ("SDR_FLOW_FILE", "/nonexistent/flow.yaml", "SDR_FLOW_FILE points to a missing file"),
    ],
)
def test_invalid_values_are_named(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env({name: value})


def test_app_refuses_to_start_with_one_clear_line(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "SDR_ENV": "production", "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", "import app"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "SDR Agent cannot start: TWILIO_AUTH_TOKEN is required when SDR_ENV=production"


def test_the_rate_limit_defaults_to_twenty_messages_in_ten_seconds_and_zero_turns_it_off() -> None:
    defaults = Settings.from_env({})
    assert (defaults.rate_limit_messages, defaults.rate_limit_window_seconds) == (20, 10.0)
    assert Settings.from_env({"SDR_RATE_LIMIT_MESSAGES": "0"}).rate_limit_messages == 0
    with pytest.raises(ConfigError, match="^SDR_RATE_LIMIT_MESSAGES must be 0 or more, got -1$"):
        Settings.from_env({"SDR_RATE_LIMIT_MESSAGES": "-1"})
    with pytest.raises(ConfigError, match="^SDR_RATE_LIMIT_WINDOW_SECONDS must be positive, got 0.0$"):
        Settings.from_env({"SDR_RATE_LIMIT_WINDOW_SECONDS": "0"})
