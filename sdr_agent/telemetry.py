"""Sentry errors, traces, logs, metrics and cron check-ins; the only module that imports sentry_sdk.

Without SENTRY_DSN (or SENTRY_SPOTLIGHT in development) the SDK is never initialised and every
helper below returns at its first line. Everything sent passes through `sdr_agent.scrubbing`.
"""
from __future__ import annotations

import atexit
import logging
import os
import random
import re
import ssl
import subprocess
import threading
import time
import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator, Mapping
from urllib.parse import urlsplit

import certifi
import requests
import sentry_sdk
import sentry_sdk.client
import urllib3
from flask import Flask, request
from sentry_sdk import logger as sentry_logs
from sentry_sdk import metrics as sentry_metrics
from sentry_sdk.client import SDK_INFO
from sentry_sdk.consts import OP
from sentry_sdk.integrations.flask import FlaskIntegration
from sentry_sdk.integrations.modules import ModulesIntegration
from sentry_sdk.integrations.openai import OpenAIIntegration
from sentry_sdk.integrations.logging import LoggingIntegration, ignore_logger, ignore_logger_for_sentry_logs
from sentry_sdk.integrations.redis import RedisIntegration
from sentry_sdk.integrations.rq import RqIntegration
from sentry_sdk.integrations.sqlalchemy import SqlalchemyIntegration
from sentry_sdk.serializer import global_repr_processors
from sentry_sdk.scope import Scope, ScopeType, add_global_event_processor, use_isolation_scope, use_scope
from sentry_sdk.tracing import Span, Transaction
from sentry_sdk.transport import HttpTransport
from sentry_sdk.utils import format_timestamp
from werkzeug.exceptions import HTTPException

from sdr_agent.config import PROJECT_ROOT, Settings
from sdr_agent.envelope_upload import EnvelopeConnection
from sdr_agent.lean_transaction import trim_transaction
from sdr_agent.metric_tally import MetricTally
from sdr_agent.plain_serializer import fast_serializer
from sdr_agent.scrubbing import KnownValues, known_values, scrub_event, scrub_log, scrub_metric

log = logging.getLogger(__name__)

MESSAGE_OP = "sdr.message"
OUTBOUND_OP = "sdr.outbound"
INTEGRATION_OP = "sdr.integration"
DEFAULT_TRACES_SAMPLE_RATES = {"development": 1.0, "staging": 0.3, "production": 0.1}
UNTRACED_PATHS = frozenset({"/healthz", "/healthz/"})
UNTRACED_PREFIXES = ("/static/",)
# Twilio's webhooks are reachable by anyone: a sentry-trace or baggage header on them is not ours,
# so it neither decides sampling nor joins the request to someone else's trace.
UNTRUSTED_TRACE_PREFIXES = ("/twilio/",)
# Below gunicorn's graceful_timeout (8 s) so a worker drains its queue before it is killed.
SHUTDOWN_TIMEOUT_S = 5.0
TRANSPORT_COMPRESSION_LEVEL = 1
# After a failed upload (ingest down, refused, timed out), uploads pause this long.
UNREACHABLE_PAUSE_S = 1.0
# The web request or RQ job that carries a message becomes its transaction; both run in a
# scope of their own, so tags set there cannot leak into another message.
ADOPTED_OPS = frozenset({OP.HTTP_SERVER, OP.QUEUE_TASK_RQ})
# Phases that take well under a millisecond (a Redis GET, rendering TwiML): timed for the budget check
# (the slowest phase is named in its warning), but no span: each span is serialised, scrubbed and
# uploaded with every traced message, and these showed nothing the gaps between spans do not.
TIMED_ONLY_OPS = frozenset({"sdr.dedupe", "sdr.render"})
# twilio.http_client logs request headers and parameters at INFO; the access log is one line per
# request, health checks included. Neither is worth a breadcrumb or a Sentry log.
QUIET_LOGGERS = ("twilio.http_client", "gunicorn.access")
UNKNOWN = "unknown"
# Outcomes that are also an event (with the lead's stage trail as breadcrumbs); every outcome is a metric.
OUTCOME_EVENTS = frozenset({"disqualified", "handoff"})
_KNOWN_VALUES_HINT = "sdr_known_values"
_LEAD_ID = re.compile(r"[0-9a-f]{64}")
# Per-message counters are summed in the process and sent once per interval (and on flush and exit):
# one metric item per message cost more than the rest of an untraced message's telemetry together.
METRIC_INTERVAL_S = 10.0
_FALSE_WORDS = frozenset({"", "0", "false", "no", "off", "n", "f"})
_TRUE_WORDS = frozenset({"1", "true", "yes", "on", "y", "t"})


@dataclass
class _State:
    initialized: bool = False
    enabled: bool = False
    logs: bool = False
    sentry_netloc: str | None = None
    traces_rate: float = 0.0
    # What trimmed transactions keep: the SDK's name and version, and span threads (for profiling).
    sdk: dict[str, str] = field(default_factory=dict)
    span_threads: bool = True


_state = _State()
_init_lock = threading.Lock()
_atexit_registered = False
_trim_registered = False
_current_trace: ContextVar["MessageTrace | None"] = ContextVar("sdr_message_trace", default=None)
# True inside a web request the request wrapper (telemetry_web) decided not to trace: its message then
# starts no transaction of its own either.
_untraced_request: ContextVar[bool] = ContextVar("sdr_untraced_request", default=False)


