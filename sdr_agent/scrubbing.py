"""Remove personal data and secrets from telemetry payloads; pure functions, no SDK imports."""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from functools import lru_cache, wraps
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit, urlunsplit

FILTERED = "[Filtered]"

# Twilio webhook form fields whose values are personal data; matched exactly, as Twilio spells them.
TWILIO_FIELDS = frozenset({
    "From", "To", "Body", "ProfileName", "WaId", "SpeechResult", "UnstableSpeechResult", "Digits",
    "Caller", "Called", "CallerName", "ForwardedFrom", "Latitude", "Longitude", "Address", "Label",
})
TWILIO_FIELD_PREFIXES = ("MediaUrl",)
# Keys (lower-cased, "-" read as "_") whose values are personal data wherever they appear.
PERSONAL_KEYS = frozenset({
    "phone", "phone_number", "e164", "msisdn", "wa_id", "email", "e_mail", "cpf", "cnpj",
    "profile_name", "full_name", "lead_name", "first_name", "last_name", "message_text", "transcript",
    "speech_result", "card_number", "ip_address", "remote_addr", "x_forwarded_for", "x_real_ip",
})
# Key fragments that mark credentials ("X-Twilio-Signature", "auth_token", "Set-Cookie", ...).
SECRET_KEY_PARTS = ("password", "passwd", "secret", "token", "authorization", "cookie", "signature",
                    "api_key", "apikey", "credential")
# Identifier and timing fields the SDK itself fills in; their values are kept as they are.
KEPT_KEY_SUFFIXES = ("trace_id", "span_id", "event_id", "check_in_id", "profiler_id", "replay_id", "segment_id",
                     "thread.id", "thread_id")
KEPT_KEYS = frozenset({"release", "timestamp", "start_timestamp", "time_unix_nano"})
# Sentry's AI-monitoring fields for token usage: numbers, although their names contain "token".
TOKEN_COUNT_KEYS = frozenset({"gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.usage.total_tokens"})
# Stack frame fields describe our code, not data: passed through unscanned, which also keeps
# scrubbing an error event cheap.
CODE_KEYS = frozenset({"pre_context", "context_line", "post_context", "abs_path", "filename", "module",
                       "function", "lineno", "colno", "in_app",
                       # The envelope header's trace context (DSN public key, release, sampling decision):
                       # rewriting it breaks dynamic sampling, and it holds nothing about a lead.
                       "dynamic_sampling_context"})
# Fields holding the SDK's own vocabulary ("ok", "error", "http.server"): patterns still apply, but a
# lead who wrote "ok" must not turn a transaction's status into "[Filtered]".
VOCABULARY_KEYS = frozenset({"status", "op", "level", "type", "origin", "platform", "environment", "source"})
# Request headers worth keeping; every other header is dropped.
KEPT_HEADERS = frozenset({"content-type", "content-length", "user-agent", "host", "accept",
                          "accept-encoding", "x-forwarded-proto", "x-home-region", "x-request-id"})
KEPT_ENV = frozenset({"SERVER_NAME", "SERVER_PORT"})
MAX_DEPTH = 24

_NOT_ALNUM_BEFORE = r"(?<![0-9A-Za-z])"
_NOT_ALNUM_AFTER = r"(?![0-9A-Za-z])"
# Rules are grouped by a character they all need, so most strings skip most groups after a
# cheap `in` test. Every alternative starts at a boundary or a literal: matching stays linear.
_ADDRESS_RULES = re.compile("|".join([
    r"(?P<userinfo>(?<=://)[^/\s:@]+:[^/\s@]+@)",
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+(?:@|%40)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
]))
_SECRET_RULES = re.compile("|".join([
    r"(?P<scheme>(?i:\b(?:bearer|basic)))\s+[A-Za-z0-9._~+/=-]{8,}",
    rf"{_NOT_ALNUM_BEFORE}(?:sk|pk|rk)_(?:live|test)_[0-9A-Za-z]{{8,}}",
    r"(?P<name>(?i:\b(?:api_?key|key|access_token|auth_token|token|password|passwd|pwd|secret)))=[^&\s\"',;]+",
    # Slack incoming webhooks carry their credential in the path: /services/T…/B…/<secret>.
    r"(?P<slack>/services/)T[0-9A-Za-z]+/B[0-9A-Za-z]+/[0-9A-Za-z]+",
]))
_SECRET_HINTS = ("bearer", "basic", "_live_", "_test_", "key=", "token=", "password=", "passwd=", "pwd=", "secret=",
                 "/services/")
