"""Validate a write before it is committed, at a cost in proportion to the write.

The shapes are evaluated on a scratch in-memory store that holds only what the
write touches, in the state the write would leave it: the nodes it adds, removes
or changes, the nodes that point at them, and the nodes one hop further.
Violations are kept only for the nodes the write can have changed, so a
one-asset change in a store of millions of triples validates in milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Literal as Position

from pyoxigraph import BlankNode, NamedNode, Quad, RdfFormat, Store, parse

from enertwin.kg import namespaces as ns
from enertwin.kg.backend import GraphBackend
from enertwin.kg.errors import InputError
from enertwin.kg.provenance.canonical import canonical_hash
from enertwin.kg.queries import inline_bindings, load_query
from enertwin.kg.rows import solutions
from enertwin.kg.series_base import Series
from enertwin.kg.validation.shacl import ShapeValidator
from enertwin.kg.violation import Severity, Violation

RECORD_GRAPH_BASE = ns.GRAPH_BASE + "record/"
SERIES_CHECK = "https://w3id.org/enertwin/shapes#SeriesReferenceCheck"


@dataclass(frozen=True, slots=True)
class Delta:
    """What a write does to one logical graph: replace it whole (``data``) or remove/add quads."""

    graph: NamedNode
    data: bytes | Path | None = None
    fmt: RdfFormat = RdfFormat.N_TRIPLES
    remove: tuple[Quad, ...] = ()
    add: tuple[Quad, ...] = ()

    @property
    def replaces(self) -> bool:
        """Whether the write replaces the whole graph."""
        return self.data is not None


@dataclass(frozen=True, slots=True)
class Dataset:
    """The physical graphs a write sees: the one it changes (if live) and all the others."""

    target: NamedNode | None
    others: tuple[NamedNode, ...]


def check_write(
    backend: GraphBackend,
    delta: Delta,
    dataset: Dataset,
    validator: ShapeValidator,
    series: Series,
    pending_series: frozenset[str] = frozenset(),
    *,
    hashed: bool = False,
) -> tuple[list[Violation], int, str | None]:
    """Violations the store would hold after ``delta`` on the nodes it touches, the delta's size and its hash.

    ``hashed``: also the RDFC-1.0 hash of a whole-graph replacement (what ``Store.version_hash`` will
    give of the version it becomes), taken from the parse validation makes anyway; else ``None``.
    """
    scratch = Store()
    _parse_into(scratch, delta)
    _refuse_key_publication(scratch, delta.graph)
    size = len(scratch)
    content = None
    if hashed and delta.replaces:
        content = canonical_hash(scratch.dump(format=RdfFormat.N_TRIPLES, from_graph=delta.graph) or b"", stored=True)
    # blank nodes of the write (a record's qualified associations) are checked too, by their scratch labels
    blanks = {str(q.subject) for q in scratch if isinstance(q.subject, BlankNode)}
    removed = {(q.subject, q.predicate, q.object) for q in delta.remove}
    focus = _focus_nodes(scratch)
    if delta.replaces and dataset.target is not None:
        focus |= _nodes(backend, dataset.target)
    elif not delta.replaces:
        focus |= {t for q in delta.remove for t in (q.subject, q.object) if isinstance(t, NamedNode)}

    # What survives the write: every other graph, and (for a change) the target minus what it removes.
    graphs: Sequence[NamedNode] = dataset.others
    if not delta.replaces and dataset.target is not None:
        graphs = (*dataset.others, dataset.target)

    def context(
        nodes: set[NamedNode], position: Position["s", "o"], predicates: Sequence[NamedNode] | None = None
    ) -> list[Quad]:
        found = backend.quads_with(list(nodes), position, graphs, predicates)
        return [q for q in found if q.graph_name != dataset.target or _triple(q) not in removed]

    # The nodes pointing at what the write touches are checked too (a removed bus breaks its loads).
    referrers = context(focus, "o")
    pointing = {q.subject for q in referrers if isinstance(q.subject, NamedNode)} - focus
    focus |= pointing
    around = referrers + context(pointing, "o") + context(focus, "s")
    # One hop further, described both ways, so that class checks and inverse checks
    # (a fuel type's cost entry) see their facts.
    hop = (_linked(around) | _nodes(scratch)) - focus  # what the new data links to is described, too
    around += context(hop, "s") + context(hop, "o", incoming_links())
    scratch.extend(around)

    names = {n.value for n in focus} | blanks
    found = [v for v in validator.validate(scratch) if v.focus in names]
    return found + series_violations(scratch, series, pending_series, names), size, content


def is_record_graph(graph: NamedNode) -> bool:
    """Whether logical graph ``graph`` is a ledger record (``etg:record/<n>``)."""
    return graph.value.startswith(RECORD_GRAPH_BASE) and graph.value[len(RECORD_GRAPH_BASE) :].isdigit()


def _refuse_key_publication(scratch: Store, graph: NamedNode) -> None:
    """Only ledger records may publish signing keys: a key published by any other write would count."""
    if is_record_graph(graph):
        return
    patterns = ((ns.PUBLIC_KEY, None), (ns.RDF_TYPE, ns.SIGNING_KEY), (ns.RDF_TYPE, ns.KEY_PUBLICATION))
    for predicate, obj in patterns:
        for q in scratch.quads_for_pattern(None, predicate, obj):
            raise InputError(
                f"<{graph.value}> may not publish signing keys (it holds {q.subject} {q.predicate} {q.object}):"
                " only ledger records (etg:record/<n>) publish keys"
            )


def _parse_into(scratch: Store, delta: Delta) -> None:
    """Load what the delta adds into ``scratch``; a syntax error names the graph and the position."""
    try:
        if isinstance(delta.data, Path):
            scratch.bulk_load(path=str(delta.data), format=delta.fmt, to_graph=delta.graph)
        elif delta.data is not None:
            scratch.bulk_load(delta.data, format=delta.fmt, to_graph=delta.graph)
        else:
            scratch.extend(Quad(q.subject, q.predicate, q.object, delta.graph) for q in delta.add)
    except SyntaxError as exc:
        raise InputError(f"the data for <{delta.graph.value}> is not valid {delta.fmt}: {exc}") from exc


def series_violations(
    scratch: Store, series: Series, pending: frozenset[str] = frozenset(), focus: set[str] | None = None
) -> list[Violation]:
    """Series the graph describes as stored in DuckDB whose values are not there (``focus``: only these)."""
    found = scratch.query(load_query("enertwin.kg", "series_references.rq"), use_default_graph_as_union=True)
    rows = solutions(found, "series_references.rq")
    keys = {r["series"].value: r["key"].value for r in rows if focus is None or r["series"].value in focus}
    missing = set(series.missing(k for k in keys.values() if k not in pending))
    return [
        Violation(
            focus=iri,
            shape=SERIES_CHECK,
            message="The time series' values are not in the series store, so its reference cannot be resolved.",
            severity=Severity.VIOLATION,
            path=ns.SERIES_KEY.value,
            value=key,
        )
        for iri, key in sorted(keys.items())
        if key in missing
    ]


def _focus_nodes(scratch: Store) -> set[NamedNode]:
    """Subjects of the new data, and what it links to where shapes read the link backwards.

    Other nodes it merely points at (a grid, an asset, a unit) cannot be broken by new links to
    them: no shape counts or types a link into them (``kg/write_context.ttl`` lists the ones
    that do), and following everything that points at them would read whole grids.
    """
    query = inline_bindings(load_query("enertwin.kg", "focus_nodes.rq"), {"link": list(incoming_links())})
    rows = solutions(scratch.query(query, use_default_graph_as_union=True), "focus_nodes.rq")
    return {r["n"] for r in rows if isinstance(r["n"], NamedNode)}


def _nodes(source: Store | GraphBackend, graph: NamedNode | None = None) -> set[NamedNode]:
    """Subjects and linked objects (IRIs) of a scratch store, or of one graph of the backend."""
    query = load_query("enertwin.kg", "nodes.rq")
    if isinstance(source, Store):
        rows = source.query(query, use_default_graph_as_union=True)
    else:
        rows = source.select(query, graphs=[graph] if graph is not None else None)
    rows = solutions(rows, "nodes.rq")
    return {r["n"] for r in rows if isinstance(r["n"], NamedNode)}


@cache
def incoming_links() -> tuple[NamedNode, ...]:
    """The links followed backwards one hop beyond the focus (``kg/write_context.ttl``)."""
    data = (files("enertwin.kg") / "write_context.ttl").read_bytes()
    see_also = NamedNode(ns.RDFS_BASE + "seeAlso")
    return tuple(
        sorted(
            (
                t.object
                for t in parse(data, RdfFormat.TURTLE)
                if t.predicate == see_also and isinstance(t.object, NamedNode)
            ),
            key=str,
        )
    )


def _linked(quads: list[Quad]) -> set[NamedNode]:
    """IRIs that ``quads`` mention as subject, or as object of any predicate but rdf:type."""
    out = {q.subject for q in quads if isinstance(q.subject, NamedNode)}
    out |= {q.object for q in quads if isinstance(q.object, NamedNode) and q.predicate != ns.RDF_TYPE}
    return out


def _triple(quad: Quad) -> tuple[object, object, object]:
    return (quad.subject, quad.predicate, quad.object)