def init_telemetry(settings: Settings, process: str) -> bool:
    """Initialise Sentry once per process ("web", "worker", "cli"); False when it stays off."""
    with _init_lock:
        if _state.initialized:
            return _state.enabled
        _state.initialized = True
        spotlight = _spotlight_option(settings)
        if not settings.sentry_dsn and spotlight is None:
            return False
        _state.sentry_netloc = urlsplit(settings.sentry_dsn).netloc.rpartition("@")[2] if settings.sentry_dsn else None
        sentry_sdk.init(**_sdk_options(settings, spotlight))
        sentry_sdk.get_global_scope().set_tag("process", process)
        for name in QUIET_LOGGERS:
            ignore_logger(name)
            ignore_logger_for_sentry_logs(name)
        _state.enabled = True
        _state.logs = settings.sentry_enable_logs
        _state.traces_rate = traces_sample_rate(settings)
        _flush_tally_at_exit()
        # The SDK's name and version as this client reports them (it names itself after an integration).
        _state.sdk = {key: SDK_INFO[key] for key in ("name", "version")}
        _state.span_threads = settings.sentry_profiles_sample_rate > 0
        _trim_transactions()
        return True


def _trim_transactions() -> None:
    global _trim_registered
    if not _trim_registered:
        # After the processors the SDK's integrations registered at init (runtime, argv); all of them run
        # before the event is serialised.
        add_global_event_processor(_trim)
        # The client calls its module's `serialize` on every event (SDK pinned at 2.75.0): plain
        # transactions take the fast path, everything else still reaches the SDK's serialiser.
        sentry_sdk.client.serialize = fast_serializer(sentry_sdk.client.serialize, format_timestamp,
                                                      global_repr_processors)
        _trim_registered = True


def _trim(event: Any, hint: Any) -> Any:
    return trim_transaction(event, _state.sdk, keep_threads=_state.span_threads)


def _flush_tally_at_exit() -> None:
    global _atexit_registered
    if not _atexit_registered:
        # Registered after the SDK's own exit handler, so it runs first: the sums go out with the last upload.
        atexit.register(_tally.flush)
        _atexit_registered = True


def set_process(process: str) -> None:
    """Re-tag this process (the worker command runs in an app first built as "web")."""
    if _state.enabled:
        sentry_sdk.get_global_scope().set_tag("process", process)


def telemetry_enabled() -> bool:
    """True once `init_telemetry` has started the SDK in this process."""
    return _state.enabled


def flush_telemetry(timeout_s: float = 2.0) -> None:
    """Wait up to `timeout_s` for queued events, logs and metrics to be sent (CLI commands, jobs)."""
    if _state.enabled:
        _tally.flush()
        sentry_sdk.flush(timeout=timeout_s)


def shutdown_telemetry(timeout_s: float = SHUTDOWN_TIMEOUT_S) -> None:
    """Flush, close the client and turn telemetry off; `init_telemetry` may then run again."""
    with _init_lock:
        if _state.enabled:
            _tally.flush()
            sentry_sdk.get_client().close(timeout=timeout_s)
            sentry_sdk.get_global_scope().set_client(None)
            sentry_sdk.get_global_scope().remove_tag("process")
        _state.initialized = False
        _state.enabled = False
        _state.logs = False
        _state.sentry_netloc = None
        _state.traces_rate = 0.0
        _tally.discard()


def _emit_count(name: str, value: float, attributes: dict[str, str]) -> None:
    # The sum of many messages' counts: sent from a scope of its own, so no one lead's user.id or trace
    # (whichever message happened to start the interval) is attached to it.
    if not _state.enabled:
        return
    with use_isolation_scope(Scope(ty=ScopeType.ISOLATION)), use_scope(Scope(ty=ScopeType.CURRENT)):
        sentry_metrics.count(name, value, attributes=attributes)


_tally = MetricTally(_emit_count, METRIC_INTERVAL_S)


def count(name: str, attributes: Mapping[str, str]) -> None:
    """Count one occurrence; sent as a `counter` metric summed over `METRIC_INTERVAL_S` per attribute set."""
    if _state.enabled:
        _tally.count(name, 1, attributes)


def sample_rate() -> float:
    """The share of new traces kept (0 while telemetry is off)."""
    return _state.traces_rate


def traces_sample_rate(settings: Settings) -> float:
    """SENTRY_TRACES_SAMPLE_RATE, else the default for SDR_ENV (development 1.0, staging 0.3, production 0.1)."""
    if settings.sentry_traces_sample_rate is not None:
        return settings.sentry_traces_sample_rate
    return DEFAULT_TRACES_SAMPLE_RATES[settings.env]