# Every number rule needs a run of 7+ digits and separators, or 32 hex characters.
_NUMBER_HINT = re.compile(r"\d[\d ().+/-]{5,}\d")
_HEX_HINT = re.compile(r"[0-9a-fA-F]{32}")
# The "keep" group comes first so a UUID or a lead ID (64 hex) is consumed whole before a
# digit-run rule could bite into it.
_NUMBER_RULES = re.compile("|".join([
    rf"(?P<keep>{_NOT_ALNUM_BEFORE}(?:[0-9a-fA-F]{{8}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{4}}-"
    rf"[0-9a-fA-F]{{12}}|[0-9a-f]{{64}}){_NOT_ALNUM_AFTER})",
    rf"{_NOT_ALNUM_BEFORE}(?:AC|SK)?[0-9a-fA-F]{{32}}{_NOT_ALNUM_AFTER}",
    r"(?<!\d)\d{2}\.\d{3}\.\d{3}/\d{4}-\d{2}(?!\d)",
    r"(?<!\d)\d{3}\.\d{3}\.\d{3}-\d{2}(?!\d)",
    r"(?:\+|%2B)\d(?:[ ().-]{0,2}\d){7,14}(?!\d)",
    rf"{_NOT_ALNUM_BEFORE}(?:55[ .-]?)?(?:\(\d{{2}}\)|\d{{2}})[ .-]?9?\d{{4}}[ .-]?\d{{4}}{_NOT_ALNUM_AFTER}",
    rf"{_NOT_ALNUM_BEFORE}(?:1[ .-]?)?(?:\(\d{{3}}\)|\d{{3}})[ .-]?\d{{3}}[ .-]\d{{4}}{_NOT_ALNUM_AFTER}",
    rf"{_NOT_ALNUM_BEFORE}\d{{4}}[ -]\d{{4}}[ -]\d{{4}}[ -]\d{{1,7}}{_NOT_ALNUM_AFTER}",
    rf"{_NOT_ALNUM_BEFORE}\d{{4}}[ -]\d{{6}}[ -]\d{{4,5}}{_NOT_ALNUM_AFTER}",
    rf"{_NOT_ALNUM_BEFORE}\d{{10,19}}{_NOT_ALNUM_AFTER}",
]))
# Two characters: names like "Rui", "Bia" or "Jo" and companies like "3M" are personal data too.
# Whole-word matching keeps "oi" out of "voice"; digits-only values under four characters ("1",
# "50": menu choices, amounts) identify no one and would eat every count and status code.
_KNOWN_VALUE_MIN_LENGTH = 2
_KNOWN_DIGITS_MIN_LENGTH = 4
# Strings up to this length have their scrubbed form and case fold remembered.
_REMEMBERED_LENGTH = 64
_REMEMBERED_STRINGS = 4096


def _remember_short(function: Callable[[str], str]) -> Callable[[str], str]:
    """Cache a pure str -> str function for short strings; longer ones are computed each time."""
    # Nearly every string a message sends is one of a few hundred short ones (SDK name and version,
    # stage names, log templates), so each is worked on once. The cache lives in process memory
    # only, and a long string (an exception message, a payload) is never kept.
    remembered = lru_cache(maxsize=_REMEMBERED_STRINGS)(function)

    @wraps(function)
    def short_or_computed(text: str) -> str:
        return remembered(text) if len(text) <= _REMEMBERED_LENGTH else function(text)

    return short_or_computed


def _replace_address(match: re.Match[str]) -> str:
    return f"{FILTERED}@" if match.group("userinfo") is not None else FILTERED


def _replace_secret(match: re.Match[str]) -> str:
    if match.group("scheme") is not None:
        return f"{match.group('scheme')} {FILTERED}"
    if match.group("name") is not None:
        return f"{match.group('name')}={FILTERED}"
    if match.group("slack") is not None:
        return f"/services/{FILTERED}"
    return FILTERED


def _replace_number(match: re.Match[str]) -> str:
    return match.group(0) if match.group("keep") is not None else FILTERED


