"""Render rows of plain values (`enertwin.kg.terms.to_python`) for people (tables) and programs (JSON, CSV)."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Iterable, Mapping
from enum import Enum

from rich.console import Console
from rich.table import Table
from rich.text import Text


class Format(str, Enum):
    """Output formats of ``enertwin query`` and friends."""

    TABLE = "table"
    JSON = "json"
    CSV = "csv"


def render(
    console: Console, columns: list[str], rows: Iterable[Mapping[str, object]], fmt: Format, title: str = ""
) -> None:
    """Print rows in ``fmt``."""
    rows = list(rows)
    if fmt is Format.JSON:
        console.print_json(json.dumps([dict(row) for row in rows]))
    elif fmt is Format.CSV:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows({c: _spreadsheet_safe(v) for c, v in row.items()} for row in rows)
        console.out(buffer.getvalue(), end="")
    else:
        table = Table(title=Text(title) if title else None)
        for column in columns:
            table.add_column(Text(column), overflow="fold")
        for row in rows:  # values from the graph are text, never rich markup
            table.add_row(*(Text(_cell(row.get(c))) for c in columns))
        console.print(table)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}"
    return printable(str(value))


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def printable(text: str) -> str:
    """``text`` with control characters (terminal escape sequences) shown as hex escapes, never sent raw."""
    return "".join(ch if ch in "\n" or unicodedata.category(ch) != "Cc" else f"\\x{ord(ch):02x}" for ch in text)


def _spreadsheet_safe(value: object) -> object:
    """Stored text as a CSV cell a spreadsheet shows as text: a leading ``'`` before ``=``, ``+``, ``-``, ``@``."""
    if not isinstance(value, str):
        return value
    safe = printable(value)
    return "'" + safe if safe.startswith(_FORMULA_START) else safe
