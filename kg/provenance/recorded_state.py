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
    current = store.versions().get(graph)
    if (current.value if current is not None else None) != seen:
        raise StoreError(
            f"<{graph.value}> changed since it was read (another writer); nothing was changed, run it again"
        )
    storage = store.live().get(graph)
    before = list(store.backend.quads_with(list(described), "s", [storage])) if storage is not None else []
    after = [Quad(t.subject, t.predicate, t.object, graph) for triples in described.values() for t in triples]
    prepared = store.prepare_change(graph, remove=before, add=after, new_version=True)
    return ledger.append(vouch_for_change(activity, prepared), changes=[prepared])


def state_rows(
    store: Store, graph: NamedNode, package: str, name: str, bindings: Bindings | None = None
) -> tuple[str | None, list[dict[str, Term | None]]]:
    """The live version of state graph ``graph`` and the rows of query ``name`` (from ``package``) over it only."""
    version = store.versions().get(graph)
    storage = store.live().get(graph)
    if storage is None or version is None:
        return None, []
    solutions = store.backend.select(load_query(package, name), bindings, [storage])
    columns = [v.value for v in solutions.variables]
    return version.value, [{c: s[c] for c in columns} for s in solutions]


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
            rows = list(backend.select(load_query(_PACKAGE, "state_version.rq"), {"graph": self._graph}, [META_GRAPH]))
        version = None
        if rows:
            held = rows[0]["version"]
            version = (held if held is not None else rows[0]["physical"]).value
        changed = not self._looked or version != self._version
        self._version, self._looked = version, True
        return changed

    @property
    def version(self) -> str | None:
        """The version seen by the last :meth:`moved` (``None``: the graph does not exist yet)."""
        return self._version
