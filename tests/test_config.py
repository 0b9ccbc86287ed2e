"""Settings: safe development defaults, hard stops in production, URL normalisation."""
import subprocess
import sys
from pathlib import Path

import pytest

from sdr_agent.config import (
    DEVELOPMENT_DEFAULTS,
    REQUIRED_OUTSIDE_DEVELOPMENT,
    ConfigError,
    Settings,
    normalise_database_url,
)
from tests.conftest import production_env

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = production_env()


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


# --- Nothing fails open ----------------------------------------------------------------------------

@pytest.mark.parametrize("platform", [
    {"RENDER": "true"},
    {"DYNO": "web.1"},
    {"PORT": "10000", "DATABASE_URL": "postgres://u:p@db.internal:5432/sdr"},
    {"DATABASE_URL": "postgresql://u@db.internal/sdr"},
])
def test_a_deployed_process_without_sdr_env_never_comes_up_in_development(platform: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="is required when SDR_ENV=production"):
        Settings.from_env(platform)


def test_development_only_when_asked_for_or_when_nothing_looks_deployed() -> None:
    assert Settings.from_env({"SDR_ENV": "development", "RENDER": "true"}).env == "development"
    assert Settings.from_env({"PORT": "8000"}).env == "development"  # make run's PORT with the SQLite default


@pytest.mark.parametrize("name", sorted(DEVELOPMENT_DEFAULTS))
def test_production_refuses_every_shipped_default(name: str) -> None:
    with pytest.raises(ConfigError, match=f"^{name} is the public development default"):
        Settings.from_env(production_env(**{name: DEVELOPMENT_DEFAULTS[name]}))


@pytest.mark.parametrize("name", ["TWILIO_AUTH_TOKEN", "PHONE_HASH_SECRET", "SECRET_KEY", "SDR_WEBHOOK_SECRET"])
def test_production_refuses_a_secret_shorter_than_32_bytes(name: str) -> None:
    with pytest.raises(ConfigError, match=f"^{name} must be at least 32 bytes when SDR_ENV=staging"):
        Settings.from_env(production_env(SDR_ENV="staging", **{name: "x" * 31}))
    assert Settings.from_env(production_env(SDR_ENV="staging", **{name: "x" * 32})).env == "staging"


def test_production_refuses_an_admin_password_under_twelve_characters() -> None:
    with pytest.raises(ConfigError, match="^ADMIN_PASSWORD must be at least 12 characters"):
        Settings.from_env(production_env(ADMIN_PASSWORD="hunter2hunt"))
    assert Settings.from_env(production_env(ADMIN_PASSWORD="hunter2hunter")).admin_password == "hunter2hunter"


def test_production_requires_the_public_base_url() -> None:
    with pytest.raises(ConfigError, match="^PUBLIC_BASE_URL is required when SDR_ENV=production"):
        Settings.from_env(production_env(PUBLIC_BASE_URL=""))


@pytest.mark.parametrize("webhook", ["SDR_HANDOFF_WEBHOOK_URL", "SDR_CRM_WEBHOOK_URL", "SDR_CALENDAR_WEBHOOK_URL"])
def test_a_webhook_url_needs_the_webhook_secret_outside_development(webhook: str) -> None:
    with pytest.raises(ConfigError, match=f"^SDR_WEBHOOK_SECRET is required when {webhook} is set"):
        Settings.from_env(production_env(**{webhook: "https://hooks.example.com/sdr"}))
    secret = "s" * 40
    assert Settings.from_env(production_env(**{webhook: "https://hooks.example.com/sdr",
                                               "SDR_WEBHOOK_SECRET": secret})).webhook_secret == secret


def test_one_proxy_hop_is_trusted_in_production_and_none_locally() -> None:
    assert Settings.from_env(PRODUCTION).proxy_hops == 1
    assert Settings.from_env({}).proxy_hops == 0
    assert Settings.from_env(production_env(SDR_PROXY_HOPS="2")).proxy_hops == 2


def test_gunicorn_binds_loopback_in_development_and_every_interface_when_deployed() -> None:
    script = "import runpy; print(runpy.run_path('gunicorn.conf.py')['bind'])"
    for env, expected in (({"SDR_ENV": "development", "PORT": "8123"}, "127.0.0.1:8123"),
                          ({"PORT": "8123"}, "127.0.0.1:8123"),
                          ({"RENDER": "true", "PORT": "10000"}, "0.0.0.0:10000")):
        result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env={"PATH": "/usr/bin:/bin", **env},
                                capture_output=True, text=True, timeout=60, check=True)
        assert result.stdout.strip() == expected, env


def test_make_run_asks_for_development(tmp_path: Path) -> None:
    # A stand-in venv whose flask and gunicorn report the environment make gives them.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("python", "flask", "gunicorn"):
        script = bin_dir / tool
        script.write_text(f'#!/bin/sh\necho "{tool} SDR_ENV=$SDR_ENV"\n')
        script.chmod(0o755)
    (tmp_path / ".runtime").touch()
    result = subprocess.run(["make", "--no-print-directory", "run", f"VENV={tmp_path}"], cwd=ROOT, text=True,
                            capture_output=True, timeout=60, env={"PATH": "/usr/bin:/bin", "SDR_ENV": "production"})
    assert result.returncode == 0, result.stderr
    assert "flask SDR_ENV=development" in result.stdout
    assert "gunicorn SDR_ENV=development" in result.stdout
