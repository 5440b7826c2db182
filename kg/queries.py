"""Load SPARQL from ``.rq`` files and bind user values as RDF terms.

Queries are files beside the code that runs them. Values reach a query only as
RDF terms: one term per variable through pyoxigraph substitutions, or a
``VALUES`` block serialised from terms for sets (and for remote endpoints,
which have no substitutions). Convention: a SELECT projects every variable the
caller binds (pyoxigraph's substitutions require it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from importlib.resources import files

from pyoxigraph import BlankNode, Literal, NamedNode, Triple

Term = NamedNode | BlankNode | Literal | Triple
Bindings = Mapping[str, Term | Sequence[Term]]
TERM_TYPES = (NamedNode, BlankNode, Literal, Triple)
_WHERE = re.compile(r"\bWHERE\s*\{", re.IGNORECASE)


@cache
def load_query(package: str, name: str) -> str:
    """Text of ``name`` (an ``.rq`` file) shipped in ``package``.

    >>> "SELECT" in load_query("enertwin.kg", "portfolio_summary.rq")
    True
    """
    return (files(package) / name).read_text(encoding="utf-8")


def values_block(variable: str, terms: Iterable[Term]) -> str:
    """A ``VALUES ?variable { … }`` block from RDF terms (serialised by pyoxigraph)."""
    body = " ".join(str(t) for t in terms)
    return f"VALUES ?{variable} {{ {body} }}"


def inline_bindings(query: str, bindings: Bindings) -> str:
    """Put ``bindings`` into ``query`` as ``VALUES`` blocks at the start of its outer WHERE.

    Only serialised RDF terms are inserted, never raw user text.
    """
    if not bindings:
        return query
    blocks = " ".join(
        values_block(name, [value] if isinstance(value, TERM_TYPES) else value) for name, value in bindings.items()
    )
    position = _outer_where_brace(query)
    return f"{query[: position + 1]} {blocks} {query[position + 1 :]}"


def _outer_where_brace(query: str) -> int:
    """Index of the ``{`` that opens the outer WHERE clause."""
    match = _WHERE.search(query)
    if match is None:
        raise ValueError("query has no WHERE clause to bind values in")
    return match.end() - 1
