"""Settings read from the environment once, validated, and frozen."""
from __future__ import annotations

import os
from dataclasses import dataclass, fields
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Mapping, TypeVar, overload
from zoneinfo import ZoneInfo

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from .llm_settings import LlmSettings, read_llm_settings
from .outbound.quiet_hours import DEFAULT_QUIET_HOURS, QuietHours, parse_quiet_hours
from .scheduling import SchedulingConfig, SchedulingConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FLOW_FILE = Path(__file__).resolve().parent / "qualification" / "default_flow.yaml"
DEFAULT_KNOWLEDGE_FILE = Path(__file__).resolve().parent / "qualification" / "default_knowledge.yaml"
ENVIRONMENTS = ("development", "staging", "production")
LANGUAGES = ("pt-BR", "en")
_T = TypeVar("_T")

# Outside development these must be set explicitly: a default would be a shared secret.
REQUIRED_OUTSIDE_DEVELOPMENT = (
    "TWILIO_AUTH_TOKEN",
    "PHONE_HASH_SECRET",
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
)

# Local-only defaults; never used when SDR_ENV is staging or production.
DEVELOPMENT_DEFAULTS = {
    "TWILIO_AUTH_TOKEN": "dev-twilio-auth-token",
    "PHONE_HASH_SECRET": "dev-phone-hash-secret",
    "SECRET_KEY": "dev-secret-key",
    "ADMIN_PASSWORD": "admin",
    "TWILIO_ACCOUNT_SID": "ACdevelopment0000000000000000000000",
}


