"""One chat-completions call with structured output through the official `openai` client; failures named."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import openai

from ..llm_settings import LlmSettings

MAX_OUTPUT_TOKENS = 300  # a handful of commands; a longer answer is a model gone astray, and costs time


class ModelFailure(Exception):
    """The model gave nothing usable; `reason` names why (timeout, rate_limited, server_error…)."""

    def __init__(self, reason: str, retryable: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


@dataclass(frozen=True)
class Completion:
    """What one call returned: the content and what it cost."""

    content: str
    model: str
    finish_reason: str | None
    input_tokens: int | None
    output_tokens: int | None


class ModelClient:
    """A chat model behind any OpenAI-compatible endpoint; the SDK's own retries are off (we budget them)."""

    def __init__(self, settings: LlmSettings) -> None:
        self.model = settings.model
        self._client = openai.OpenAI(api_key=settings.api_key, base_url=settings.base_url, max_retries=0)

    def complete(self, messages: Sequence[Mapping[str, str]], schema: Mapping[str, Any],
                 timeout_s: float) -> Completion:
        """Ask for a JSON answer matching `schema` within `timeout_s`; ModelFailure otherwise."""
        try:
            response = self._client.with_options(timeout=timeout_s).chat.completions.create(
                model=self.model,
                messages=list(messages),  # type: ignore[arg-type]
                response_format={"type": "json_schema",
                                 "json_schema": {"name": "commands", "strict": True, "schema": dict(schema)}},
                temperature=0,
                max_tokens=MAX_OUTPUT_TOKENS,
            )
        except openai.APITimeoutError:
            raise ModelFailure("timeout") from None
        except openai.RateLimitError:
            raise ModelFailure("rate_limited", retryable=True) from None
        except openai.APIStatusError as exc:
            if exc.status_code >= 500:
                raise ModelFailure("server_error", retryable=True) from None
            raise ModelFailure(f"http_{exc.status_code}") from None
        except openai.APIConnectionError:
            raise ModelFailure("connection", retryable=True) from None
        except (openai.APIResponseValidationError, ValueError):
            # A body that is not the completion asked for (a proxy's HTML page, broken JSON).
            raise ModelFailure("malformed", retryable=True) from None
        if not response.choices:
            raise ModelFailure("malformed", retryable=True)
        choice = response.choices[0]
        if getattr(choice.message, "refusal", None):
            raise ModelFailure("refused")
        if choice.finish_reason == "content_filter":
            raise ModelFailure("refused")
        if not choice.message.content:
            raise ModelFailure("malformed", retryable=True)
        usage = response.usage
        return Completion(
            content=choice.message.content,
            model=response.model or self.model,
            finish_reason=choice.finish_reason,
            input_tokens=usage.prompt_tokens if usage is not None else None,
            output_tokens=usage.completion_tokens if usage is not None else None,
        )