def _sdk_options(settings: Settings, spotlight: bool | str | None) -> dict[str, Any]:
    options: dict[str, Any] = {
        # An empty DSN (Spotlight only) keeps the SDK from reading SENTRY_DSN behind our back.
        "dsn": settings.sentry_dsn or "",
        "environment": settings.sentry_environment,
        "release": settings.sentry_release or _git_sha(),
        "sample_rate": 1.0,
        "traces_sampler": _make_traces_sampler(traces_sample_rate(settings)),
        # No sentry-trace/baggage headers on outgoing requests: Twilio and webhooks are not ours.
        "trace_propagation_targets": [],
        "shutdown_timeout": SHUTDOWN_TIMEOUT_S,
        "max_request_body_size": "never",
        "include_local_variables": False,
        "in_app_include": ["sdr_agent"],
        # Off unless SENTRY_ENABLE_LOGS=1: a log record per stage change was the largest single
        # per-message cost of the SDK; breadcrumbs and metrics carry the same trail.
        "enable_logs": settings.sentry_enable_logs,
        "before_send": _before_send,
        "before_send_transaction": _before_send,
        "before_breadcrumb": _before_breadcrumb,
        "before_send_log": _before_send_log,
        "before_send_metric": _before_send_metric,
        # Explicit False: with None the SDK would read SENTRY_SPOTLIGHT itself, in any environment.
        "spotlight": False if spotlight is None else spotlight,
        # Per-statement and per-command spans and breadcrumbs cost every request (traced or not) more
        # than the rest of the SDK together (docs/benchmarks.md); the sdr.* spans time the same phases.
        # The module list attached to every error event is read from disk once per worker, mid-traffic.
        # The OpenAI integration would record the model calls a second time, from the call's worker thread:
        # the gen_ai spans are ours (understanding/), and prompts and completions are never recorded.
        # The Flask integration's request wrapper (a session, a trace and a transaction for every request,
        # traced or not) is replaced by telemetry_web's, which decides on sampling before doing anything.
        "disabled_integrations": [SqlalchemyIntegration(), RedisIntegration(), ModulesIntegration(),
                                  OpenAIIntegration(), FlaskIntegration()],
        # gzip level 1 instead of the SDK's 9: a few percent larger uploads for a fraction of the CPU.
        "_experiments": {"transport_compression_level": TRANSPORT_COMPRESSION_LEVEL},
        "transport": BackingOffTransport,
        "integrations": [
            RqIntegration(),
            # Python logging: breadcrumbs from INFO, error events from ERROR, Sentry logs from WARNING
            # when logs are on (our own structured logs go through sentry_sdk.logger at any level).
            LoggingIntegration(level=logging.INFO, event_level=logging.ERROR,
                               sentry_logs_level=logging.WARNING if settings.sentry_enable_logs else None),
        ],
    }
    if settings.sentry_profiles_sample_rate > 0:
        # Transaction-based profiling (profiles_sample_rate) is deprecated in this SDK; continuous
        # profiling in "trace" lifecycle samples this fraction of processes while they trace.
        options["profile_session_sample_rate"] = settings.sentry_profiles_sample_rate
        options["profile_lifecycle"] = "trace"
    return options


class BackingOffTransport(HttpTransport):
    """The SDK's HTTP transport: lean uploads, one connection attempt per upload, a pause after a failed one."""

    def __init__(self, options: dict[str, Any]) -> None:
        super().__init__(options)
        # Straight to the ingest over one kept-alive socket (sdr_agent.envelope_upload): a tenth of the CPU
        # of urllib3 plus the SDK's instrumentation of its own request. Through a proxy or with a client
        # certificate the SDK's urllib3 path stays.
        direct = not isinstance(self._pool, urllib3.ProxyManager) and not (options.get("cert_file")
                                                                          or options.get("key_file"))
        self._upload = EnvelopeConnection(self.TIMEOUT, _ssl_context(options)) if direct else None

    def _request(self, method: str, endpoint_type: Any, body: Any, headers: Mapping[str, str]) -> Any:
        if self._upload is None or method != "POST":
            return super()._request(method, endpoint_type, body, headers)
        return self._upload.post(self._auth.get_api_url(endpoint_type), body, headers)

    def kill(self) -> None:
        super().kill()
        if self._upload is not None:
            self._upload.close()

    def _get_pool_options(self) -> dict[str, Any]:
        # urllib3 retries a refused connection three times at once, each with a WARNING line: with the
        # ingest down every upload cost four attempts and three log lines in the worker. An ingest that
        # refused one attempt refuses the next a millisecond later; what is not sent is dropped.
        return {**super()._get_pool_options(), "retries": False}

    def _send_request(self, *args: Any, **kwargs: Any) -> None:
        try:
            super()._send_request(*args, **kwargs)
        except Exception:
            # As after a 429: for a moment uploads are dropped before they are serialised, instead of
            # every message's envelope being gzipped for an ingest that cannot be reached.
            resume = datetime.now(timezone.utc) + timedelta(seconds=UNREACHABLE_PAUSE_S)
            self._disabled_until[None] = max(self._disabled_until.get(None, resume), resume)
            raise


def _ssl_context(options: Mapping[str, Any]) -> ssl.SSLContext:
    # The certificates the SDK's own transport trusts: SENTRY's ca_certs option, else certifi's bundle.
    return ssl.create_default_context(cafile=options.get("ca_certs") or certifi.where())


def _spotlight_option(settings: Settings) -> bool | str | None:
    raw = os.environ.get("SENTRY_SPOTLIGHT", "").strip()
    if raw.lower() in _FALSE_WORDS:
        return None
    if not settings.is_development:
        log.warning("SENTRY_SPOTLIGHT is ignored outside development")
        return None
    return True if raw.lower() in _TRUE_WORDS else raw


def _git_sha() -> str | None:
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True,
                                text=True, timeout=2, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None


def _make_traces_sampler(rate: float) -> Callable[[Mapping[str, Any]], float]:
    def sampler(context: Mapping[str, Any]) -> float:
        environ = context.get("wsgi_environ") or {}
        name = (context.get("transaction_context") or {}).get("name") or ""
        for target in (environ.get("PATH_INFO", ""), name):
            if never_traced(target):
                return 0.0
        if untrusted_trace(environ.get("PATH_INFO", "")):
            # Our own coin, not the SDK's comparison with the caller's baggage `sample_rand`,
            # which the caller could set to 0 to force tracing.
            return 1.0 if random.random() < rate else 0.0
        parent_sampled = context.get("parent_sampled")
        if parent_sampled is not None:
            # Whoever started the trace upstream already decided; a partial trace helps no one.
            return 1.0 if parent_sampled else 0.0
        return rate

    return sampler