# Secrets an attacker must not be able to guess: at least this many bytes outside development.
SECRET_SETTINGS = ("TWILIO_AUTH_TOKEN", "PHONE_HASH_SECRET", "SECRET_KEY", "SDR_WEBHOOK_SECRET")
MIN_SECRET_BYTES = 32
MIN_ADMIN_PASSWORD_CHARS = 12
WEBHOOK_URL_SETTINGS = ("SDR_HANDOFF_WEBHOOK_URL", "SDR_CRM_WEBHOOK_URL", "SDR_CALENDAR_WEBHOOK_URL")
# Variables a hosting platform sets: their presence means "deployed", whatever else is missing.
PLATFORM_MARKERS = ("RENDER", "DYNO", "FLY_APP_NAME", "RAILWAY_ENVIRONMENT", "K_SERVICE", "KUBERNETES_SERVICE_HOST")


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    """Every setting the service reads, already parsed."""

    env: str
    database_url: str
    redis_url: str | None
    twilio_account_sid: str
    twilio_auth_token: str
    twilio_whatsapp_from: str | None
    public_base_url: str | None
    phone_hash_secret: str
    secret_key: str
    admin_password: str | None
    sentry_dsn: str | None
    sentry_environment: str
    sentry_release: str | None
    sentry_traces_sample_rate: float | None
    sentry_profiles_sample_rate: float
    sentry_enable_logs: bool  # Sentry structured logs (the stage trail as log records, WARNING+ Python logs)
    flow_file: Path
    knowledge_file: Path  # company knowledge the bot answers questions from
    default_language: str
    processing_budget_ms: int
    idle_reset_hours: float
    handoff_webhook_url: str | None
    crm_webhook_url: str | None
    webhook_secret: str | None
    simulator: bool
    proxy_hops: int  # reverse proxies in front of the app whose X-Forwarded-* headers are trusted
    max_request_bytes: int
    lock_timeout_seconds: float
    rate_limit_messages: int  # WhatsApp messages per lead and window processed; 0 = no limit
    rate_limit_window_seconds: float
    voice_min_confidence: float
    voice_max_silent_turns: int
    voice_names: Mapping[str, str]  # flow language -> Twilio <Say> voice
    whatsapp_templates: Mapping[tuple[str, str], str]  # (purpose, language) -> approved ContentSid
    outbound_max_attempts: int
    webhook_timeout_seconds: float
    handoff_webhook_format: str  # slack | json
    sweep_interval_seconds: float  # 0 turns the in-process sweep off (tests)
    booking_enabled: bool
    scheduling: SchedulingConfig
    calendar_webhook_url: str | None
    follow_up_after: timedelta  # silence before a nudge, and between nudges
    follow_up_max: int  # nudges per silence; 0 turns follow-ups off
    quiet_hours: QuietHours | None  # no nudges between these local times; None = any time
    lead_timezone: ZoneInfo  # the zone quiet hours are read in (SDR_BOOKING_TIMEZONE)
    signature_alert_threshold: int  # refused Twilio signatures per route and window before a warning event
    signature_alert_window_seconds: float
    llm: LlmSettings = LlmSettings()  # the optional language model; off without SDR_LLM_API_KEY

    @property
    def can_send_whatsapp(self) -> bool:
        """True when real Twilio credentials and a WhatsApp sender are configured."""
        return bool(
            self.twilio_whatsapp_from
            and self.twilio_account_sid.startswith("AC")
            and self.twilio_account_sid != DEVELOPMENT_DEFAULTS["TWILIO_ACCOUNT_SID"]
            and self.twilio_auth_token != DEVELOPMENT_DEFAULTS["TWILIO_AUTH_TOKEN"]
        )

    @property
    def status_callback_url(self) -> str | None:
        """Where Twilio reports delivery of what we send (needs a public URL)."""
        return f"{self.public_base_url}/twilio/status" if self.public_base_url else None

    @property
    def is_development(self) -> bool:
        """True when running locally with development defaults."""
        return self.env == "development"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """Build settings from an environment mapping (default: os.environ)."""
        env_map = dict(os.environ if environ is None else environ)
        reader = _Reader(env_map)
        sdr_env = resolve_environment(env_map)
        if sdr_env != "development":
            _refuse_unsafe_secrets(reader, sdr_env)
        else:
            for name, value in DEVELOPMENT_DEFAULTS.items():
                env_map.setdefault(name, value)

        default_language = reader.text("SDR_DEFAULT_LANGUAGE") or "pt-BR"
        if default_language not in LANGUAGES:
            raise ConfigError(f"SDR_DEFAULT_LANGUAGE must be one of {', '.join(LANGUAGES)}")
        flow_file = Path(reader.text("SDR_FLOW_FILE") or DEFAULT_FLOW_FILE)
        if not flow_file.is_file():
            raise ConfigError(f"SDR_FLOW_FILE points to a missing file: {flow_file}")
        knowledge_file = Path(reader.text("SDR_KNOWLEDGE_FILE") or DEFAULT_KNOWLEDGE_FILE)
        if not knowledge_file.is_file():
            raise ConfigError(f"SDR_KNOWLEDGE_FILE points to a missing file: {knowledge_file}")

        scheduling = _scheduling(env_map)
        return cls(
            env=sdr_env,
            database_url=normalise_database_url(reader.text("DATABASE_URL") or default_database_url()),
            redis_url=reader.text("REDIS_URL"),
            twilio_account_sid=reader.text("TWILIO_ACCOUNT_SID") or "",
            twilio_auth_token=env_map["TWILIO_AUTH_TOKEN"],
            twilio_whatsapp_from=reader.text("TWILIO_WHATSAPP_FROM"),
            public_base_url=_url_without_slash(reader.text("PUBLIC_BASE_URL")),
            phone_hash_secret=env_map["PHONE_HASH_SECRET"],
            secret_key=env_map["SECRET_KEY"],
            admin_password=reader.text("ADMIN_PASSWORD"),
            sentry_dsn=reader.text("SENTRY_DSN"),
            sentry_environment=reader.text("SENTRY_ENVIRONMENT") or sdr_env,
            sentry_release=reader.text("SENTRY_RELEASE") or reader.text("RENDER_GIT_COMMIT"),
            sentry_traces_sample_rate=reader.rate("SENTRY_TRACES_SAMPLE_RATE"),
            sentry_profiles_sample_rate=reader.rate("SENTRY_PROFILES_SAMPLE_RATE") or 0.0,
            sentry_enable_logs=reader.flag("SENTRY_ENABLE_LOGS"),
            flow_file=flow_file,
            knowledge_file=knowledge_file,
            default_language=default_language,
            processing_budget_ms=reader.positive_int("SDR_PROCESSING_BUDGET_MS", 3000),
            idle_reset_hours=reader.positive_float("SDR_IDLE_RESET_HOURS", 24.0),
            handoff_webhook_url=reader.text("SDR_HANDOFF_WEBHOOK_URL"),
            crm_webhook_url=reader.text("SDR_CRM_WEBHOOK_URL"),
            webhook_secret=reader.text("SDR_WEBHOOK_SECRET"),
            simulator=reader.flag("SDR_SIMULATOR"),
            proxy_hops=reader.non_negative_int("SDR_PROXY_HOPS", 0 if sdr_env == "development" else 1),
            max_request_bytes=reader.positive_int("SDR_MAX_REQUEST_BYTES", 64 * 1024),
            lock_timeout_seconds=reader.positive_float("SDR_LOCK_TIMEOUT_SECONDS", 5.0),
            rate_limit_messages=reader.non_negative_int("SDR_RATE_LIMIT_MESSAGES", 20),
            rate_limit_window_seconds=reader.positive_float("SDR_RATE_LIMIT_WINDOW_SECONDS", 10.0),
            voice_min_confidence=reader.rate("SDR_VOICE_MIN_CONFIDENCE", 0.5),
            voice_max_silent_turns=reader.positive_int("SDR_VOICE_MAX_SILENT_TURNS", 2),
            voice_names={
                "pt-BR": reader.text("SDR_VOICE_PT_BR") or "Polly.Camila",
                "en": reader.text("SDR_VOICE_EN") or "Polly.Joanna",
            },
            whatsapp_templates=_templates(reader),
            outbound_max_attempts=reader.positive_int("SDR_OUTBOUND_MAX_ATTEMPTS", 5),
            webhook_timeout_seconds=reader.positive_float("SDR_WEBHOOK_TIMEOUT_SECONDS", 5.0),
            handoff_webhook_format=_handoff_format(reader),
            sweep_interval_seconds=reader.non_negative_float("SDR_SWEEP_INTERVAL_SECONDS", 60.0),
            booking_enabled=(reader.text("SDR_BOOKING_ENABLED") or "1").lower() not in ("0", "false", "no", "off"),
            scheduling=scheduling,
            calendar_webhook_url=reader.text("SDR_CALENDAR_WEBHOOK_URL"),
            follow_up_after=timedelta(minutes=reader.positive_float("SDR_FOLLOW_UP_AFTER_MINUTES", 120.0)),
            follow_up_max=reader.non_negative_int("SDR_FOLLOW_UP_MAX", 2),
            quiet_hours=reader.parsed("SDR_FOLLOW_UP_QUIET_HOURS", parse_quiet_hours, DEFAULT_QUIET_HOURS),
            lead_timezone=scheduling.zone,
            signature_alert_threshold=reader.positive_int("SDR_SIGNATURE_ALERT_THRESHOLD", 5),
            signature_alert_window_seconds=reader.positive_float("SDR_SIGNATURE_ALERT_WINDOW_SECONDS", 300.0),
            llm=_llm(env_map),
        )

    def replace(self, **changes: object) -> "Settings":
        """A copy with some settings changed (tests and CLI tools)."""
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ConfigError(f"unknown settings: {', '.join(sorted(unknown))}")
        values = {name: getattr(self, name) for name in known}
        values.update(changes)
        return Settings(**values)  # type: ignore[arg-type]


