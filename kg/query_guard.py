"""What a user's SPARQL may do before the store runs it: read only, and call no endpoint it was not allowed.

A federated ``SERVICE`` makes the engine send HTTP requests; a query file from elsewhere must not make
this machine contact hosts the user never named. Queries are parsed (rdflib's SPARQL 1.1 grammar) to
find every ``SERVICE`` and to tell an update from a query, so the refusal names what it found. That parse
costs tens of milliseconds, so a text without the word SERVICE skips it: pyoxigraph's own parser (on an
empty store) tells in microseconds whether it is a query, and only a text it refuses is parsed again
to say whether it was an update.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from pyoxigraph import Store
from pyparsing import ParseException, ParseResults
from rdflib.plugins.sparql.parser import parseQuery, parseUpdate
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import URIRef

from enertwin.kg.errors import InputError

_SERVICE_WORD = re.compile(r"\bSERVICE\b", re.IGNORECASE)


def check_user_query(text: str, allowed_services: Sequence[str] = ()) -> None:
    """Raise :class:`InputError` for an update, or a ``SERVICE`` whose endpoint is not in ``allowed_services``."""
    if not _SERVICE_WORD.search(text) and _is_query(text):
        return
    try:
        parsed = parseQuery(text)
    except ParseException:
        if _is_update(text):
            raise InputError(
                "the file holds a SPARQL update (INSERT, DELETE, LOAD, CLEAR, …); `enertwin query` only reads "
                "and never changes the store: run a SELECT"
            ) from None
        if _SERVICE_WORD.search(text):
            raise InputError(
                "the query mentions SERVICE and could not be checked: federated calls are refused"
            ) from None
        return  # not SPARQL that rdflib reads: the store's own parser gives the precise error
    allowed = {url.rstrip("/") for url in allowed_services}
    prefixes = {d.get("prefix") or "": str(d["iri"]) for d in parsed[0] if d.name == "PrefixDecl"}
    for term in _services(parsed):
        endpoint = _resolved(term, prefixes)
        if endpoint is None:
            raise InputError("a SERVICE names its endpoint by a variable; federated calls are refused")
        if str(endpoint).rstrip("/") not in allowed:
            raise InputError(
                f"the query calls SERVICE <{endpoint}>; enertwin sends no request to an endpoint you did not "
                "allow (add --allow-service URL)"
            )


def _services(node: object) -> Iterator[object]:
    """Every SERVICE endpoint term in a parse tree (rdflib's ``CompValue`` nodes inside pyparsing results)."""
    if isinstance(node, CompValue):
        if node.name == "ServiceGraphPattern":
            yield node.get("term")
        for value in node.values():
            yield from _services(value)
    elif isinstance(node, ParseResults | list | tuple):
        for child in node:
            yield from _services(child)


def _resolved(term: object, prefixes: dict[str, str]) -> URIRef | None:
    """The endpoint IRI of a SERVICE term (an IRI or a prefixed name); ``None`` for a variable."""
    if isinstance(term, URIRef):
        return term
    if isinstance(term, CompValue) and term.name == "pname":
        return URIRef(prefixes.get(term.get("prefix") or "", "") + (term.get("localname") or ""))
    return None


def _is_query(text: str) -> bool:
    """Whether pyoxigraph reads ``text`` as a query; run on an empty store, so it costs only the parse."""
    try:
        _EMPTY.query(text)
    except SyntaxError:
        return False
    return True


_EMPTY = Store()


def _is_update(text: str) -> bool:
    try:
        parseUpdate(text)
    except ParseException:
        return False
    return True
