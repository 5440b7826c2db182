"""The conformant engine: pyshacl-turbo (Rust) for every shape the compiled fast path does not cover.

It implements SHACL Core and SHACL-SPARQL as the W3C test suite checks them, compiles a
shapes graph once and validates a pyoxigraph ``Store`` directly. Its report (an rdflib
graph) is read back into a :class:`~enertwin.kg.validation.report.ValidationReport`.
Shapes it cannot load (ill-formed SHACL) are a :class:`ShapesError` naming the reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import chain

from pyoxigraph import BlankNode, Literal, NamedNode, RdfFormat, Store, Triple, parse, serialize
from pyshacl_turbo import CompiledShapes, ReportableRuntimeError, ValidationFailure
from rdflib import BNode, Graph, URIRef
from rdflib import Literal as RdfLiteral
from rdflib.term import Node as RdfNode

from enertwin.kg import namespaces as ns
from enertwin.kg.validation.report import (
    SH_FOCUS_NODE,
    SH_RESULT,
    SH_RESULT_MESSAGE,
    SH_RESULT_PATH,
    SH_RESULT_SEVERITY,
    SH_SOURCE_CONSTRAINT,
    SH_SOURCE_CONSTRAINT_COMPONENT,
    SH_SOURCE_SHAPE,
    SH_VALUE,
    SH_VIOLATION,
    Term,
    ValidationReport,
    ValidationResult,
)

ENGINE = "pyshacl-turbo"


class ShapesError(ValueError):
    """The shapes graph is not well-formed SHACL (the SHACL spec calls this a failure)."""


class ConformantShapes:
    """A shapes graph compiled once by the conformant engine, applied to any number of data stores."""

    def __init__(self, shapes_ttl: Sequence[str], base_iri: str | None = None) -> None:
        """Compile shapes given as Turtle texts; ill-formed SHACL raises :class:`ShapesError`.

        The texts reach the engine as N-Triples in document order: pyshacl-turbo 0.6.5 reports
        ``"4.0"^^xsd:decimal`` as ``"4"^^xsd:decimal`` when it reads a shapes graph in another
        order (W3C core/node/maxExclusive-001 with a store's dump).
        """
        lines: list[bytes] = []
        for text in shapes_ttl:
            try:
                triples = list(parse(text, format=RdfFormat.TURTLE, base_iri=base_iri))
            except SyntaxError as exc:
                raise ShapesError(f"the shapes are not valid Turtle: {exc}") from exc
            lines.append(serialize(triples, format=RdfFormat.N_TRIPLES) or b"")
        try:
            self._compiled = CompiledShapes(b"".join(lines).decode("utf-8"), shacl_graph_format="nt")
        except (ValidationFailure, ReportableRuntimeError, ValueError, RuntimeError) as exc:
            raise ShapesError(f"the shapes are not valid SHACL: {exc}") from exc

    def report(self, data: Store, extra: Iterable[Triple] = ()) -> ValidationReport:
        """Validate ``data`` (all its graphs as one), with ``extra`` triples (an ontology) beside it."""
        return self._report(_ntriples(data, extra))

    def report_text(self, data_ttl: str, base_iri: str | None = None) -> ValidationReport:
        """Validate data written in Turtle, its literals as written (a store would canonicalise them)."""
        triples = list(parse(data_ttl, format=RdfFormat.TURTLE, base_iri=base_iri))
        return self._report((serialize(triples, format=RdfFormat.N_TRIPLES) or b"").decode("utf-8"))

    def _report(self, data_nt: str) -> ValidationReport:
        try:
            outcome = self._compiled.validate(data_nt, data_graph_format="nt", _normalize_report_literals=False)
        except (ValidationFailure, ReportableRuntimeError) as exc:
            raise ShapesError(f"the shapes cannot be applied: {exc}") from exc
        conforms, graph, _ = outcome
        if isinstance(graph, Exception):
            raise ShapesError(f"the shapes cannot be applied: {graph}")
        return _read_report(graph, bool(conforms))


def _ntriples(store: Store, extra: Iterable[Triple] = ()) -> str:
    """Every graph of the store as one set of N-Triples (the data graph is their union).

    pyshacl-turbo 0.6.5 reads a pyoxigraph ``Store`` with plain string literals that no longer
    equal ``xsd:string`` ones (``sh:in ("A")`` then rejects ``"A"``); text input has no such bug.
    """
    triples = chain((q.triple for q in store), extra)
    return (serialize(triples, format=RdfFormat.N_TRIPLES) or b"").decode("utf-8")


def _read_report(graph: Graph, conforms: bool) -> ValidationReport:
    """Turn the engine's report graph into terms (blank node labels kept)."""
    results: list[ValidationResult] = []
    for result in graph.objects(None, URIRef(SH_RESULT.value)):

        def one(predicate: NamedNode, node: RdfNode = result) -> Term | None:
            value = graph.value(node, URIRef(predicate.value))
            return None if value is None else _term(value)

        path = graph.value(result, URIRef(SH_RESULT_PATH.value))
        focus, component, shape = one(SH_FOCUS_NODE), one(SH_SOURCE_CONSTRAINT_COMPONENT), one(SH_SOURCE_SHAPE)
        severity = one(SH_RESULT_SEVERITY) or SH_VIOLATION
        if focus is None or not isinstance(component, NamedNode) or shape is None:
            raise ShapesError(f"{ENGINE} gave a result without focus node, component or shape: {result}")
        if not isinstance(severity, NamedNode):
            raise ShapesError(f"{ENGINE} gave a result whose severity is not an IRI: {severity}")
        messages = tuple(
            m
            for m in (_term(o) for o in graph.objects(result, URIRef(SH_RESULT_MESSAGE.value)))
            if isinstance(m, Literal)
        )
        results.append(
            ValidationResult(
                focus=focus,
                component=component,
                source_shape=shape,
                severity=severity,
                path=None if path is None else _term(path),
                value=one(SH_VALUE),
                messages=messages,
                source_constraint=one(SH_SOURCE_CONSTRAINT),
                path_triples=tuple(_structure(graph, path)) if isinstance(path, BNode) else (),
            )
        )
    if conforms != (not results):
        raise ShapesError(f"{ENGINE} said conforms={conforms} with {len(results)} results")
    results.sort(key=lambda r: (str(r.focus), str(r.source_shape), r.component.value, str(r.value)))
    return ValidationReport(tuple(results), engine=ENGINE)


def _structure(graph: Graph, node: RdfNode) -> list[Triple]:
    """The triples of the blank node structure under ``node`` (a path)."""
    out: list[Triple] = []
    todo, seen = [node], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for p, o in graph.predicate_objects(current):
            out.append(Triple(_term(current), _term(p), _term(o)))  # type: ignore[arg-type]
            if isinstance(o, BNode):
                todo.append(o)
    return out


def _term(node: RdfNode) -> Term:
    if isinstance(node, URIRef):
        return NamedNode(str(node))
    if isinstance(node, BNode):
        return BlankNode(str(node))
    if isinstance(node, RdfLiteral):
        if node.language:
            return Literal(str(node), language=node.language)
        datatype = node.datatype or URIRef(ns.XSD_STRING.value)
        return Literal(str(node), datatype=NamedNode(str(datatype)))
    raise ShapesError(f"{ENGINE} gave a term of unknown kind: {node!r}")
