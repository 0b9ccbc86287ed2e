"""The structured output asked of the model, and its answer read back into commands (or refused)."""
from __future__ import annotations

import json
from typing import Any

from ..qualification.commands import COMMAND_NAMES, MAX_COMMANDS, Command
from .client import ModelFailure

_NULLABLE_TEXT = {"type": ["string", "null"]}

# Strict JSON schema (OpenAI structured outputs): every property required, nulls where unused.
COMMANDS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "commands": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "command": {"type": "string", "enum": list(COMMAND_NAMES)},
                    "slot": _NULLABLE_TEXT,
                    "value": _NULLABLE_TEXT,
                    "topic": _NULLABLE_TEXT,
                },
                "required": ["command", "slot", "value", "topic"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["commands"],
    "additionalProperties": False,
}


def parse_commands(content: str) -> list[Command]:
    """The commands in the model's answer; unknown commands are dropped, a broken answer is `malformed`."""
    try:
        document = json.loads(content)
    except ValueError:
        raise ModelFailure("malformed", retryable=True) from None
    items = document.get("commands") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise ModelFailure("malformed", retryable=True)
    commands = []
    for item in items[:MAX_COMMANDS]:
        if not isinstance(item, dict) or item.get("command") not in COMMAND_NAMES:
            continue
        commands.append(Command(name=item["command"], slot=_text(item.get("slot")), value=_text(item.get("value")),
                                topic=_text(item.get("topic"))))
    return commands


def _text(value: Any) -> str | None:
    """A string field; numbers are accepted as their text (some models answer 50000 for "50000")."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return f"{value:g}" if isinstance(value, float) else str(value)
    return value.strip() or None if isinstance(value, str) else None