def untrusted_trace(path: str) -> bool:
    """True for the public webhooks, whose trace headers anyone could have written."""
    return path.startswith(UNTRUSTED_TRACE_PREFIXES)


def never_traced(path: str) -> bool:
    """True for health checks and static files."""
    return path in UNTRACED_PATHS or path.startswith(UNTRACED_PREFIXES)


@contextmanager
def untraced_request() -> Iterator[None]:
    """Mark the web request running inside as not traced: its message starts no transaction."""
    token = _untraced_request.set(True)
    try:
        yield
    finally:
        _untraced_request.reset(token)


def _known(hint: Any = None) -> KnownValues | None:
    # Events carry their message's (or request's) known values in the hint (_add_known_to_hint).
    if isinstance(hint, dict) and hint.get(_KNOWN_VALUES_HINT) is not None:
        return hint[_KNOWN_VALUES_HINT]
    trace = _current_trace.get()
    return trace.known_values if trace is not None else None


def _add_known_to_hint(event: Any, hint: Any, known: KnownValues | None) -> Any:
    """Event processor body: hand `known` to `before_send`, on top of what other processors handed over."""
    if known is not None:
        hint[_KNOWN_VALUES_HINT] = known.merged(hint.get(_KNOWN_VALUES_HINT))
    return event


def never_send(*values: str | None) -> None:
    """Keep these values (a search term, the lead an operator opened) out of everything this web request sends."""
    if not _state.enabled:
        return
    trace = _current_trace.get()
    if trace is not None and trace.enabled:
        trace.redact(*values)
        return
    known = known_values(values)
    if known is not None:
        # The request's own isolation scope (telemetry_web forks one per request): dropped with the
        # request, never seen by another.
        sentry_sdk.get_isolation_scope().add_event_processor(
            lambda event, hint: _add_known_to_hint(event, hint, known))


@contextmanager
def job_scope() -> Iterator[None]:
    """Run one background job with none of the breadcrumbs of the jobs before it."""
    if not _state.enabled:
        yield
        return
    # A worker runs job after job in one thread, and breadcrumbs (an httplib URL, a log line) land on
    # its one isolation scope: each job's would be attached to the next lead's events. The scope is
    # emptied in place, not forked: forking would also fork the current scope, which holds the RQ
    # job's transaction, sent after the job returns with the lead set on it.
    scope = sentry_sdk.get_isolation_scope()
    scope.clear_breadcrumbs()
    try:
        yield
    finally:
        scope.clear_breadcrumbs()


def _is_sentry_request(url: object) -> bool:
    # The SDK recognises its own uploads by host only, so with a DSN that names a port
    # (self-hosted Sentry, local stand-ins) every upload would show up as a span or breadcrumb.
    return _state.sentry_netloc is not None and isinstance(url, str) and _state.sentry_netloc in url


def _before_send(event: Any, hint: Any) -> Any:
    spans = event.get("spans")
    if isinstance(spans, list):
        event["spans"] = [span for span in spans
                          if not (span.get("op") == OP.HTTP_CLIENT and _is_sentry_request(span.get("description")))]
    return scrub_event(event, _known(hint))


def _before_breadcrumb(crumb: Any, hint: Any) -> Any:
    if crumb.get("category") == "httplib" and _is_sentry_request((crumb.get("data") or {}).get("url")):
        return None
    # Kept as recorded: a breadcrumb leaves the process only inside an event, and `_before_send`
    # scrubs the event's breadcrumbs with the same message's (request's) known values. Most turns
    # send no event, so scrubbing here was work thrown away.
    return crumb


def _before_send_log(record: Any, hint: Any) -> Any:
    return scrub_log(record, _known())


def _before_send_metric(metric: Any, hint: Any) -> Any:
    return scrub_metric(metric, _known())


class TelemetrySpan:
    """A child span handed to callers; values given to `set_data` are scrubbed before storing."""

    def __init__(self, span: Span | None, trace: "MessageTrace | None") -> None:
        self._span = span
        self._trace = trace

    def set_data(self, key: str, value: Any) -> None:
        """Attach one non-personal value (stage, language, flow version, counts) to the span."""
        if self._span is not None:
            # Scrubbed with the whole transaction in `_before_send`, with the message's known values.
            self._span.set_data(key, value)


_NO_SPAN = TelemetrySpan(None, None)


