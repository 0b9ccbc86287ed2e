"""CSV export of leads, safe to open in a spreadsheet."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from typing import Any, Iterable, Iterator, Sequence

# A cell starting with one of these is a formula in Excel/LibreOffice/Sheets; the lead
# wrote these values, so they are neutralised with a leading apostrophe.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# A spreadsheet that ignores the quotes splits a cell at its own list separator (";" in pt-BR,
# "," in en-US) or a line break, and the piece after it would start a new cell: neutralised too.
_FORMULA_AFTER_SEPARATOR = re.compile(r"([,;\t\r\n][\s\"']*)([=+\-@])")


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The CSV text, one line at a time (for a streamed response)."""
    buffer = io.StringIO()
    # Every cell quoted: a spreadsheet that honours quotes never splits a cell, whatever its separator.
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
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
    if _is_phone(text):
        return text
    text = _FORMULA_AFTER_SEPARATOR.sub(r"\1'\2", text)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def _is_phone(text: str) -> bool:
    """E.164 numbers start with '+' but are stored validated, so they stay readable."""
    return text.startswith("+") and text[1:].isdigit()


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
