"""SHACL shapes compiled to SPARQL, evaluated by Oxigraph.

pySHACL walks the data graph in Python and is far too slow for a SimBench
portfolio (≈2.3 M triples for the complete data set). ``ShapeValidator`` reads
the shapes once, turns every constraint into a SPARQL ``SELECT`` that returns the nodes breaking it,
and lets pyoxigraph (Rust) run those queries over the data.

Compiled SHACL (anything else in the ``sh:`` namespace on a shape is an
:class:`UnsupportedShapeError` at compile time, never silently ignored; :meth:`ShapeValidator.from_graphs`
then hands the shapes to the conformant engine, :mod:`enertwin.kg.validation.conformant`):

* node and property shapes (typed or not) with ``sh:targetClass``, ``sh:targetNode`` (IRIs and
  literals), ``sh:targetSubjectsOf``, ``sh:targetObjectsOf``, or as implicit class targets (a shape
  that is also an ``rdfs:Class``); property shapes reached through a node shape's ``sh:property``
  (one inside a property shape is refused);
* ``sh:path``: an IRI or ``[ sh:inversePath IRI ]``;
* ``sh:minCount``, ``sh:maxCount``, ``sh:datatype`` (types whose lexical form is checked; other XSD
  types are refused), ``sh:class``,
  ``sh:nodeKind``, ``sh:minInclusive``, ``sh:maxInclusive``,
  ``sh:minExclusive``, ``sh:maxExclusive``, ``sh:lessThanOrEquals``,
  ``sh:in``, ``sh:hasValue``, ``sh:pattern`` (with ``sh:flags``), ``sh:or``
  whose members are all ``[ sh:class C ]``;
* ``sh:sparql`` with a ``SELECT`` using ``$this`` (and optionally ``?value``,
  ``?path``), prefixes from ``sh:prefixes`` / ``sh:declare``, when joining the focus nodes gives what
  SHACL's pre-binding gives (no ``$this`` in a nested group but ``FILTER (NOT) EXISTS``; no
  ``MINUS``, ``SERVICE``, ``VALUES`` or sub-``SELECT``); constraint components are refused;
* ``sh:severity``, ``sh:message`` (``{?var}`` / ``{$var}`` are filled from the
  result), ``sh:deactivated``; ``sh:name``, ``sh:description``, ``sh:order``,
  ``sh:group`` are accepted and ignored.

Semantics that differ from a generic SHACL engine, on purpose:

* Class hierarchy comes from the ontology at compile time. A target class
  stands for the class and all its ``rdfs:subClassOf`` descendants, and so does
  the class of ``sh:class``; individuals the ontology types with such a class
  count as its instances. The data store needs no ontology triples, and
  ``rdfs:subClassOf`` triples in the data are not consulted.
* ``validate`` reads all graphs of the store as one (union default graph).

Templates are the ``shacl_*.rq`` files beside this module. A shape's terms
reach a query only as RDF terms: single values through pyoxigraph
substitutions (so every substituted variable is projected), sets as a
``VALUES`` block serialised from terms. The one exception is the text of a
``sh:sparql`` constraint, which is code written by the shapes' author.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import cache
from importlib.resources import files

from pyoxigraph import (
    BlankNode,
    Literal,
    NamedNode,
    QuerySolution,
    QuerySolutions,
    Store,
    Triple,
)

from enertwin.kg import namespaces as ns
from enertwin.kg.validation.compiler import (
    CompiledQuery,
    UnsupportedShapeError,
    compile_shapes,
    iri_text,
    load_template,
    parse_turtle,
)
from enertwin.kg.validation.conformant import ConformantShapes
from enertwin.kg.validation.report import ValidationReport, ValidationResult
from enertwin.kg.violation import Severity, Violation

Term = NamedNode | BlankNode | Literal | Triple


__all__ = ["CompiledQuery", "ShapeValidator", "UnsupportedShapeError"]

_MESSAGE_VARIABLE = re.compile(r"\{[?$]([A-Za-z_]\w*)\}")
_XSD_STRING = ns.XSD_STRING


class ShapeValidator:
    """Validate pyoxigraph stores against SHACL shapes compiled to SPARQL."""

    def __init__(
        self,
        queries: Iterable[CompiledQuery],
        conformant: ConformantShapes | None = None,
        ontology: Store | None = None,
    ) -> None:
        """Wrap compiled queries (or a conformant engine); use :meth:`default` or :meth:`from_graphs`."""
        self.queries: tuple[CompiledQuery, ...] = tuple(queries)
        self.conformant = conformant
        self._ontology = [q.triple for q in ontology] if ontology is not None else []

    @classmethod
    def default(cls) -> ShapeValidator:
        """Return the validator of the shapes and ontology shipped with enertwin (compiled once)."""
        return _default_validator()

    @classmethod
    def from_graphs(cls, shapes_ttl: list[str], ontology_ttl: list[str]) -> ShapeValidator:
        """Compile shapes (Turtle texts) against the class hierarchy of the ontology (Turtle texts)."""
        shapes = parse_turtle(shapes_ttl)
        ontology = parse_turtle(ontology_ttl)
        ontology.extend(shapes)  # rdfs:subClassOf written beside the shapes counts too
        try:
            return cls(compile_shapes(shapes, ontology))
        except UnsupportedShapeError:
            # Shapes the fast path does not translate: the conformant engine checks them all, and
            # reads the class hierarchy and individuals from the ontology's triples beside the data.
            return cls((), ConformantShapes(shapes_ttl), parse_turtle(ontology_ttl))

    @classmethod
    def for_data(cls, shapes: Store, data: Store) -> ShapeValidator:
        """Compile ``shapes`` as the SHACL standard reads them: classes and subclasses from ``data`` itself."""
        return cls(compile_shapes(shapes, data, individuals=False))

    def report(self, data: Store) -> ValidationReport:
        """The SHACL validation report of ``data`` (all its graphs): every result, with its terms."""
        if self.conformant is not None:
            return self.conformant.report(data, extra=self._ontology)
        found: dict[tuple[int, ValidationResult], None] = {}  # one result per constraint, focus and value
        for number, (query, variables, solutions) in enumerate(self._answers(data)):
            component = NamedNode(ns.SH_BASE + query.component)
            severity = query.severity_iri or NamedNode(ns.SH_BASE + query.severity.value)
            for solution in solutions:
                focus = solution["this"]
                if focus is None:
                    continue
                value = solution["value"] if "value" in variables else None
                if value is None and query.constraint is not None and query.path_term is None:
                    value = focus  # SHACL-SPARQL: a node shape's result without ?value has the focus node
                path, path_triples = query.path_term, query.path_triples
                if query.path_term is None and "path" in variables and solution["path"] is not None:
                    path, path_triples = solution["path"], ()
                messages = tuple(_fill_literal(m, solution, variables) for m in query.messages)
                result = ValidationResult(
                    focus=focus,
                    component=component,
                    source_shape=query.source or NamedNode(query.shape),
                    severity=severity,
                    path=path,
                    value=value,
                    messages=messages or (Literal(_fill(query.message, solution, variables)),),
                    source_constraint=query.constraint,
                    path_triples=path_triples,
                )
                found[number, result] = None
        results = sorted(
            (r for _, r in found), key=lambda r: (str(r.focus), str(r.source_shape), r.component.value, str(r.value))
        )
        return ValidationReport(tuple(results), engine="compiled")

    def _answers(self, data: Store) -> list[tuple[CompiledQuery, set[str], list[QuerySolution]]]:
        """Run the queries whose targets can have focus nodes in ``data``, side by side."""
        rows = data.query(load_template("shacl_present_classes.rq"), use_default_graph_as_union=True)
        assert isinstance(rows, QuerySolutions)
        present = {row["class"] for row in rows}
        selected = [q for q in self.queries if q.untyped_targets or not q.targets.isdisjoint(present)]

        def run(query: CompiledQuery) -> tuple[set[str], list[QuerySolution]]:
            solutions = data.query(
                query.sparql, use_default_graph_as_union=True, substitutions=dict(query.substitutions)
            )
            assert isinstance(solutions, QuerySolutions)
            return {v.value for v in solutions.variables}, list(solutions)

        # Oxigraph evaluates without the GIL: the queries run side by side on every core.
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            answers = list(pool.map(run, selected))
        return [(q, variables, solutions) for q, (variables, solutions) in zip(selected, answers, strict=True)]

    def validate(self, data: Store) -> list[Violation]:
        """Every violation in ``data`` (all its graphs), sorted by focus node and shape."""
        found: dict[Violation, None] = {}
        focus_terms: dict[str, Term] = {}
        if self.conformant is not None:
            for r in self.report(data).results:
                focus_terms[iri_text(r.focus)] = r.focus
                found[_violation(r)] = None
        for query, variables, solutions in self._answers(data):
            for solution in solutions:
                focus = solution["this"]
                if focus is None or isinstance(focus, Triple):
                    continue
                value = solution["value"] if "value" in variables else None
                key = iri_text(focus)
                focus_terms[key] = focus
                violation = Violation(
                    focus=key,
                    shape=query.shape,
                    message=_fill(query.message, solution, variables),
                    severity=query.severity,
                    path=query.path if query.path or "path" not in variables else _path_of(solution),
                    value=None if value is None else _show(value),
                )
                found[violation] = None
        names = {key: _source_name(data, term) for key, term in focus_terms.items()}
        result = [replace(v, source_name=names[v.focus]) for v in found]
        result.sort(key=lambda v: (v.focus, v.shape, v.path or "", v.value or "", v.message))
        return result


def _violation(result: ValidationResult) -> Violation:
    """A conformant engine's result as the store reports violations."""
    severity = {f"{ns.SH_BASE}{s.value}": s for s in Severity}.get(result.severity.value, Severity.VIOLATION)
    message = result.messages[0].value if result.messages else f"Value does not satisfy <{result.component.value}>."
    return Violation(
        focus=iri_text(result.focus),
        shape=iri_text(result.source_shape),
        message=message,
        severity=severity,
        path=result.path.value if isinstance(result.path, NamedNode) else None,
        value=None if result.value is None else _show(result.value),
    )


