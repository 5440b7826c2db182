"""State graphs that people steer (kill switches, approval requests): each edit validated and recorded in one commit.

A state graph describes a few nodes, each replaced whole by an edit: what the graph said about
them goes, their new facts come (none: the node is removed). The edit is validated by the
shapes on what it touches and committed with its signed record, so the state and the evidence
of who changed it, when and why cannot part. :class:`StateWatch` tells cheaply whether a state
graph moved since it was last read, for checks made on every actuation.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

from pyoxigraph import NamedNode, Quad, Triple

from enertwin.kg import namespaces as ns
from enertwin.kg.backend_embedded import EmbeddedBackend
from enertwin.kg.errors import InputError, StoreError
from enertwin.kg.provenance.ledger import Ledger, Receipt
from enertwin.kg.provenance.record import ActivityRecord
from enertwin.kg.provenance.recorded_change import vouch_for_change
from enertwin.kg.queries import Bindings, Term, load_query
from enertwin.kg.store import META_GRAPH, Store

_PACKAGE = "enertwin.kg.provenance"


def record_state(
    store: Store,
    ledger: Ledger,
    graph: NamedNode,
    described: Mapping[NamedNode, Sequence[Triple]],
    activity: ActivityRecord,
    seen: str | None,
) -> Receipt:
    """Replace what ``graph`` says about each node of ``described`` by its triples, with ``activity``'s record.

    ``seen`` is the version of the graph the caller decided on (``None``: it had none): if the
    graph moved since, nothing is changed (a :class:`StoreError`, run it again). A violation of
    the shapes is a ``ValidationError`` and changes nothing.
    """
    for node, triples in described.items():
        strays = [t for t in triples if t.subject != node]
        if strays:
            raise InputError(f"a state edit of <{node.value}> may only describe it, not {strays[0].subject}")
    current = live_version(store, graph)
    if (current[1].value if current is not None else None) != seen:
        raise StoreError(
            f"<{graph.value}> changed since it was read (another writer); nothing was changed, run it again"
        )
    before = list(store.backend.quads_with(list(described), "s", [current[0]])) if current is not None else []
    after = [Quad(t.subject, t.predicate, t.object, graph) for triples in described.values() for t in triples]
    prepared = store.prepare_change(graph, remove=before, add=after, new_version=True)
    return ledger.append(vouch_for_change(activity, prepared), changes=[prepared])


def state_rows(
    store: Store, graph: NamedNode, package: str, name: str, bindings: Bindings | None = None
) -> tuple[str | None, list[dict[str, Term | None]]]:
    """The live version of state graph ``graph`` and the rows of query ``name`` (from ``package``) over it only."""
    found = live_version(store, graph)
    if found is None:
        return None, []
    physical, version = found
    solutions = store.backend.select(load_query(package, name), bindings, [physical])
    columns = [v.value for v in solutions.variables]
    return version.value, [{c: s[c] for c in columns} for s in solutions]


def live_version(store: Store, graph: NamedNode) -> tuple[NamedNode, NamedNode] | None:
    """The physical graph holding logical ``graph`` and the IRI of its live version (``None``: no such graph).

    Read for this one graph only: index lookups on an embedded store, one query on a remote one
    (``Store.versions`` reads every graph's pointer, a ledger record's too).
    """
    backend = store.backend
    if isinstance(backend, EmbeddedBackend):
        pointers = list(backend.quads_with([graph], "s", [META_GRAPH], [ns.CURRENT_VERSION]))
        if not pointers or not isinstance(pointers[0].object, NamedNode):
            return None
        physical = pointers[0].object
        held = list(backend.quads_with([physical], "s", [META_GRAPH], [ns.HOLDS_VERSION]))
        version = held[0].object if held and isinstance(held[0].object, NamedNode) else physical
        return physical, version
    rows = list(backend.select(load_query(_PACKAGE, "state_version.rq"), {"graph": graph}, [META_GRAPH]))
    if not rows or not isinstance(rows[0]["physical"], NamedNode):
        return None
    held_version = rows[0]["version"]
    return rows[0]["physical"], held_version if isinstance(held_version, NamedNode) else rows[0]["physical"]


class StateWatch:
    """Whether a state graph's live version moved since the last look, at the least cost the backend allows.

    An embedded store is written by this process only: while its write counter stands still,
    nothing moved and no query runs. A remote store may be written by other processes, so each
    look asks the endpoint for the graph's version (one small query).
    """

    def __init__(self, store: Store, graph: NamedNode, lock: threading.RLock) -> None:
        """Watch ``graph`` of ``store``; ``lock`` is the one the store's owner takes for each call."""
        self._store, self._graph, self._lock = store, graph, lock
        self._generation: int | None = None
        self._version: str | None = None
        self._looked = False

    def moved(self) -> bool:
        """Whether the graph's version differs from the one the previous call saw (the first call: True)."""
        backend = self._store.backend
        if isinstance(backend, EmbeddedBackend):
            if self._looked and backend.generation == self._generation:
                return False
            self._generation = backend.generation
        with self._lock:
            found = live_version(self._store, self._graph)
        version = found[1].value if found is not None else None
        changed = not self._looked or version != self._version
        self._version, self._looked = version, True
        return changed

    @property
    def version(self) -> str | None:
        """The version seen by the last :meth:`moved` (``None``: the graph does not exist yet)."""
        return self._version