class MessageTrace:
    """Telemetry for one inbound message or voice turn; every method is a no-op when telemetry is off."""

    def __init__(self, channel: str, name: str, budget_ms: int | None, scope: sentry_sdk.Scope | None) -> None:
        self.channel = channel
        self.name = name
        self.budget_ms = budget_ms
        self.stage: str | None = None
        self.language: str | None = None
        self.flow_version: str | None = None
        self._known: KnownValues | None = None
        self._known_stale = False
        self._scope = scope
        self._started = time.monotonic()
        self._spans: list[tuple[str, str, float]] = []
        self._sensitive: list[str] = []

    def _hand_over_redactions(self, event: Any, hint: Any) -> Any:
        # Event processor: a web request's transaction is sent after the message's context has
        # ended, so the redactions travel to `before_send` in the event's hint.
        return _add_known_to_hint(event, hint, self.known_values)

    @property
    def enabled(self) -> bool:
        """Whether anything is recorded for this message."""
        return self._scope is not None

    def elapsed_ms(self) -> float:
        """Milliseconds since the message started processing."""
        return (time.monotonic() - self._started) * 1000

    def annotate(self, *, stage: str | None = None, language: str | None = None,
                 flow_version: str | None = None) -> None:
        """Record the lead's current stage, language and the flow version on everything sent."""
        if self._scope is None:
            return
        if stage is not None:
            self.stage = stage
            self._scope.set_tag("stage", stage)
        if language is not None:
            self.language = language
            self._scope.set_tag("language", language)
        if flow_version is not None:
            self.flow_version = flow_version
        self._scope.set_context("conversation", _present({"channel": self.channel, "flow_version": self.flow_version}))

    def set_lead(self, lead_id: str) -> None:
        """Set user.id to the lead's phone hash (`phone.phone_hash`, 64 hex characters)."""
        if self._scope is None:
            return
        if _LEAD_ID.fullmatch(lead_id) is None:
            # Anything else could be the phone number itself.
            log.warning("telemetry: ignoring a lead id that is not a phone hash")
            return
        self._scope.set_user({"id": lead_id})

    def set_status(self, status: str) -> None:
        """The transaction's status (ok, cancelled, unavailable, internal_error…), for failure-rate alerts."""
        if self._scope is None or self._scope.transaction is None:
            return
        self._scope.transaction.set_status(status)

    def redact(self, *values: str | None) -> None:
        """Never send these literal values (phone, profile name, message text, answers) while traced."""
        if self._scope is None:
            return
        self._sensitive.extend(value for value in values if value)
        self._known_stale = True  # built when something is about to be sent, not on every call

    @property
    def known_values(self) -> KnownValues | None:
        """Every value registered with `redact` (built on first use)."""
        if self._known_stale:
            self._known = known_values(self._sensitive)
            self._known_stale = False
        return self._known

    @contextmanager
    def span(self, op: str, description: str | None = None, **data: Any) -> Iterator[TelemetrySpan]:
        """A timed child span (op like sdr.lock, sdr.engine, sdr.persist) carrying non-personal data."""
        if self._scope is None:
            yield _NO_SPAN
            return
        started = time.monotonic()
        try:
            if op in TIMED_ONLY_OPS or not self._sampled():
                yield _NO_SPAN  # nothing of an unsampled transaction is sent: timed for the budget check only
                return
            parent = self._scope.span  # not None: sampled
            # A child of the current span, as sentry_sdk.start_span would make, without the scope it forks.
            with parent.start_child(op=op, name=description or op) as sdk_span:  # type: ignore[union-attr]
                handle = TelemetrySpan(sdk_span, self)
                # Channel, stage, language and flow version are the transaction's tags and context, which
                # Sentry shows with every span; repeating them in each span's data only made it bigger.
                for key, value in data.items():
                    handle.set_data(key, value)
                yield handle
        finally:
            self._record_span(op, description or op, (time.monotonic() - started) * 1000)

    def stage_changed(self, from_stage: str | None, to_stage: str, seconds_in_previous: float | None,
                      channel: str | None = None, language: str | None = None) -> None:
        """Breadcrumb (with the time spent at the stage left) and the `sdr.stage.entered` metric for a stage
        transition, and a Sentry log when logs are on."""
        if self._scope is None:
            return
        channel = channel or self.channel
        self.annotate(stage=to_stage, language=language)
        language = self.language
        self._scope.add_breadcrumb(
            category="qualification.stage", level="info", message=f"{from_stage} -> {to_stage}",
            data={"from": from_stage, "to": to_stage, "duration_s": seconds_in_previous},
        )
        if _state.logs:
            attributes = _present({"channel": channel, "language": language, "flow.version": self.flow_version,
                                   "stage.previous_duration_s": seconds_in_previous})
            sentry_logs.info("Lead moved from {from_stage} to {to_stage}", from_stage=from_stage or "none",
                             to_stage=to_stage, attributes=attributes)
        # One metric per change: the funnel. How long leads stay at a stage is in the breadcrumb (and in
        # the database's stage events); a second metric per change cost as much as the rest of the trail.
        count("sdr.stage.entered", _present({"stage": to_stage, "channel": channel, "language": language}))

    def outcome(self, outcome: str) -> None:
        """Terminal outcome: tag and `sdr.lead.outcome` metric; an info event too for disqualified and handoff."""
        if self._scope is None:
            return
        self._scope.set_tag("outcome", outcome)
        count("sdr.lead.outcome", {"outcome": outcome, "channel": self.channel})
        if outcome in OUTCOME_EVENTS:
            # The outcomes someone may want to read a lead's trail for; the rest are counted only.
            sentry_sdk.capture_message("Lead qualification outcome", level="info", tags={"outcome": outcome},
                                       fingerprint=["qualification-outcome", outcome])

    def _sampled(self) -> bool:
        current = self._scope.span if self._scope is not None else None
        return current is not None and bool(current.sampled)

    def _record_span(self, op: str, description: str, duration_ms: float) -> None:
        self._spans.append((op, description, duration_ms))

    def _check_budget(self) -> None:
        elapsed = self.elapsed_ms()
        if self.budget_ms is None or elapsed <= self.budget_ms:
            return
        extras: dict[str, Any] = {"duration_ms": round(elapsed), "budget_ms": self.budget_ms}
        tags = {"budget_exceeded": "true"}
        if self._spans:
            op, description, duration = max(self._spans, key=lambda span: span[2])
            extras.update(slowest_span_op=op, slowest_span_description=description,
                          slowest_span_ms=round(duration))
            tags["slowest_span"] = op
        if self._scope is not None:
            self._scope.set_tag("budget_exceeded", "true")
        sentry_sdk.capture_message("Message processing exceeded budget", level="warning", tags=tags,
                                   extras=extras,
                                   fingerprint=["processing-budget", self.channel])


