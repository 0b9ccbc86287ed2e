"""Sentry around each web request, without the SDK's Flask integration: the sampling decision comes first.

The SDK's Flask integration opens, for every request, a session, a trace read from the request's
headers and a transaction, traced or not; that wrapper alone cost about a fifth of a message's CPU.
Here a request gets a scope of its own (so tags, the lead and breadcrumbs never reach another
request), and a transaction only when it is traced: a Twilio webhook draws its own coin (inbound
trace headers are not trusted from the public internet), other routes follow the SDK's sampler.
"""
from __future__ import annotations

import random
from typing import Any, Callable, Iterable, Mapping

import sentry_sdk
from flask import Flask, got_request_exception, request
from sentry_sdk.consts import OP
from sentry_sdk.tracing import Transaction, TransactionSource
from sentry_sdk.utils import event_from_exception

from . import telemetry
from .scrubbing import KEPT_ENV, KEPT_HEADERS

ORIGIN = "auto.http.sdr"
# The SDK's own choice of methods worth a transaction (HEAD and OPTIONS are probes).
TRACED_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def instrument_app(app: Flask) -> None:
    """Wrap the app's WSGI callable, name transactions by URL rule, report exceptions Flask handles."""
    app.wsgi_app = RequestTelemetry(app.wsgi_app)  # type: ignore[method-assign]
    app.before_request(_name_by_rule)
    # Flask turns an unhandled exception into a 500 itself; this signal is the one place to see it.
    got_request_exception.connect(_capture_request_exception, app)


class RequestTelemetry:
    """WSGI middleware: a fresh scope per request, and a transaction only for traced requests."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not telemetry.telemetry_enabled():
            return self.app(environ, start_response)
        # Forks the thread's scopes: what this request sets (tags, user, redactions) dies with it.
        with sentry_sdk.isolation_scope() as scope:
            scope.clear_breadcrumbs()
            scope.add_event_processor(_request_context(environ))
            transaction = _transaction_for(environ)
            if transaction is None:
                with telemetry.untraced_request():
                    return self.app(environ, start_response)
            with sentry_sdk.start_transaction(transaction, custom_sampling_context={"wsgi_environ": environ}):
                return self.app(environ, _recording_status(start_response, transaction))


def _transaction_for(environ: Mapping[str, Any]) -> Transaction | None:
    """The request's transaction, or None when it is not traced (nothing is then started at all)."""
    path = environ.get("PATH_INFO", "")
    if environ.get("REQUEST_METHOD", "").upper() not in TRACED_METHODS or telemetry.never_traced(path):
        return None
    if telemetry.untrusted_trace(path):
        # A public webhook: our own coin, a new trace; a caller's sentry-trace or baggage is ignored.
        if random.random() >= telemetry.sample_rate():
            return None
        return Transaction(op=OP.HTTP_SERVER, name=path, source=TransactionSource.URL, origin=ORIGIN, sampled=True)
    # Other routes (the dashboard) honour an upstream decision through the SDK's sampler.
    return sentry_sdk.continue_trace(_trace_headers(environ), op=OP.HTTP_SERVER, name=path,
                                     source=TransactionSource.URL, origin=ORIGIN)


def _trace_headers(environ: Mapping[str, Any]) -> dict[str, str]:
    return {name: environ[key] for name, key in (("sentry-trace", "HTTP_SENTRY_TRACE"), ("baggage", "HTTP_BAGGAGE"))
            if key in environ}


def _recording_status(start_response: Callable[..., Any], transaction: Transaction) -> Callable[..., Any]:
    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        try:
            transaction.set_http_status(int(status.split(" ", 1)[0]))
        except ValueError:
            pass
        return start_response(status, headers) if exc_info is None else start_response(status, headers, exc_info)

    return start


def _request_context(environ: Mapping[str, Any]) -> Callable[[Any, Any], Any]:
    """Event processor: method, URL, query and a few headers, built only when something is sent."""

    def add_request(event: Any, hint: Any) -> Any:
        if "request" not in event:
            # A transaction is one of thousands alike: its method and URL say which request it was. The
            # headers and server address are for the few error and warning events someone reads.
            event["request"] = (transaction_request(environ) if event.get("type") == "transaction"
                                else request_info(environ))
        return event

    return add_request


def transaction_request(environ: Mapping[str, Any]) -> dict[str, Any]:
    """A transaction's request: method and URL (with the query string when there is one)."""
    info = {"method": environ.get("REQUEST_METHOD", ""), "url": _url(environ)}
    if environ.get("QUERY_STRING"):
        info["query_string"] = environ["QUERY_STRING"]
    return info


def request_info(environ: Mapping[str, Any]) -> dict[str, Any]:
    """The request as Sentry shows it, already limited to what the scrubber would keep."""
    headers = {key[5:].replace("_", "-").title(): str(value) for key, value in environ.items()
               if key.startswith("HTTP_") and key[5:].replace("_", "-").lower() in KEPT_HEADERS}
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").title()] = str(environ[key])
    return {
        "method": environ.get("REQUEST_METHOD", ""),
        "url": _url(environ),
        "query_string": environ.get("QUERY_STRING", ""),
        "headers": headers,
        "env": {key: environ[key] for key in KEPT_ENV if key in environ},
    }


def _url(environ: Mapping[str, Any]) -> str:
    host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME', '')}:{environ.get('SERVER_PORT', '')}"
    path = f"{environ.get('SCRIPT_NAME', '').rstrip('/')}/{environ.get('PATH_INFO', '').lstrip('/')}"
    return f"{environ.get('wsgi.url_scheme', 'http')}://{host}{path}"


def _name_by_rule() -> None:
    """Name the request's transaction (and its errors) by URL rule, e.g. /admin/leads/<lead_id>."""
    if telemetry.telemetry_enabled() and request.url_rule is not None:
        sentry_sdk.get_current_scope().set_transaction_name(request.url_rule.rule, source=TransactionSource.ROUTE)


def _capture_request_exception(sender: Flask, exception: BaseException, **extra: Any) -> None:
    """An exception a view raised: reported as unhandled (the message's own report, if any, dedupes it)."""
    if not telemetry.telemetry_enabled():
        return
    event, hint = event_from_exception(exception, client_options=sentry_sdk.get_client().options,
                                       mechanism={"type": "flask", "handled": False})
    sentry_sdk.capture_event(event, hint=hint)