def resolve_environment(environ: Mapping[str, str]) -> str:
    """SDR_ENV when set; otherwise production wherever the process looks deployed, development only locally."""
    explicit = (environ.get("SDR_ENV") or "").strip()
    if explicit:
        if explicit not in ENVIRONMENTS:
            raise ConfigError(f"SDR_ENV must be one of {', '.join(ENVIRONMENTS)}, got {explicit!r}")
        return explicit
    if any((environ.get(marker) or "").strip() for marker in PLATFORM_MARKERS):
        return "production"
    # A local run uses SQLite; a PostgreSQL database (with or without a PORT to serve on) is a deployment.
    if (environ.get("DATABASE_URL") or "").strip().startswith("postgres"):
        return "production"
    return "development"


def _refuse_unsafe_secrets(reader: "_Reader", sdr_env: str) -> None:
    """Outside development: every secret set, none a shipped default, none short enough to guess."""
    for name in REQUIRED_OUTSIDE_DEVELOPMENT:
        if not reader.text(name):
            raise ConfigError(f"{name} is required when SDR_ENV={sdr_env}")
    for name, default in DEVELOPMENT_DEFAULTS.items():
        if reader.text(name) == default:
            raise ConfigError(f"{name} is the public development default; set a value of your own for SDR_ENV={sdr_env}")
    for name in SECRET_SETTINGS:
        value = reader.text(name)
        if value is not None and len(value.encode("utf-8")) < MIN_SECRET_BYTES:
            raise ConfigError(f"{name} must be at least {MIN_SECRET_BYTES} bytes when SDR_ENV={sdr_env} "
                              "(for example: python -c 'import secrets; print(secrets.token_urlsafe(32))')")
    password = reader.text("ADMIN_PASSWORD")
    if password is not None and len(password) < MIN_ADMIN_PASSWORD_CHARS:
        raise ConfigError(f"ADMIN_PASSWORD must be at least {MIN_ADMIN_PASSWORD_CHARS} characters when SDR_ENV={sdr_env}")
    if not reader.text("PUBLIC_BASE_URL"):
        raise ConfigError(f"PUBLIC_BASE_URL is required when SDR_ENV={sdr_env}: Twilio signatures are checked "
                          "against it (e.g. https://sdr-agent.onrender.com)")
    webhooks = [name for name in WEBHOOK_URL_SETTINGS if reader.text(name)]
    if webhooks and not reader.text("SDR_WEBHOOK_SECRET"):
        raise ConfigError(f"SDR_WEBHOOK_SECRET is required when {webhooks[0]} is set (SDR_ENV={sdr_env}): "
                          "receivers verify the signature made with it")


