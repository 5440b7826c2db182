"""The SHACL validation report as RDF terms, whichever engine produced it.

Both engines (the compiled fast path and the conformant engine) return a
:class:`ValidationReport`, so the CLI, the store and the W3C conformance tests read one
shape of result, and the report can be written as a real ``sh:ValidationReport`` graph.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from pyoxigraph import BlankNode, Literal, NamedNode, RdfFormat, Triple, serialize

from enertwin.kg import namespaces as ns

Term = NamedNode | BlankNode | Literal | Triple


def _sh(local: str) -> NamedNode:
    return NamedNode(ns.SH_BASE + local)


SH_VALIDATION_REPORT = _sh("ValidationReport")
SH_VALIDATION_RESULT = _sh("ValidationResult")
SH_CONFORMS = _sh("conforms")
SH_RESULT = _sh("result")
SH_FOCUS_NODE = _sh("focusNode")
SH_RESULT_PATH = _sh("resultPath")
SH_RESULT_SEVERITY = _sh("resultSeverity")
SH_SOURCE_CONSTRAINT = _sh("sourceConstraint")
SH_SOURCE_CONSTRAINT_COMPONENT = _sh("sourceConstraintComponent")
SH_SOURCE_SHAPE = _sh("sourceShape")
SH_VALUE = _sh("value")
SH_RESULT_MESSAGE = _sh("resultMessage")
SH_VIOLATION = _sh("Violation")

_PREFIXES = {"sh": ns.SH_BASE, "xsd": ns.XSD_BASE, "rdf": ns.RDF_BASE}


@dataclass(frozen=True, slots=True)
class ValidationResult:
    """One ``sh:ValidationResult``: a focus node that breaks one constraint of one shape.

    ``path_triples`` hold the blank node structure of a path that is not a single IRI
    (``[ sh:inversePath ex:p ]``, sequences, ...), rooted at ``path``.
    """

    focus: Term
    component: NamedNode
    source_shape: Term
    severity: NamedNode = SH_VIOLATION
    path: Term | None = None
    value: Term | None = None
    messages: tuple[Literal, ...] = ()
    source_constraint: Term | None = None
    path_triples: tuple[Triple, ...] = ()

    def triples(self, node: BlankNode) -> Iterable[Triple]:
        """The result's triples, with ``node`` as the result's subject."""
        yield Triple(node, ns.RDF_TYPE, SH_VALIDATION_RESULT)
        yield Triple(node, SH_FOCUS_NODE, self.focus)
        yield Triple(node, SH_RESULT_SEVERITY, self.severity)
        yield Triple(node, SH_SOURCE_CONSTRAINT_COMPONENT, self.component)
        yield Triple(node, SH_SOURCE_SHAPE, self.source_shape)
        if self.path is not None:
            # each result gets its own copy of a path's blank nodes (results share no structure)
            fresh: dict[BlankNode, BlankNode] = {}

            def copy(term: Term) -> Term:
                return fresh.setdefault(term, BlankNode()) if isinstance(term, BlankNode) else term

            yield Triple(node, SH_RESULT_PATH, copy(self.path))
            for t in self.path_triples:
                yield Triple(copy(t.subject), t.predicate, copy(t.object))  # type: ignore[arg-type]
        if self.value is not None:
            yield Triple(node, SH_VALUE, self.value)
        if self.source_constraint is not None:
            yield Triple(node, SH_SOURCE_CONSTRAINT, self.source_constraint)
        for message in self.messages:
            yield Triple(node, SH_RESULT_MESSAGE, message)


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """A ``sh:ValidationReport``: the data conforms when there is no result of any severity."""

    results: tuple[ValidationResult, ...] = field(default_factory=tuple)
    engine: str = ""

    @property
    def conforms(self) -> bool:
        """Whether the data conforms (SHACL: no result at all, whatever its severity)."""
        return not self.results

    def triples(self) -> list[Triple]:
        """The report graph; results and paths are fresh blank nodes."""
        report = BlankNode()
        out = [
            Triple(report, ns.RDF_TYPE, SH_VALIDATION_REPORT),
            Triple(report, SH_CONFORMS, Literal(self.conforms)),
        ]
        for result in self.results:
            node = BlankNode()
            out.append(Triple(report, SH_RESULT, node))
            out.extend(result.triples(node))
        return out

    def to_turtle(self) -> str:
        """The report graph in Turtle."""
        data = serialize(self.triples(), format=RdfFormat.TURTLE, prefixes=_PREFIXES)
        return (data or b"").decode("utf-8")

    def to_json(self) -> str:
        """The report as JSON: ``conforms`` and one object per result, terms in N-Triples form (IRIs bare)."""
        results = [
            {
                "focusNode": _json_term(r.focus),
                "resultPath": _json_path(r),
                "value": None if r.value is None else _json_term(r.value),
                "sourceShape": _json_term(r.source_shape),
                "sourceConstraintComponent": r.component.value,
                "resultSeverity": r.severity.value,
                "resultMessage": [m.value for m in r.messages],
            }
            for r in self.results
        ]
        return json.dumps({"conforms": self.conforms, "results": results}, indent=2, ensure_ascii=False)


def _json_term(term: Term) -> str:
    return term.value if isinstance(term, NamedNode) else str(term)


def _json_path(result: ValidationResult) -> str | None:
    if result.path is None:
        return None
    if not result.path_triples:
        return _json_term(result.path)
    edges: dict[Term, dict[str, Term]] = {}
    for t in result.path_triples:
        edges.setdefault(t.subject, {})[t.predicate.value.rsplit("#", 1)[-1]] = t.object
    return _path_text(result.path, edges)


_PATH_SUFFIXES = {"zeroOrMorePath": "*", "oneOrMorePath": "+", "zeroOrOnePath": "?"}


def _path_text(node: Term, edges: dict[Term, dict[str, Term]]) -> str:
    """A SHACL path as a SPARQL property path (``^<p>``, ``(<a>/<b>)``, ``(<a>|<b>)``, ``<p>*``)."""
    if isinstance(node, NamedNode) and node not in edges:
        return f"<{node.value}>"
    out = edges.get(node, {})
    if "first" in out:
        return "(" + "/".join(_path_text(member, edges) for member in _members(node, edges)) + ")"
    if "inversePath" in out:
        return "^" + _path_text(out["inversePath"], edges)
    if "alternativePath" in out:
        return "(" + "|".join(_path_text(m, edges) for m in _members(out["alternativePath"], edges)) + ")"
    for key, suffix in _PATH_SUFFIXES.items():
        if key in out:
            return _path_text(out[key], edges) + suffix
    return str(node)


def _members(head: Term, edges: dict[Term, dict[str, Term]]) -> list[Term]:
    members: list[Term] = []
    while head in edges and "first" in edges[head] and len(members) < len(edges):
        members.append(edges[head]["first"])
        head = edges[head].get("rest", head)
    return members
