"""Settings of the optional language model (SDR_LLM_*), read from the environment and validated."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

FEATURES = ("understand", "answer", "transcribe")
DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_TRANSCRIBE_MODEL = "whisper-1"
DEFAULT_TIMEOUT_MS = 4000  # WhatsApp: Twilio waits 15 s for the webhook; the rest of the turn needs its share
DEFAULT_VOICE_TIMEOUT_MS = 2500  # a caller hears silence while we wait: the budget is shorter


@dataclass(frozen=True)
class LlmSettings:
    """Where the model is, how long a turn may wait for it and what it is used for; no key = no model."""

    api_key: str | None = None
    base_url: str = DEFAULT_BASE_URL
    model: str = DEFAULT_MODEL
    timeout_ms: int = DEFAULT_TIMEOUT_MS
    voice_timeout_ms: int = DEFAULT_VOICE_TIMEOUT_MS
    features: frozenset[str] = frozenset()
    transcribe_model: str = DEFAULT_TRANSCRIBE_MODEL
    prices: tuple[float, float] | None = None  # USD per million input and output tokens, for cost estimates

    @property
    def enabled(self) -> bool:
        """Whether a model is configured at all."""
        return self.api_key is not None

    def uses(self, feature: str) -> bool:
        """Whether `feature` (understand, answer, transcribe) is on."""
        return self.enabled and feature in self.features

    def cost(self, input_tokens: int, output_tokens: int) -> float | None:
        """Estimated USD cost of these tokens at SDR_LLM_PRICES; None when no prices are set."""
        if self.prices is None:
            return None
        return (input_tokens * self.prices[0] + output_tokens * self.prices[1]) / 1_000_000

    def budget_ms(self, voice: bool) -> int:
        """The hard time budget of one turn's model calls on this channel."""
        return self.voice_timeout_ms if voice else self.timeout_ms


def read_llm_settings(environ: Mapping[str, str]) -> LlmSettings:
    """SDR_LLM_* from `environ`; ValueError names the variable that is wrong."""

    def text(name: str) -> str | None:
        return (environ.get(name) or "").strip() or None

    def milliseconds(name: str, default: int) -> int:
        raw = text(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"{name} must be a whole number of milliseconds, got {raw!r}") from None
        if value <= 0:
            raise ValueError(f"{name} must be positive, got {value}")
        return value

    api_key = text("SDR_LLM_API_KEY")
    listed = text("SDR_LLM_FEATURES")
    features = frozenset(FEATURES) if listed is None else frozenset(
        part.strip().lower() for part in listed.split(",") if part.strip())
    unknown = sorted(features - set(FEATURES))
    if unknown:
        raise ValueError(f"SDR_LLM_FEATURES: unknown feature {unknown[0]!r} (known: {', '.join(FEATURES)})")
    base_url = text("SDR_LLM_BASE_URL") or DEFAULT_BASE_URL
    if not base_url.startswith(("http://", "https://")):
        raise ValueError(f"SDR_LLM_BASE_URL must be an http(s) URL, got {base_url!r}")
    return LlmSettings(
        api_key=api_key,
        base_url=base_url.rstrip("/"),
        model=text("SDR_LLM_MODEL") or DEFAULT_MODEL,
        timeout_ms=milliseconds("SDR_LLM_TIMEOUT_MS", DEFAULT_TIMEOUT_MS),
        voice_timeout_ms=milliseconds("SDR_LLM_VOICE_TIMEOUT_MS", DEFAULT_VOICE_TIMEOUT_MS),
        features=features if api_key is not None else frozenset(),
        transcribe_model=text("SDR_TRANSCRIBE_MODEL") or DEFAULT_TRANSCRIBE_MODEL,
        prices=_prices(text("SDR_LLM_PRICES")),
    )


def _prices(raw: str | None) -> tuple[float, float] | None:
    """"0.15,0.60": USD per million input tokens, then per million output tokens."""
    if raw is None:
        return None
    try:
        input_price, output_price = (float(part) for part in raw.split(","))
    except ValueError:
        raise ValueError(f"SDR_LLM_PRICES must be two numbers, USD per million input and output tokens "
                         f"(e.g. 0.15,0.60), got {raw!r}") from None
    if input_price < 0 or output_price < 0:
        raise ValueError(f"SDR_LLM_PRICES must not be negative, got {raw!r}")
    return input_price, output_price
