"""Helpers for driving the engine in tests."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sdr_agent.qualification import Flow, LeadState, StepResult, Turn, initial_state, step

NOW = datetime(2026, 3, 2, 13, 0, tzinfo=timezone.utc)


class Lead:
    """A lead talking to the engine; keeps the state between messages like the app does."""

    def __init__(self, flow: Flow, language: str = "pt-BR", state: LeadState | None = None) -> None:
        self.flow = flow
        self.state = state or initial_state(language)
        self._last: StepResult | None = None

    def says(self, text: str, **turn_fields: Any) -> StepResult:
        """Send one message; returns the step result and remembers the new state."""
        turn = Turn(text=text, now=turn_fields.pop("now", NOW), **turn_fields)
        self._last = step(self.flow, self.state, turn)
        self.state = self._last.state
        return self._last

    @property
    def result(self) -> StepResult:
        """The result of the last message."""
        assert self._last is not None, "the lead has not said anything yet"
        return self._last

    def reply(self) -> str:
        """All replies of the last step as one text."""
        return "\n".join(self.result.replies)

    def event_kinds(self) -> list[str]:
        """Kinds of the last step's events."""
        return [event.kind.value for event in self.result.events]
