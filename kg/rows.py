"""Typed reading of SPARQL results: one reader that names the IRI and the property a bad value breaks.

Readers of the graph (the portfolio, a stored decision, a replay's settings) ask a row for a
value of the type they need; a missing or ill-typed value is an :class:`InputError` that says
which node lacks which property, instead of an ``assert`` or a cast that fails far away.
"""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from pyoxigraph import BlankNode, Literal, NamedNode, QuerySolution, QuerySolutions, Triple

from enertwin.kg import namespaces as ns
from enertwin.kg.errors import InputError
from enertwin.kg.terms import BOOLEAN_WORDS, DECIMAL_TYPES, INTEGER_TYPES

Term = NamedNode | BlankNode | Literal | Triple


class Row:
    """One solution, read by variable name with the type the caller needs.

    ``subject`` is the variable that names the node the row is about; ``properties`` maps other
    variables to the property (a CURIE) they were read from, for error messages.

    >>> from pyoxigraph import Store
    >>> store = Store()
    >>> found = store.query('SELECT ?unit ?maxP WHERE { BIND(<https://example.org/g1> AS ?unit) BIND("x" AS ?maxP) }')
    >>> row = read_rows(found, subject="unit", properties={"maxP": "et:maxActivePower"})[0]
    >>> row.iri("unit")
    'https://example.org/g1'
    >>> row.float("maxP")
    Traceback (most recent call last):
    ...
    enertwin.kg.errors.InputError: <https://example.org/g1> et:maxActivePower must be a number, found "x"
    """

    __slots__ = ("_properties", "_solution", "_source", "_subject")

    def __init__(
        self,
        solution: QuerySolution | Mapping[builtins.str, Term | None],
        subject: builtins.str | None = None,
        properties: Mapping[builtins.str, builtins.str] | None = None,
        source: builtins.str = "",
    ) -> None:
        self._solution = solution
        self._subject = subject
        self._properties = properties or {}
        self._source = source

    # -- raw access --------------------------------------------------------------------------

    def term(self, name: builtins.str) -> Term | None:
        """The RDF term bound to ``?name`` (``None`` when unbound)."""
        if isinstance(self._solution, Mapping):
            return self._solution.get(name)
        value: Any = self._solution[name]
        return value  # type: ignore[no-any-return]

    def has(self, name: builtins.str) -> builtins.bool:
        """Whether ``?name`` is bound."""
        return self.term(name) is not None

    def regarding(self, subject: builtins.str) -> Row:
        """The same row, with messages about the node bound to ``?subject`` (a unit's cost entry, say)."""
        return Row(self._solution, subject, self._properties, self._source)

    @property
    def about(self) -> builtins.str:
        """The node this row is about, as it is named in messages."""
        if self._subject is not None:
            node = self.term(self._subject)
            if isinstance(node, NamedNode | BlankNode):
                return f"<{node.value}>" if isinstance(node, NamedNode) else f"_:{node.value}"
        return f"a result of {self._source}" if self._source else "a query result"

    def _what(self, name: builtins.str) -> builtins.str:
        return f"{self.about} {self._properties.get(name, '?' + name)}"

    def _required(self, name: builtins.str) -> Term:
        term = self.term(name)
        if term is None:
            raise InputError(f"{self.about} has no {self._properties.get(name, '?' + name)}")
        return term

    def _literal(self, name: builtins.str, term: Term, expected: builtins.str) -> Literal:
        if not isinstance(term, Literal):
            raise InputError(f"{self._what(name)} must be {expected}, found {term}")
        return term

    # -- required values ---------------------------------------------------------------------

    def iri(self, name: builtins.str) -> builtins.str:
        """The IRI bound to ``?name``."""
        term = self._required(name)
        if not isinstance(term, NamedNode):
            raise InputError(f"{self._what(name)} must be an IRI, found {term}")
        return term.value

    def str(self, name: builtins.str) -> builtins.str:
        """The lexical form of the literal bound to ``?name``."""
        return self._literal(name, self._required(name), "a literal").value

    def float(self, name: builtins.str) -> builtins.float:
        """The number bound to ``?name`` (any XSD numeric type)."""
        term = self._literal(name, self._required(name), "a number")
        if term.datatype.value not in DECIMAL_TYPES | INTEGER_TYPES:
            raise InputError(f"{self._what(name)} must be a number, found {term}")
        try:
            return float(term.value)
        except ValueError:
            raise InputError(f"{self._what(name)} must be a number, found {term}") from None

    def int(self, name: builtins.str) -> builtins.int:
        """The integer bound to ``?name``."""
        term = self._literal(name, self._required(name), "an integer")
        try:
            if term.datatype.value in INTEGER_TYPES:
                return int(term.value)
        except ValueError:
            pass
        raise InputError(f"{self._what(name)} must be an integer, found {term}")

    def bool(self, name: builtins.str) -> builtins.bool:
        """The ``xsd:boolean`` bound to ``?name``."""
        term = self._literal(name, self._required(name), "a boolean")
        if term.datatype == ns.XSD_BOOLEAN and term.value in BOOLEAN_WORDS:
            return BOOLEAN_WORDS[term.value]
        raise InputError(f"{self._what(name)} must be a boolean (true or false), found {term}")

    def datetime(self, name: builtins.str) -> dt.datetime:
        """The ISO 8601 date-time (``xsd:dateTime``) bound to ``?name``."""
        text = self.str(name)
        try:
            return dt.datetime.fromisoformat(text)
        except ValueError:
            raise InputError(f"{self._what(name)} must be an ISO 8601 date-time, found {text!r}") from None

    # -- optional values ---------------------------------------------------------------------

    def optional_iri(self, name: builtins.str) -> builtins.str | None:
        """The IRI bound to ``?name``, or ``None`` when unbound."""
        return self.iri(name) if self.has(name) else None

    def optional_str(self, name: builtins.str) -> builtins.str | None:
        """The literal's text bound to ``?name``, or ``None`` when unbound."""
        return self.str(name) if self.has(name) else None

    def optional_float(self, name: builtins.str) -> builtins.float | None:
        """The number bound to ``?name``, or ``None`` when unbound."""
        return self.float(name) if self.has(name) else None

    def optional_int(self, name: builtins.str) -> builtins.int | None:
        """The integer bound to ``?name``, or ``None`` when unbound."""
        return self.int(name) if self.has(name) else None

    def optional_bool(self, name: builtins.str) -> builtins.bool | None:
        """The boolean bound to ``?name``, or ``None`` when unbound."""
        return self.bool(name) if self.has(name) else None


def solutions(result: object, query: builtins.str) -> QuerySolutions:
    """``result`` as the solutions of a SELECT; a shipped query of another form is a bug named by its file."""
    if not isinstance(result, QuerySolutions):
        raise TypeError(f"the query {query} must be a SELECT, it gave {type(result).__name__}")
    return result


def read_rows(
    solutions: QuerySolutions | Iterable[QuerySolution],
    subject: str | None = None,
    properties: Mapping[str, str] | None = None,
    source: str = "",
) -> list[Row]:
    """Every solution as a :class:`Row`, read whole (an open iterator slows later reads of a disk store)."""
    return [Row(solution, subject, properties, source) for solution in solutions]
