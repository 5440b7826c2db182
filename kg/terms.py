"""One conversion of RDF terms to Python values, used by every reader and printer.

``enertwin query --format json`` and ``enertwin report --format json`` print through it, so
the same literal prints the same way everywhere: numbers as numbers, ``xsd:boolean`` as a
boolean, IRIs and blank nodes by their value, everything else by its lexical form.
"""

from __future__ import annotations

from pyoxigraph import BlankNode, Literal, NamedNode, Triple

from enertwin.kg import namespaces as ns

PlainValue = str | int | float | bool | None

INTEGER_TYPES = frozenset(
    ns.XSD_BASE + name
    for name in (
        "integer",
        "int",
        "long",
        "short",
        "byte",
        "nonNegativeInteger",
        "positiveInteger",
        "nonPositiveInteger",
        "negativeInteger",
        "unsignedLong",
        "unsignedInt",
        "unsignedShort",
        "unsignedByte",
    )
)
DECIMAL_TYPES = frozenset(ns.XSD_BASE + name for name in ("double", "float", "decimal"))
BOOLEAN_WORDS = {"true": True, "1": True, "false": False, "0": False}


def to_python(term: NamedNode | BlankNode | Literal | Triple | None) -> PlainValue:
    """A JSON-ready Python value for ``term``; an ill-typed literal keeps its lexical form.

    >>> to_python(Literal("true", datatype=ns.XSD_BOOLEAN))
    True
    >>> to_python(Literal("42", datatype=ns.XSD_INTEGER)), to_python(Literal("2.5", datatype=ns.XSD_DOUBLE))
    (42, 2.5)
    >>> to_python(NamedNode("https://example.org/a")), to_python(None)
    ('https://example.org/a', None)
    """
    if term is None:
        return None
    if isinstance(term, Literal):
        return literal_value(term)
    if isinstance(term, NamedNode | BlankNode):
        return term.value
    return str(term)


def literal_value(term: Literal) -> PlainValue:
    """The Python value of a literal by its datatype; its text when the lexical form does not fit the type."""
    kind, text = term.datatype.value, term.value
    try:
        if kind in INTEGER_TYPES:
            return int(text)
        if kind in DECIMAL_TYPES:
            return float(text)
    except ValueError:
        return text
    if kind == ns.XSD_BOOLEAN.value:
        return BOOLEAN_WORDS.get(text, text)
    return text


def lexical(term: NamedNode | BlankNode | Literal | Triple | None) -> str:
    """The text of ``term`` as stored: an IRI, a blank node label or a literal's lexical form ("" when unbound)."""
    if term is None:
        return ""
    if isinstance(term, NamedNode | BlankNode | Literal):
        return term.value
    return str(term)
