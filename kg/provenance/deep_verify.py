"""What ``audit verify --deep`` checks of what a record vouches for outside itself.

A record's own hash covers its triples only; the graph versions it generated, the series an
import wrote and the series snapshot a decision read live elsewhere (in other graphs, in
DuckDB) and can be changed there without touching the record. Each is checked against the
hash the record signed. A version that was replaced since and dropped has nothing left to
check, and an import's series are checked while the version written with them is live (a
later import of the same grid replaced them, under its own record).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pyoxigraph import NamedNode
from pyoxigraph import Store as PyoxigraphStore

from enertwin.kg.errors import InputError
from enertwin.kg.provenance.canonical import canonical_hash
from enertwin.kg.provenance.series_digest import stored_digest
from enertwin.kg.queries import load_query
from enertwin.kg.rows import solutions
from enertwin.kg.series_snapshot import SnapshotSeries
from enertwin.kg.store import META_GRAPH, Store
from enertwin.kg.store_versions import delta_content, delta_hash

_PACKAGE = "enertwin.kg.provenance"
_NONE = (np.zeros(0, dtype=np.int64), np.zeros(0))  # a key with no stored values
SHOWN = 3  # series keys named in one finding


class DeepCheck:
    """The deep checks of one verification, computing each graph hash and snapshot once for all records."""

    def __init__(self, store: Store, hashes: dict[str, str]) -> None:
        """Check against ``store``; ``hashes`` (version IRI → content hash) is shared with the other checks."""
        self.store = store
        self.hashes = hashes
        self.live = store.versions()
        self.snapshots: set[str] = set()  # snapshot hashes found to hold

    def content_hash(self, version: NamedNode) -> str:
        """The RDFC-1.0 hash of physical graph ``version`` as it is now (computed once, nothing written)."""
        if version.value not in self.hashes:
            self.hashes[version.value] = canonical_hash(self.store.version_content(version), stored=True)
        return self.hashes[version.value]

    def record(self, scratch: PyoxigraphStore) -> str | None:
        """What the record in ``scratch`` vouches for that no longer holds, or ``None``."""
        return (
            self._generated(scratch)
            or self._deltas(scratch)
            or self._written_series(scratch)
            or self._snapshots(scratch)
        )

    def _generated(self, scratch: PyoxigraphStore) -> str | None:
        for version, graph, digest in _rows(scratch, "generated_versions.rq", ("version", "graph", "hash")):
            if not isinstance(version, NamedNode) or not isinstance(graph, NamedNode):
                return f"it says it generated {version} of {graph}, which are not both IRIs"
            live = self.live.get(graph) == version
            if not live and not self.store.has_version(version):
                continue  # replaced by a later write and dropped: nothing of it is left
            if self.content_hash(version) != digest.value:
                where = "the live version" if live else "a kept version"
                return (
                    f"the graph version <{version.value}> it generated ({where} of <{graph.value}>) has changed "
                    "since: its triples no longer hash to the recorded content hash"
                )
        return None

    def _deltas(self, scratch: PyoxigraphStore) -> str | None:
        """A change's delta (what it removed and added) against the hash its record signed."""
        for delta, digest in _rows(scratch, "generated_deltas.rq", ("delta", "hash")):
            graphs = list(
                self.store.backend.select(load_query(_PACKAGE, "delta_graphs.rq"), {"delta": delta}, [META_GRAPH])
            )
            if not graphs:
                continue  # the versions it kept were dropped with their graph (nothing retained them)
            removed, added = graphs[0]["removed"], graphs[0]["added"]
            content = delta_content(self.store.backend, [removed, added])
            if delta_hash(content[removed], content[added]) != digest.value:
                return (
                    f"the delta <{delta.value}> of its change has changed since: the triples it removed and "
                    "added no longer hash to the recorded hash"
                )
        return None

    def _written_series(self, scratch: PyoxigraphStore) -> str | None:
        live = set(self.store.live().values())
        wanted: dict[str, str] = {}
        for version, key, digest in _rows(scratch, "written_series.rq", ("version", "key", "hash")):
            if version in live:  # else a later write replaced these series
                wanted[key.value] = digest.value
        if not wanted:
            return None
        stored = self.store.series.read_stored(wanted)
        differ = sorted(k for k, digest in wanted.items() if stored_digest(k, *stored.get(k, _NONE)) != digest)
        if not differ:
            return None
        named = ", ".join(repr(k) for k in differ[:SHOWN])
        more = f" and {len(differ) - SHOWN} more" if len(differ) > SHOWN else ""
        return f"the values of series {named}{more} in the series store differ from the hashes its import recorded"

    def _snapshots(self, scratch: PyoxigraphStore) -> str | None:
        for snapshot, digest in _rows(scratch, "used_snapshots.rq", ("snapshot", "hash")):
            if digest.value in self.snapshots:
                continue
            try:
                SnapshotSeries(self.store.series, digest.value)
            except InputError as exc:
                return f"the series snapshot <{snapshot.value}> it read does not hold: {exc}"
            self.snapshots.add(digest.value)
        return None


def _rows(scratch: PyoxigraphStore, query: str, names: Sequence[str]) -> list[tuple[NamedNode, ...]]:
    """The ``names`` columns of ``query`` over one record's triples."""
    rows = solutions(scratch.query(load_query(_PACKAGE, query)), query)
    return [tuple(r[n] for n in names) for r in rows]
