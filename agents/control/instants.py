"""Times read back from the control graphs as aware instants."""

from __future__ import annotations

from datetime import UTC, datetime


def instant(value: object) -> datetime:
    """An ``xsd:dateTime`` read from the graph (its lexical form) as an aware instant; no offset means UTC."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