@contextmanager
def message_trace(channel: str, name: str, *, budget_ms: int | None = None, stage: str | None = None,
                  language: str | None = None, flow_version: str | None = None,
                  op: str = MESSAGE_OP) -> Iterator[MessageTrace]:
    """One transaction (op sdr.message, name e.g. whatsapp.inbound or voice.turn) per inbound message;
    background work passes its own op (e.g. sdr.outbound)."""
    if not _state.enabled:
        yield MessageTrace(channel, name, budget_ms, None)
        return
    scope = sentry_sdk.get_current_scope()
    request_transaction = scope.transaction
    if (isinstance(request_transaction, Transaction) and request_transaction.op in ADOPTED_OPS
            and request_transaction.timestamp is None):
        # Flask (or RQ) already opened a transaction for this request: it becomes the message's
        # transaction instead of a second one nested inside it.
        request_transaction.op = op
        scope.set_transaction_name(name, source="custom")
        with _activate(channel, name, budget_ms, scope, stage, language, flow_version) as trace:
            yield trace
        return
    if _untraced_request.get():
        # The web request was not sampled and has a scope of its own: the message lives in it,
        # without a transaction (and so without spans), but its errors carry its tags and redactions.
        with _activate(channel, name, budget_ms, scope, stage, language, flow_version) as trace:
            yield trace
        return
    with sentry_sdk.isolation_scope():
        with sentry_sdk.start_transaction(op=op, name=name, source="custom"):
            with _activate(channel, name, budget_ms, sentry_sdk.get_current_scope(), stage, language,
                           flow_version) as trace:
                yield trace


@contextmanager
def _activate(channel: str, name: str, budget_ms: int | None, scope: sentry_sdk.Scope, stage: str | None,
              language: str | None, flow_version: str | None) -> Iterator[MessageTrace]:
    trace = MessageTrace(channel, name, budget_ms, scope)
    token = _current_trace.set(trace)
    try:
        scope.set_tag("channel", channel)
        scope.add_event_processor(trace._hand_over_redactions)
        trace.annotate(stage=stage, language=language, flow_version=flow_version)
        yield trace
    except Exception as exc:
        # Reported here, inside the message's scope, so it carries the message's tags and
        # redactions; the SDK's dedupe then drops the request wrapper's report of the same
        # exception. HTTP errors below 500 are answers, not failures.
        if not (isinstance(exc, HTTPException) and (exc.code or 500) < 500):
            capture_error(exc, trace.stage, trace.channel)
        raise
    finally:
        trace._check_budget()
        _current_trace.reset(token)


def capture_error(exc: BaseException, stage: str | None, channel: str | None) -> str | None:
    """Report an exception, grouped by Sentry's stack-based default; stage and channel are tags."""
    if not _state.enabled:
        return None
    return sentry_sdk.capture_exception(exc, tags=_present({"stage": stage, "channel": channel}))


def is_timeout(exc: BaseException) -> bool:
    """True for socket, requests and urllib3 timeouts (Twilio's client raises requests'), or one as the cause."""
    current: BaseException | None = exc
    for _ in range(5):
        if current is None:
            return False
        # urllib3 2 makes a refused connection a subclass of ConnectTimeoutError; it is not a timeout.
        if isinstance(current, urllib3.exceptions.NewConnectionError):
            return False
        if isinstance(current, (TimeoutError, requests.exceptions.Timeout, urllib3.exceptions.TimeoutError)):
            return True
        current = current.__cause__
    return False


@contextmanager
def external_call(integration: str, *, timeout_s: float | None = None,
                  operation: str | None = None) -> Iterator[TelemetrySpan]:
    """Span and failure report around one call to Twilio, the CRM or a webhook (or a decorator); re-raises."""
    if not _state.enabled:
        yield _NO_SPAN
        return
    trace = _current_trace.get()
    description = f"{integration} {operation}" if operation else integration
    started = time.monotonic()
    failure: Exception | None = None
    with sentry_sdk.start_span(op=INTEGRATION_OP, name=description) as span:
        span.set_data("integration", integration)
        if timeout_s is not None:
            span.set_data("timeout_s", timeout_s)
        try:
            yield TelemetrySpan(span, trace)
        except Exception as exc:
            failure = exc
            elapsed_ms = (time.monotonic() - started) * 1000
            if is_timeout(exc):
                span.set_status("deadline_exceeded")
                _report_timeout(integration, timeout_s, operation, elapsed_ms, exc)
            else:
                span.set_status("internal_error")
                sentry_sdk.capture_exception(exc, tags={"integration": integration},
                                             fingerprint=["external-error", integration, type(exc).__name__])
        finally:
            if trace is not None:
                trace._record_span(INTEGRATION_OP, description, (time.monotonic() - started) * 1000)
    if failure is not None:
        # Raised after the span closed so the SDK keeps our span status; the caller may retry.
        raise failure