@cache
def _default_validator() -> ShapeValidator:
    return ShapeValidator.from_graphs(_package_ttl("enertwin.shapes"), _package_ttl("enertwin.ontology"))


def _package_ttl(package: str) -> list[str]:
    """Texts of the Turtle files shipped in ``package``, in name order."""
    entries = sorted((e for e in files(package).iterdir() if e.name.endswith(".ttl")), key=lambda e: e.name)
    return [e.read_text(encoding="utf-8") for e in entries]


# -----------------------------------------------------------------------------
# Results
# -----------------------------------------------------------------------------

_SHORT_DATATYPES = (ns.XSD_BASE, "xsd:"), (ns.RDF_BASE, "rdf:")


def _show(term: object) -> str:
    """Show a term to people: an IRI as itself, a literal in N-Triples with xsd: shortened."""
    if isinstance(term, NamedNode):
        return term.value
    if isinstance(term, Literal):
        if term.language:
            return str(term)
        quoted = str(Literal(term.value))
        if term.datatype == _XSD_STRING:
            return quoted
        datatype = term.datatype.value
        for base, prefix in _SHORT_DATATYPES:
            if datatype.startswith(base):
                return f"{quoted}^^{prefix}{datatype[len(base) :]}"
        return f"{quoted}^^<{datatype}>"
    return str(term)


def _fill(message: str, solution: QuerySolution, variables: set[str]) -> str:
    """Put ``{?var}`` / ``{$var}`` of a message from the solution's bindings."""
    if "{" not in message:
        return message

    def value_of(match: re.Match[str]) -> str:
        term = solution[match.group(1)] if match.group(1) in variables else None
        return match.group(0) if term is None else _show(term)

    return _MESSAGE_VARIABLE.sub(value_of, message)


def _fill_literal(message: Literal, solution: QuerySolution, variables: set[str]) -> Literal:
    """A ``sh:message`` with its ``{?var}`` filled, its language kept."""
    text = _fill(message.value, solution, variables)
    if message.language:
        return Literal(text, language=message.language)
    return Literal(text, datatype=message.datatype)


def _path_of(solution: QuerySolution) -> str | None:
    term = solution["path"]
    return term.value if isinstance(term, NamedNode) else None


def _source_name(data: Store, focus: Term) -> str | None:
    if not isinstance(focus, NamedNode | BlankNode):
        return None
    quads = data.quads_for_pattern(focus, ns.SOURCE_NAME, None, None)
    names = sorted(q.object.value for q in quads if isinstance(q.object, Literal))
    return names[0] if names else None
