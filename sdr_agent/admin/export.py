"""CSV export of leads, safe to open in a spreadsheet."""
from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any, Iterable, Iterator, Sequence

# A cell starting with one of these is a formula in Excel/LibreOffice/Sheets; the lead
# wrote these values, so they are neutralised with a leading apostrophe.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The CSV text, one line at a time (for a streamed response)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    yield _drain(buffer)
    for row in rows:
        writer.writerow([cell(value) for value in row])
        yield _drain(buffer)


def cell(value: Any) -> str:
    """One value as CSV text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (int, float)):
        return str(value)
    text = str(value)
    if text.startswith(FORMULA_PREFIXES) and not _is_phone(text):
        return "'" + text
    return text


def _is_phone(text: str) -> bool:
    """E.164 numbers start with '+' but are stored validated, so they stay readable."""
    return text.startswith("+") and text[1:].isdigit()


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
