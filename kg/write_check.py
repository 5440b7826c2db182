"""Validate a write before it is committed, at a cost in proportion to the write.

The shapes are evaluated on a scratch in-memory store that holds only what the
write touches, in the state the write would leave it: the nodes it adds, removes
or changes, the nodes that point at them, and the nodes one hop further.
Violations are kept only for the nodes the write can have changed, so a
one-asset change in a store of millions of triples validates in milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pyoxigraph import NamedNode, Quad, QuerySolutions, RdfFormat, Store

from enertwin.kg import namespaces as ns
from enertwin.kg.backend import GraphBackend
from enertwin.kg.errors import InputError
from enertwin.kg.queries import load_query
from enertwin.kg.series import SeriesStore
from enertwin.kg.validation.shacl import ShapeValidator
from enertwin.kg.violation import Severity, Violation

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
    series: SeriesStore,
    pending_series: frozenset[str] = frozenset(),
) -> list[Violation]:
    """Violations the store would hold after ``delta``, on the nodes the delta touches."""
    scratch = Store()
    _parse_into(scratch, delta)
    removed = {(q.subject, q.predicate, q.object) for q in delta.remove}
    touched = _nodes(scratch, "subjects.rq")
    focus = touched | _nodes(scratch, "linked_objects.rq")
    if delta.replaces and dataset.target is not None:
        old_subjects = _nodes_in(backend, dataset.target, "subjects.rq")
        touched |= old_subjects
        focus |= old_subjects | _nodes_in(backend, dataset.target, "linked_objects.rq")
    elif not delta.replaces:
        touched |= {q.subject for q in delta.remove if isinstance(q.subject, NamedNode)}
        focus |= touched | {q.object for q in delta.remove if isinstance(q.object, NamedNode)}

    # What survives the write: every other graph, and (for a change) the target minus what it removes.
    graphs: Sequence[NamedNode] = dataset.others
    if not delta.replaces and dataset.target is not None:
        graphs = (*dataset.others, dataset.target)

    def survives(quad: Quad) -> bool:
        return quad.graph_name != dataset.target or (quad.subject, quad.predicate, quad.object) not in removed

    def context(nodes: set[NamedNode], position: str) -> Iterable[Quad]:
        ordered = sorted(nodes, key=str)
        return (q for q in backend.quads_with(ordered, position, graphs) if survives(q))  # type: ignore[arg-type]

    referrers = [q for q in context(touched, "o")]
    scratch.extend(referrers)
    focus |= {q.subject for q in referrers if isinstance(q.subject, NamedNode)}
    scratch.extend(context(focus, "s"))
    scratch.extend(context(focus, "o"))
    # One hop further: what the focus nodes point at and what points at them, described both ways,
    # so that class checks and inverse checks (a fuel type's cost entry) see their facts.
    hop = (_nodes(scratch, "linked_objects.rq") | _nodes(scratch, "subjects.rq")) - focus
    scratch.extend(context(hop, "s"))
    scratch.extend(context(hop, "o"))

    names = {n.value for n in focus}
    found = [v for v in validator.validate(scratch) if v.focus in names]
    return found + _series_violations(scratch, series, pending_series, names)


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


def _series_violations(
    scratch: Store, series: SeriesStore, pending: frozenset[str], focus: set[str]
) -> list[Violation]:
    """Series the graph describes as stored in DuckDB whose values are not there."""
    rows = scratch.query(load_query("enertwin.kg", "series_references.rq"), use_default_graph_as_union=True)
    keys = {r["series"].value: r["key"].value for r in rows if r["series"].value in focus}  # type: ignore[union-attr]
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


def _nodes(store: Store, query: str) -> set[NamedNode]:
    rows = store.query(load_query("enertwin.kg", query), use_default_graph_as_union=True)
    assert isinstance(rows, QuerySolutions)
    return {r["n"] for r in rows if isinstance(r["n"], NamedNode)}  # type: ignore[misc]


def _nodes_in(backend: GraphBackend, graph: NamedNode, query: str) -> set[NamedNode]:
    rows = backend.select(load_query("enertwin.kg", query), graphs=[graph])
    return {r["n"] for r in rows if isinstance(r["n"], NamedNode)}  # type: ignore[misc]
