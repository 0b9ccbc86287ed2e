"""Night-time rules for messages the service starts: when a nudge may go out in the lead's time zone."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

_RANGE = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*-\s*(\d{1,2})(?::(\d{2}))?$")
OFF = ("off", "none")


@dataclass(frozen=True)
class QuietHours:
    """A daily stretch of local time without nudges; it may wrap past midnight (21:00-08:00)."""

    starts: time
    ends: time

    def contains(self, moment: datetime, zone: ZoneInfo) -> bool:
        """Whether `moment` (timezone-aware) falls in the quiet stretch on the wall clock of `zone`."""
        local = moment.astimezone(zone).time()
        if self.starts <= self.ends:
            return self.starts <= local < self.ends
        return local >= self.starts or local < self.ends


DEFAULT_QUIET_HOURS = QuietHours(time(21, 0), time(8, 0))


def parse_quiet_hours(raw: str) -> QuietHours | None:
    """"21:00-08:00" or "21-8" as quiet hours; "off" for none."""
    if raw.strip().lower() in OFF:
        return None
    match = _RANGE.match(raw.strip())
    if not match:
        raise ValueError("use HH:MM-HH:MM, e.g. 21:00-08:00, or off")
    starts = time(int(match.group(1)), int(match.group(2) or 0))
    ends = time(int(match.group(3)), int(match.group(4) or 0))
    if starts == ends:
        raise ValueError("start and end must differ (use off for no quiet hours)")
    return QuietHours(starts, ends)