# Outbound WhatsApp purposes that may need an approved template outside the 24-hour window.
TEMPLATE_PURPOSES = ("email_request", "follow_up", "reminder", "booking")


def _templates(reader: "_Reader") -> dict[tuple[str, str], str]:
    """SDR_TEMPLATE_<PURPOSE>_<LANGUAGE>=HX…, e.g. SDR_TEMPLATE_FOLLOW_UP_PT_BR."""
    templates = {}
    for purpose in TEMPLATE_PURPOSES:
        for language in LANGUAGES:
            name = f"SDR_TEMPLATE_{purpose.upper()}_{language.upper().replace('-', '_')}"
            sid = reader.text(name)
            if sid is None:
                continue
            if not sid.startswith("HX"):
                raise ConfigError(f"{name} must be a Content SID starting with HX, got {sid!r}")
            templates[(purpose, language)] = sid
    return templates


def _scheduling(environ: Mapping[str, str]) -> SchedulingConfig:
    try:
        return SchedulingConfig.from_env(environ)
    except SchedulingConfigError as exc:
        raise ConfigError(str(exc)) from None


def _llm(environ: Mapping[str, str]) -> LlmSettings:
    try:
        return read_llm_settings(environ)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _handoff_format(reader: "_Reader") -> str:
    """slack or json; by default slack for Slack incoming-webhook URLs, json otherwise."""
    explicit = (reader.text("SDR_HANDOFF_WEBHOOK_FORMAT") or "").lower()
    if explicit and explicit not in ("slack", "json"):
        raise ConfigError(f"SDR_HANDOFF_WEBHOOK_FORMAT must be slack or json, got {explicit!r}")
    if explicit:
        return explicit
    return "slack" if "hooks.slack.com" in (reader.text("SDR_HANDOFF_WEBHOOK_URL") or "") else "json"


class _Reader:
    """Typed access to environment strings with errors that name the variable."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def text(self, name: str) -> str | None:
        value = self.env.get(name, "").strip()
        return value or None

    def flag(self, name: str) -> bool:
        return (self.text(name) or "").lower() in ("1", "true", "yes", "on")

    def positive_int(self, name: str, default: int) -> int:
        return int(self._number(name, default, int, lambda value: value > 0, "a whole number", "positive"))

    def positive_float(self, name: str, default: float) -> float:
        return self._number(name, default, float, lambda value: value > 0, "a number", "positive")

    def non_negative_int(self, name: str, default: int) -> int:
        return int(self._number(name, default, int, lambda value: value >= 0, "a whole number", "0 or more"))

    def parsed(self, name: str, parse: Callable[[str], _T], default: _T) -> _T:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            return parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{name}: {raw!r} is invalid ({exc})") from None

    def non_negative_float(self, name: str, default: float) -> float:
        return self._number(name, default, float, lambda value: value >= 0, "a number", "not negative")

    @overload
    def rate(self, name: str) -> float | None: ...

    @overload
    def rate(self, name: str, default: float) -> float: ...

    def rate(self, name: str, default: float | None = None) -> float | None:
        return self._number(name, default, float, lambda value: 0.0 <= value <= 1.0, "a number between 0 and 1",
                            "between 0 and 1")

    def _number(self, name: str, default: Any, parse: Callable[[str], Any], valid: Callable[[Any], bool],
                kind: str, rule: str) -> Any:
        """The variable parsed with `parse`, `default` when unset; errors name the variable and the rule."""
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = parse(raw)
        except ValueError:
            raise ConfigError(f"{name} must be {kind}, got {raw!r}") from None
        if not valid(value):
            raise ConfigError(f"{name} must be {rule}, got {value}")
        return value


def default_database_url() -> str:
    """The local SQLite file under the project's instance/ folder."""
    return f"sqlite:///{PROJECT_ROOT / 'instance' / 'sdr.db'}"


def normalise_database_url(url: str) -> str:
    """Accept Render/Heroku style URLs and pin PostgreSQL to psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError("DATABASE_URL is not a valid database URL") from None
    # Flask-SQLAlchemy would resolve a relative SQLite path against instance/; keep the
    # usual meaning (relative to the working directory) by making it absolute here.
    if parsed.drivername.startswith("sqlite") and parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database)
        if not path.is_absolute():
            url = parsed.set(database=str(Path.cwd() / path)).render_as_string(hide_password=False)
    return url


def _url_without_slash(url: str | None) -> str | None:
    return url.rstrip("/") if url else None