def scrub_text(text: str, known: KnownValues | None = None) -> str:
    """Replace phone numbers, e-mails, CPF/CNPJ, card numbers, credentials and known values."""
    if known is not None:
        text = known.redact(text)
    return _scrub_patterns(text)


@_remember_short
def _scrub_patterns(text: str) -> str:
    if "@" in text or "%40" in text:
        text = _ADDRESS_RULES.sub(_replace_address, text)
    if any(map(text.lower().__contains__, _SECRET_HINTS)):
        text = _SECRET_RULES.sub(_replace_secret, text)
    if _NUMBER_HINT.search(text) is not None or (len(text) >= 32 and _HEX_HINT.search(text) is not None):
        text = _NUMBER_RULES.sub(_replace_number, text)
    return text


# re.IGNORECASE matches "İ" and "ı" to "i" by their simple lower case; str.casefold() does not.
_FOLD_FIXES = str.maketrans({"İ": "i", "ı": "i"})


@_remember_short
def _fold(text: str) -> str:
    """Case-fold so that any two characters re.IGNORECASE treats as equal fold alike."""
    return text.translate(_FOLD_FIXES).casefold()


class KnownValues:
    """Literal values (2+ characters) never to send, as written, URL-encoded or JSON-escaped, in any case."""

    def __init__(self, variants: set[str]) -> None:
        # Longest first so a value wins over a shorter value it contains.
        self._alternatives = sorted(variants, key=len, reverse=True)
        self._folded = tuple({_fold(variant) for variant in variants})
        self._pattern: re.Pattern[str] | None = None

    def redact(self, text: str) -> str:
        """Replace every whole-word occurrence of a known value with FILTERED."""
        # Most strings sent (stage names, counts, log templates) hold no known value: a substring
        # test on the case-folded text settles them without compiling this message's pattern.
        if not any(map(_fold(text).__contains__, self._folded)):
            return text
        if self._pattern is None:
            alternatives = "|".join(re.escape(variant) for variant in self._alternatives)
            # Whole words only: a short answer like "sim" must not eat the middle of "simulator".
            self._pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)
        return self._pattern.sub(FILTERED, text)

    def merged(self, other: "KnownValues | None") -> "KnownValues":
        """These values and `other`'s (a message's redactions plus its request's)."""
        if other is None or other is self:
            return self
        return KnownValues(set(self._alternatives) | set(other._alternatives))


def known_values(values: Iterable[str | None]) -> KnownValues | None:
    """The values (2+ characters, 4+ if only digits) never to send, with their URL-encoded and JSON-escaped spellings."""
    variants: set[str] = set()
    for value in values:
        value = (value or "").strip()
        if len(value) < _KNOWN_VALUE_MIN_LENGTH or (value.isdigit() and len(value) < _KNOWN_DIGITS_MIN_LENGTH):
            continue
        variants.update({value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]})
    return KnownValues(variants) if variants else None


# Keys come from a small, fixed vocabulary (SDK fields, our attributes): each is judged once.
@lru_cache(maxsize=4096)
def is_sensitive_key(key: str) -> bool:
    """True when a mapping key names personal data or a credential, so its value is never sent."""
    if key in TWILIO_FIELDS or key.startswith(TWILIO_FIELD_PREFIXES):
        return True
    normal = key.lower().replace("-", "_")
    if normal in TOKEN_COUNT_KEYS:
        return False  # counts of a model's tokens, not credentials
    return normal in PERSONAL_KEYS or any(part in normal for part in SECRET_KEY_PARTS)


@lru_cache(maxsize=4096)
def _is_kept_key(key: str) -> bool:
    return key in KEPT_KEYS or key.lower().endswith(KEPT_KEY_SUFFIXES)


