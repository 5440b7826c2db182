"""Read the W3C SHACL test suite (tests/data/shacl-w3c) and judge reports as the suite says.

The suite's rule (data-shapes-test-suite/index.html, "Validation Report Comparison"):
the expected graph is the manifest's ``mf:result`` node, its ``sh:result`` nodes and their
``sh:resultPath`` structures; the actual report is cut to the same predicates (messages only
where the expected report names them) and both must be isomorphic, blank nodes included.
A test whose result is ``sht:Failure`` passes when validation reports a failure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pyoxigraph import RdfFormat, Store
from rdflib import RDF, BNode, Graph, Namespace, URIRef
from rdflib.compare import isomorphic

from enertwin.kg.validation.report import ValidationReport

SUITE = Path(__file__).resolve().parent.parent / "data" / "shacl-w3c"
FOLDERS = ("core", "sparql")

MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
SHT = Namespace("http://www.w3.org/ns/shacl-test#")
SH = Namespace("http://www.w3.org/ns/shacl#")

_KEPT = {
    SH.result,
    SH.conforms,
    SH.focusNode,
    SH.resultPath,
    SH.resultSeverity,
    SH.sourceConstraint,
    SH.sourceConstraintComponent,
    SH.sourceShape,
    SH.value,
}


@dataclass(frozen=True)
class Case:
    """One ``sht:Validate`` test of the suite."""

    name: str  # folder/subfolder/test, e.g. core/node/class-001
    folder: str  # core/node
    shapes: Path
    data: Path
    expected: Graph | None  # None: the test expects a failure (malformed shapes)

    def shapes_store(self) -> Store:
        return _store(self.shapes)

    def data_store(self) -> Store:
        return _store(self.data)


def _store(path: Path) -> Store:
    store = Store()
    store.load(path=str(path), format=RdfFormat.TURTLE, base_iri=path.as_uri())
    return store


def cases() -> list[Case]:
    """Every test of the Core and SHACL-SPARQL folders, in manifest order."""
    found: list[Case] = []
    for folder in FOLDERS:
        found.extend(_read(SUITE / folder / "manifest.ttl"))
    return found


def _read(manifest: Path) -> Iterator[Case]:
    graph = Graph()
    graph.parse(manifest, format="turtle", publicID=manifest.as_uri())
    root = URIRef(manifest.as_uri())
    for include in graph.objects(root, MF.include):
        yield from _read(Path(str(include).removeprefix("file://")))
    entries = graph.value(root, MF.entries)
    if entries is None:
        return
    for test in graph.items(entries):
        if (test, RDF.type, SHT.Validate) not in graph:
            continue
        action = graph.value(test, MF.action)
        shapes = Path(str(graph.value(action, SHT.shapesGraph)).removeprefix("file://"))
        data = Path(str(graph.value(action, SHT.dataGraph)).removeprefix("file://"))
        result = graph.value(test, MF.result)
        folder = manifest.parent.relative_to(SUITE).as_posix()
        name = f"{folder}/{str(test).rsplit('/', 1)[-1]}"
        expected = None if result == SHT.Failure else _expected(graph, result)
        yield Case(name, folder, shapes, data, expected)


def _expected(graph: Graph, report: object) -> Graph:
    """The manifest's expected report: the report node, its results and their paths."""
    out = Graph()
    for p, o in graph.predicate_objects(report):
        out.add((report, p, o))
    for result in graph.objects(report, SH.result):
        for p, o in graph.predicate_objects(result):
            out.add((result, p, o))
            if p == SH.resultPath:
                _copy_structure(graph, o, out)
    return out


def _copy_structure(source: Graph, node: object, out: Graph) -> None:
    """Copy the blank node structure under ``node`` (a path: lists, inverse, alternative, ...)."""
    if not isinstance(node, BNode):
        return
    for p, o in source.predicate_objects(node):
        out.add((node, p, o))
        _copy_structure(source, o, out)


def actual(report: ValidationReport, expected: Graph) -> Graph:
    """The engine's report cut as the suite says, as an rdflib graph."""
    full = Graph()
    full.parse(data=report.to_turtle(), format="turtle")
    wanted_messages = set(expected.objects(None, SH.resultMessage))
    out = Graph()
    for s, p, o in full:
        if p == RDF.type and o in (SH.ValidationReport, SH.ValidationResult):
            out.add((s, p, o))
        elif p == SH.resultMessage:
            if o in wanted_messages:
                out.add((s, p, o))
        elif p in _KEPT:
            out.add((s, p, o))
            if p == SH.resultPath:
                _copy_structure(full, o, out)
    return out


def verdict(case: Case, validate: Callable[[Case], ValidationReport], refused: tuple[type, ...]) -> str:
    """Return ``pass``, ``refused`` (a clear error for what the engine does not support) or ``wrong``."""
    try:
        report = validate(case)
    except refused:
        return "pass" if case.expected is None else "refused"
    except Exception:  # any other exception is a crash, which the table counts as wrong
        return "wrong"
    if case.expected is None:
        return "wrong"
    return "pass" if isomorphic(actual(report, case.expected), case.expected) else "wrong"
