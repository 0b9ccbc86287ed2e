"""Transactions cut down to what an engineer reads, before the SDK serialises them node by node.

The SDK serialises every event on the request thread, one node at a time (about 6 µs each), and the
scrubber then walks the result again: a traced message's transaction was about 130 nodes, half of
them defaults nobody reads on a transaction (the thread of every span, the runtime, `sys.argv`, the
SDK's list of integrations, span fields that only repeat the protocol's defaults). Error and
message events are left whole.
"""
from __future__ import annotations

from typing import Any, Mapping

THREAD_KEYS = ("thread.id", "thread.name")
# Span fields whose value is the protocol's default: Sentry reads a missing one the same way.
DEFAULT_SPAN_FIELDS = (("same_process_as_parent", True), ("origin", "manual"))


def trim_transaction(event: Any, sdk: Mapping[str, str], keep_threads: bool) -> Any:
    """Event processor body: drop the defaults from a transaction (any other event is returned untouched).

    `sdk` replaces the SDK's own block (name, version, every integration and package); `keep_threads`
    keeps each span's thread, which continuous profiling needs to attach samples to spans.
    """
    if event.get("type") != "transaction":
        return event
    if sdk:
        event["sdk"] = dict(sdk)
    contexts = event.get("contexts")
    if isinstance(contexts, dict):
        contexts.pop("runtime", None)
        trace = contexts.get("trace")
        if isinstance(trace, dict):
            _drop_none(trace, ("parent_span_id", "description"))
            if not keep_threads:
                _drop_threads(trace)
    extra = event.get("extra")
    if isinstance(extra, dict):
        extra.pop("sys.argv", None)
        if not extra:
            del event["extra"]
    if not event.get("measurements"):
        event.pop("measurements", None)
    spans = event.get("spans")
    if isinstance(spans, list):
        for span in spans:
            if isinstance(span, dict):
                _trim_span(span, keep_threads)
    return event


def _trim_span(span: dict[str, Any], keep_threads: bool) -> None:
    for key, default in DEFAULT_SPAN_FIELDS:
        if span.get(key) == default:
            del span[key]
    if not keep_threads:
        _drop_threads(span)


def _drop_threads(holder: dict[str, Any]) -> None:
    data = holder.get("data")
    if isinstance(data, dict):
        for key in THREAD_KEYS:
            data.pop(key, None)
        if not data:
            del holder["data"]


def _drop_none(holder: dict[str, Any], keys: tuple[str, ...]) -> None:
    for key in keys:
        if key in holder and holder[key] is None:
            del holder[key]