def scrub_data(value: Any, known: KnownValues | None = None, _depth: int = 0) -> Any:
    """Scrub any JSON-like structure: sensitive keys filtered, strings scrubbed, numbers kept."""
    if isinstance(value, str):
        return scrub_text(value, known)
    if value is None or isinstance(value, (bool, int, float, datetime, date)):
        return value
    if _depth >= MAX_DEPTH:
        return FILTERED
    if isinstance(value, dict) or isinstance(value, Mapping):  # dict first: the ABC check is slow
        result: dict[Any, Any] = {}
        for key, item in value.items():
            name = key if isinstance(key, str) else str(key)
            if name == "vars":
                # Stack frame locals: the SDK is told not to collect them; never forward any.
                continue
            if is_sensitive_key(name):
                result[key] = FILTERED
            elif name in CODE_KEYS:
                result[key] = item
            elif name in VOCABULARY_KEYS and isinstance(item, str):
                result[key] = scrub_text(item)
            elif _is_kept_key(name) and isinstance(item, (str, int, float, datetime)):
                result[key] = item
            elif isinstance(item, str):
                # Most values are strings: scrubbed here, without a recursive call.
                result[key] = scrub_text(item, known)
            else:
                result[key] = scrub_data(item, known, _depth + 1)
        return result
    if isinstance(value, (list, tuple, set, frozenset)):
        return [scrub_data(item, known, _depth + 1) for item in value]
    if isinstance(value, (bytes, bytearray)):
        return scrub_text(bytes(value).decode("utf-8", "replace"), known)
    # Unknown objects would be repr()'d by the SDK's serializer later; do it here, scrubbed.
    return scrub_text(repr(value), known)


def scrub_request(request: Mapping[str, Any], known: KnownValues | None = None) -> dict[str, Any]:
    """Keep method, path and harmless headers; drop body, cookies, query values and other headers."""
    result: dict[str, Any] = {}
    for key, value in request.items():
        if key in ("data", "cookies"):
            continue
        if key == "method":
            result[key] = value
        elif key == "url" and isinstance(value, str):
            parts = urlsplit(value)
            result[key] = scrub_text(urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), known)
        elif key == "query_string" and isinstance(value, str):
            names = [name for name, _ in parse_qsl(value, keep_blank_values=True)]
            result[key] = "&".join(f"{quote_plus(scrub_text(name, known))}={FILTERED}" for name in names)
        elif key == "headers" and isinstance(value, Mapping):
            result[key] = {name: scrub_text(str(header), known) for name, header in value.items()
                           if str(name).lower() in KEPT_HEADERS}
        elif key == "env" and isinstance(value, Mapping):
            result[key] = {name: env for name, env in value.items() if name in KEPT_ENV}
        else:
            result[key] = scrub_data(value, known)
    return result


def scrub_event(event: Mapping[str, Any], known: KnownValues | None = None) -> dict[str, Any]:
    """Scrub a serialized error or transaction event before it leaves the process."""
    rest = {key: value for key, value in event.items() if key not in ("request", "user", "extra")}
    result: dict[str, Any] = scrub_data(rest, known)
    request = event.get("request")
    if isinstance(request, Mapping):
        result["request"] = scrub_request(request, known)
    user = event.get("user")
    if isinstance(user, Mapping) and user.get("id") is not None:
        # Only the keyed hash of the phone number identifies a lead; every other field goes.
        result["user"] = {"id": scrub_text(str(user["id"]), known)}
    extra = event.get("extra")
    if isinstance(extra, Mapping):
        result["extra"] = _scrub_extra(extra, known)
    return result


def _scrub_extra(extra: Mapping[str, Any], known: KnownValues | None) -> dict[str, Any]:
    result: dict[str, Any] = scrub_data(extra, known)
    job = result.get("rq-job")
    if isinstance(job, dict) and "description" in job:
        # RQ renders the job's call with its arguments ("send('+55…', 'text')") into the description.
        job["description"] = FILTERED
    return result


def scrub_breadcrumb(crumb: Mapping[str, Any], known: KnownValues | None = None) -> dict[str, Any]:
    """Scrub a breadcrumb's message, category and data; keep its timestamp, type and level."""
    return scrub_data(crumb, known)


def scrub_log(log: Mapping[str, Any], known: KnownValues | None = None) -> dict[str, Any]:
    """Scrub a structured log record's body and attributes."""
    result = dict(log)
    if isinstance(log.get("body"), str):
        result["body"] = scrub_text(log["body"], known)
    result["attributes"] = scrub_data(log.get("attributes") or {}, known)
    return result


def scrub_metric(metric: Mapping[str, Any], known: KnownValues | None = None) -> dict[str, Any]:
    """Scrub a metric's attributes; name, value and unit are ours and kept."""
    result = dict(metric)
    result["attributes"] = scrub_data(metric.get("attributes") or {}, known)
    return result
