"""Checks on RDF a user hands in, made before a store is opened, so the error names the file, not a shape."""

from __future__ import annotations

from pyoxigraph import RdfFormat, parse

from enertwin.kg.errors import InputError


def require_triples(data: bytes, fmt: RdfFormat, what: str) -> None:
    """Refuse input that does not parse or holds no triple (an empty file would fail every shape at once)."""
    try:
        first = next(iter(parse(data, format=fmt)), None)
    except SyntaxError as exc:
        raise InputError(f"{what} is not valid {fmt.name}: {exc}") from exc
    if first is None:
        raise InputError(f"{what} holds no triples; nothing was changed")
