"""An answer cut in two ("trabalho na" + "Magazine Lima"): the first half waits for the rest."""
from __future__ import annotations

from datetime import datetime, timedelta

from .textnorm import fold

# How long the first half waits: the rest of a sentence comes within seconds, not after lunch.
JOIN_WITHIN = timedelta(minutes=5)
# Words a finished answer does not end with ("trabalho na", "my e-mail is", "sou da"). Not "no":
# it is also a whole answer in English.
_DANGLING = frozenset(
    """
    na da do de das dos em a o as os um uma pela pelo para pra com sobre e ou mas que
    the a an at for with in of on to from is are and or but my our
    """.split()
)


def is_incomplete(text: str) -> bool:
    """Whether a message of two or more words (or ending in ':') obviously stops mid-sentence."""
    stripped = text.rstrip()
    if stripped.endswith((":", ",")) and len(stripped) > 1:
        return True
    raw = stripped.split()
    # The last word as written: "ana@acme.com" ends in an address, not in the word "com".
    last = fold(raw[-1]) if raw else ""
    return len(raw) >= 2 and last.isalpha() and last in _DANGLING


def joined(held: dict[str, str] | None, text: str, now: datetime) -> str | None:
    """The held first half and this message read as one, when the first half is recent enough."""
    if not held or not held.get("text"):
        return None
    try:
        at = datetime.fromisoformat(held.get("at", ""))
    except ValueError:
        return None
    if at.tzinfo is None or now.tzinfo is None or now - at > JOIN_WITHIN:
        return None
    return f"{held['text'].rstrip(' :,')} {text}"
