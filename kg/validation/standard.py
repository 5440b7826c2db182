"""Any shapes on any data, as the SHACL standard says: the fast path where it covers the shapes.

The compiled fast path (:mod:`enertwin.kg.validation.shacl`) refuses what it does not
translate with an :class:`UnsupportedShapeError`; those shapes go whole to the conformant
engine (:mod:`enertwin.kg.validation.conformant`). Both give the same
:class:`~enertwin.kg.validation.report.ValidationReport`, checked against the W3C suite.

The fast path reads the data through an Oxigraph store, which keeps literals by value:
``"4.0"^^xsd:decimal`` comes back as ``"4"``, ``"5"^^xsd:int`` as ``"5"^^xsd:integer``. When the
shapes or the data hold such a literal, the standard's answer depends on the written form, so
they go to the conformant engine as written.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyoxigraph import Literal, RdfFormat, Store, parse

from enertwin.kg.validation.compiler import UnsupportedShapeError
from enertwin.kg.validation.conformant import ConformantShapes, ShapesError
from enertwin.kg.validation.report import ValidationReport
from enertwin.kg.validation.shacl import ShapeValidator

__all__ = ["DataError", "ShapesError", "TurtleSource", "validate_turtle"]


class DataError(ValueError):
    """The data to validate is not valid Turtle."""


@dataclass(frozen=True, slots=True)
class TurtleSource:
    """A Turtle document: its text and the IRI relative IRIs resolve against."""

    text: str
    base_iri: str | None = None


def validate_turtle(shapes: TurtleSource, data: TurtleSource) -> ValidationReport:
    """Validate ``data`` against ``shapes``, class membership read from the data graph as SHACL says.

    Ill-formed shapes raise :class:`ShapesError`, data that is not Turtle :class:`DataError`.
    """
    shapes_store, shapes_literals = _load(shapes, ShapesError, "shapes")
    data_store, data_literals = _load(data, DataError, "data")
    try:
        if not (shapes_literals <= _literals(shapes_store) and data_literals <= _literals(data_store)):
            raise UnsupportedShapeError("literals the store keeps in another lexical form")
        validator = ShapeValidator.for_data(shapes_store, data_store)
    except UnsupportedShapeError:
        return ConformantShapes([shapes.text], shapes.base_iri).report_text(data.text, data.base_iri)
    return validator.report(data_store)


def _load(source: TurtleSource, error: type[ValueError], role: str) -> tuple[Store, set[Literal]]:
    """The document in a store, and its literals as written."""
    store = Store()
    try:
        store.load(source.text, format=RdfFormat.TURTLE, base_iri=source.base_iri)
        triples = parse(source.text, format=RdfFormat.TURTLE, base_iri=source.base_iri)
        literals = {t.object for t in triples if isinstance(t.object, Literal)}
    except SyntaxError as exc:
        raise error(f"the {role} are not valid Turtle: {exc}") from exc
    return store, literals


def _literals(store: Store) -> set[Literal]:
    return {q.object for q in store if isinstance(q.object, Literal)}