def _report_timeout(integration: str, timeout_s: float | None, operation: str | None, elapsed_ms: float,
                    exc: BaseException) -> None:
    sentry_sdk.capture_message(
        "External call timeout", level="warning",
        tags={"integration": integration, "timeout": f"{timeout_s:g}s" if timeout_s is not None else UNKNOWN},
        extras=_present({"operation": operation, "elapsed_ms": round(elapsed_ms),
                         "exception_type": type(exc).__name__}),
        fingerprint=["external-timeout", integration],
    )


def lock_wait_exceeded(waited_ms: float, stage: str | None, *, timeout_ms: float | None = None) -> None:
    """Warning: a message waited too long for its lead's lock (`stage`: where the lead was before the turn)."""
    if not _state.enabled:
        return
    trace = _current_trace.get()
    channel = trace.channel if trace is not None else UNKNOWN
    sentry_sdk.capture_message(
        "Lead lock wait exceeded", level="warning", tags={"stage": stage or UNKNOWN, "channel": channel},
        extras=_present({"waited_ms": round(waited_ms), "timeout_ms": timeout_ms}),
        fingerprint=["lock-wait", channel],
    )


def delivery_failed(integration: str, failure: str, purpose: str, attempts: int, reason: str | None) -> None:
    """Error: an outbox item was given up on (a hand-off that never reaches a person, a CRM that never hears)."""
    if not _state.enabled:
        return
    sentry_sdk.capture_message(
        "Outbound delivery failed", level="error",
        tags={"integration": integration, "failure": failure, "purpose": purpose},
        extras=_present({"attempts": attempts, "reason": reason}),
        # One issue per integration and failure kind, whatever the lead or the attempt count.
        fingerprint=["delivery-failed", integration, failure],
    )


def whatsapp_window_closed(purpose: str, language: str | None) -> None:
    """Warning: a WhatsApp send was skipped, the 24-hour window closed and no template for it exists."""
    if not _state.enabled:
        return
    sentry_sdk.capture_message(
        "WhatsApp send skipped: window closed, no template", level="warning",
        tags={"purpose": purpose, "language": language or UNKNOWN},
        fingerprint=["whatsapp-window-closed", purpose, language or UNKNOWN],
    )


def message_undelivered(status: str, error_code: str | None, lead_id: str | None) -> None:
    """Error: Twilio reported an outbound message failed or undelivered (with its ErrorCode)."""
    if not _state.enabled:
        return
    with sentry_sdk.new_scope() as scope:
        if lead_id is not None and _LEAD_ID.fullmatch(lead_id):
            scope.set_user({"id": lead_id})
        code = error_code or UNKNOWN
        sentry_sdk.capture_message(
            "WhatsApp message not delivered", level="error",
            tags={"status": status, "error_code": code, "channel": "whatsapp"},
            fingerprint=["message-undelivered", code],
        )


def signature_refused(route: str, validated_url: str, refusals: int, warn: bool) -> None:
    """`sdr.webhook.signature_refused` metric; with `warn`, one warning naming the URL that was validated."""
    if not _state.enabled:
        return
    count("sdr.webhook.signature_refused", {"route": route})
    if warn:
        sentry_sdk.capture_message(
            "Twilio signature refused", level="warning", tags={"route": route},
            # Only the URL the signature was checked against: a wrong PUBLIC_BASE_URL shows at a glance.
            extras={"validated_url": validated_url, "refusals": refusals},
            fingerprint=["signature-refused", route],
        )


def _current_scope() -> sentry_sdk.Scope:
    """The scope of the message being traced, else the request's isolation scope."""
    trace = _current_trace.get()
    return trace._scope if trace is not None and trace._scope is not None else sentry_sdk.get_isolation_scope()


def no_speech(stage: str | None) -> None:
    """A voice turn with no usable speech: warning breadcrumb and `sdr.voice.no_speech` metric."""
    if not _state.enabled:
        return
    scope = _current_scope()
    scope.add_breadcrumb(category="voice.no_speech", level="warning", message="No speech detected",
                         data={"stage": stage})
    count("sdr.voice.no_speech", {"stage": stage or UNKNOWN})


def message_throttled(notice: bool, stage: str | None) -> None:
    """A message over its lead's rate limit, stored unprocessed: breadcrumb and `sdr.message.throttled` metric."""
    if not _state.enabled:
        return
    scope = _current_scope()
    scope.set_tag("throttled", "notice" if notice else "quiet")
    scope.add_breadcrumb(category="rate_limit", level="warning", message="Message over the rate limit",
                         data={"notice": notice, "stage": stage})
    count("sdr.message.throttled", {"notice": "yes" if notice else "no", "stage": stage or UNKNOWN})


def question_asked(answered: bool, stage: str | None, channel: str) -> None:
    """A lead's question: `sdr.question.asked` metric, answered from the knowledge or noted; never its text."""
    if not _state.enabled:
        return
    count("sdr.question.asked", {"result": "answered" if answered else "noted", "stage": stage or UNKNOWN,
                                 "channel": channel})


AGENT_OP = "gen_ai.invoke_agent"
CHAT_OP = "gen_ai.chat"
TOOL_OP = "gen_ai.execute_tool"
AGENT_NAME = "sdr-understanding"


