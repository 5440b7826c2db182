"""Graph versions kept as reverse deltas on the live content, so that a change costs the size of the change.

A logical graph's live content sits in one storage graph that changes edit in place. When a
change hits a version a record vouches for, that version is not copied: the change names the
result as a new version (``storage et:holdsVersion new``) and keeps what it removed and added
in two small delta graphs (``old et:reconstructedFrom new ; et:reverseDelta delta``). A kept
version is materialised, in memory, only when replay, ``audit verify --deep`` or a view reads
it: the stored content with the deltas after it undone, newest first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pyoxigraph import DefaultGraph, NamedNode, Quad, RdfFormat, Triple
from pyoxigraph import Store as PyoxigraphStore

from enertwin.kg.backend import GraphBackend
from enertwin.kg.errors import StoreError
from enertwin.kg.queries import load_query

_PACKAGE = "enertwin.kg"


@dataclass(frozen=True, slots=True)
class Step:
    """One reverse delta: version ``version`` is ``after`` without ``added`` and with ``removed`` put back."""

    version: NamedNode
    after: NamedNode
    removed: NamedNode
    added: NamedNode


def delta_graphs(version: NamedNode) -> tuple[NamedNode, NamedNode, NamedNode]:
    """The delta node of the change that made ``version``, and its removed and added graphs."""
    return (
        NamedNode(f"{version.value}/delta"),
        NamedNode(f"{version.value}/delta/removed"),
        NamedNode(f"{version.value}/delta/added"),
    )


def delta_hash(removed: Iterable[Triple | Quad], added: Iterable[Triple | Quad]) -> str:
    """Hex SHA-256 of a delta: sorted lines ``- <s> <p> <o> .`` and ``+ <s> <p> <o> .`` (see et:GraphDelta)."""
    lines = sorted(
        [f"- {t.subject} {t.predicate} {t.object} ." for t in removed]
        + [f"+ {t.subject} {t.predicate} {t.object} ." for t in added]
    )
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def storage_of(backend: GraphBackend, meta: NamedNode, version: NamedNode) -> NamedNode | None:
    """The physical graph holding ``version`` whole now, or ``None`` if it is reconstructed (or gone)."""
    rows = list(backend.select(load_query(_PACKAGE, "version_storage.rq"), {"version": version}, [meta]))
    row = rows[0] if rows else None
    if row is not None and isinstance(storage := row["storage"], NamedNode):
        return storage
    if row is not None and row["next"] is not None:
        return None
    return version if backend.ask("ASK WHERE { GRAPH ?g { ?s ?p ?o } }", {"g": version}) else None


def is_reconstructed(backend: GraphBackend, meta: NamedNode, version: NamedNode) -> bool:
    """Whether ``version`` is kept as a reverse delta on a later version."""
    return backend.ask(
        "PREFIX et: <https://w3id.org/enertwin/ontology#> ASK WHERE { ?version et:reconstructedFrom ?next }",
        {"version": version},
        [meta],
    )


def chain(backend: GraphBackend, meta: NamedNode, version: NamedNode) -> tuple[list[Step], NamedNode]:
    """The reverse deltas from ``version`` to the first version stored whole, and that version's storage graph."""
    rows = list(backend.select(load_query(_PACKAGE, "version_chain.rq"), {"version": version}, [meta]))
    by_version = {r["v"]: Step(r["v"], r["next"], r["removed"], r["added"]) for r in rows}
    steps, at = [], version
    while at in by_version:
        steps.append(by_version[at])
        at = by_version[at].after
        if len(steps) > len(by_version):
            raise StoreError(f"the reverse deltas of graph version <{version.value}> form a cycle")
    storage = storage_of(backend, meta, at)
    if storage is None:
        raise StoreError(f"graph version <{version.value}> cannot be reconstructed: <{at.value}> is not stored")
    return steps, storage


def delta_content(backend: GraphBackend, graphs: Sequence[NamedNode]) -> dict[NamedNode, list[Triple]]:
    """The triples of each delta graph (absent ones: none), read in one query."""
    found: dict[NamedNode, list[Triple]] = {g: [] for g in graphs}
    if not graphs:
        return found
    for r in backend.select(load_query(_PACKAGE, "delta_triples.rq"), graphs=list(graphs)):
        found.setdefault(r["g"], []).append(Triple(r["s"], r["p"], r["o"]))
    return found


def materialise(backend: GraphBackend, meta: NamedNode, version: NamedNode) -> bytes:
    """The N-Triples of ``version``: its storage graph's, or the stored content with the later deltas undone."""
    storage = storage_of(backend, meta, version)
    if storage is not None:
        return backend.dump_graph(storage)
    steps, base = chain(backend, meta, version)
    triples = delta_content(backend, [g for s in steps for g in (s.removed, s.added)])
    scratch = PyoxigraphStore()
    scratch.bulk_load(backend.dump_graph(base), format=RdfFormat.N_TRIPLES)
    for step in reversed(steps):  # the newest delta first: undo it, then the one before
        for t in triples[step.added]:
            scratch.remove(Quad(t.subject, t.predicate, t.object))
        for t in triples[step.removed]:
            scratch.add(Quad(t.subject, t.predicate, t.object))
    return scratch.dump(format=RdfFormat.N_TRIPLES, from_graph=DefaultGraph()) or b""