class AgentSpan:
    """The model-assisted part of a turn; its calls and tools become child spans (never prompts or completions)."""

    def __init__(self, span: Span | None) -> None:
        self._span = span

    def chat(self, model: str, started: float, ended: float, *, input_tokens: int | None = None,
             output_tokens: int | None = None, finish_reason: str | None = None, failure: str | None = None) -> None:
        """One gen_ai.chat child (model, tokens, finish reason) between two wall-clock times."""
        if self._span is None:
            return
        child = self._span.start_child(op=CHAT_OP, name=f"chat {model}",
                                       start_timestamp=datetime.fromtimestamp(started, timezone.utc))
        data = _present({"gen_ai.operation.name": "chat", "gen_ai.system": "openai", "gen_ai.request.model": model,
                         "gen_ai.usage.input_tokens": input_tokens, "gen_ai.usage.output_tokens": output_tokens,
                         "gen_ai.usage.total_tokens": (input_tokens or 0) + (output_tokens or 0)
                         if input_tokens is not None or output_tokens is not None else None,
                         "gen_ai.response.finish_reasons": [finish_reason] if finish_reason else None,
                         "error.type": failure})
        for key, value in data.items():
            child.set_data(key, value)
        if failure is not None:
            child.set_status("deadline_exceeded" if failure == "timeout" else "internal_error")
        child.finish(end_timestamp=datetime.fromtimestamp(ended, timezone.utc))

    def tool(self, name: str) -> None:
        """A gen_ai.execute_tool child for one thing the turn did on the model's word (set_slot, question…)."""
        if self._span is None:
            return
        with self._span.start_child(op=TOOL_OP, name=f"execute_tool {name}") as child:
            child.set_data("gen_ai.operation.name", "execute_tool")
            child.set_data("gen_ai.tool.name", name)


@contextmanager
def ai_agent(model: str, started: float | None = None) -> Iterator[AgentSpan]:
    """A gen_ai.invoke_agent span around the model-assisted part of the current turn (a no-op untraced).

    `started` (wall-clock seconds) backdates the span to when the model was first asked, for a turn that
    asked it before its transaction and records the calls afterwards.
    """
    trace = _current_trace.get()
    if not _state.enabled or trace is None or not trace._sampled():
        yield AgentSpan(None)
        return
    began = started if started is not None else time.time()
    with sentry_sdk.start_span(op=AGENT_OP, name=f"invoke_agent {AGENT_NAME}",
                               start_timestamp=datetime.fromtimestamp(began, timezone.utc)) as span:
        for key, value in {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": AGENT_NAME,
                           "gen_ai.system": "openai", "gen_ai.request.model": model}.items():
            span.set_data(key, value)
        try:
            yield AgentSpan(span)
        finally:
            trace._record_span(AGENT_OP, AGENT_NAME, (time.time() - began) * 1000)


def ai_usage(model: str, input_tokens: int | None, output_tokens: int | None, stage: str | None,
             channel: str, cost_usd: float | None = None) -> None:
    """`sdr.llm.calls`, `sdr.llm.tokens` (by kind) and, with prices set, `sdr.llm.cost` metrics per stage."""
    if not _state.enabled:
        return
    attributes = {"model": model, "stage": stage or UNKNOWN, "channel": channel}
    sentry_metrics.count("sdr.llm.calls", 1, attributes=attributes)
    for kind, tokens in (("input", input_tokens), ("output", output_tokens)):
        if tokens:
            sentry_metrics.count("sdr.llm.tokens", tokens, attributes={**attributes, "kind": kind})
    if cost_usd is not None:
        sentry_metrics.distribution("sdr.llm.cost", cost_usd, unit="usd", attributes=attributes)


def ai_fallback(reason: str, stage: str | None, channel: str) -> None:
    """Warning "Language model timeout" / "Language model failure" (reason as a tag) and `sdr.llm.fallback`."""
    if not _state.enabled:
        return
    tags = {"reason": reason, "stage": stage or UNKNOWN, "channel": channel}
    sentry_metrics.count("sdr.llm.fallback", 1, attributes=tags)
    title = "Language model timeout" if reason == "timeout" else "Language model failure"
    sentry_sdk.capture_message(title, level="warning", tags=tags, fingerprint=["llm-fallback", reason])


def thread_reset(reason: str, thread_age_s: float, stage: str | None, error: BaseException | None = None, *,
                 lead_id: str | None = None, channel: str | None = None) -> None:
    """Info event "Conversation thread reset" tagged with the reason (the error itself is its own error event).

    Outside a message (the sweep) pass the lead's phone hash and the thread's channel.
    """
    if not _state.enabled:
        return
    tags = _present({"reason": reason, "stage": stage, "channel": channel})
    extras = _present({"thread_age_s": round(thread_age_s, 1), "stage": stage,
                       "exception_type": type(error).__name__ if error is not None else None})
    with sentry_sdk.new_scope() as scope:
        if lead_id is not None and _LEAD_ID.fullmatch(lead_id):
            scope.set_user({"id": lead_id})
        sentry_sdk.capture_message("Conversation thread reset", level="info", tags=tags, extras=extras,
                                   fingerprint=["thread-reset", reason])


@contextmanager
def monitor_job(slug: str, *, schedule: str | None = None, max_runtime_min: int | None = None,
                checkin_margin_min: int | None = None) -> Iterator[None]:
    """Cron check-ins (in progress, then ok or error) around a scheduled job; also a decorator."""
    if not _state.enabled:
        yield
        return
    config: dict[str, Any] = {}
    if schedule is not None:
        # Sending the schedule creates or updates the monitor in Sentry on the first check-in.
        config["schedule"] = {"type": "crontab", "value": schedule}
    if max_runtime_min is not None:
        config["max_runtime"] = max_runtime_min
    if checkin_margin_min is not None:
        config["checkin_margin"] = checkin_margin_min
    with sentry_sdk.monitor(monitor_slug=slug, monitor_config=config or None):
        yield


def _present(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
