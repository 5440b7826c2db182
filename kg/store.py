"""The one facade over the graph, its validation and the time series.

``Store.open(None)`` keeps everything in memory, ``Store.open(PATH)`` keeps a
store on disk (``PATH/graph`` for Oxigraph, ``PATH/series.duckdb`` for series),
``Store.open("http://host:port")`` talks to a remote SPARQL 1.1 endpoint such as
``oxigraph serve``. Every write is validated before it is committed and commits
whole or not at all.
"""

from __future__ import annotations

import copy
import hashlib
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from types import TracebackType

import pandas as pd
from pyoxigraph import Literal, NamedNode, Quad, QuerySolution, QuerySolutions, RdfFormat
from pyoxigraph import Store as PyoxigraphStore

from enertwin.kg import namespaces as ns
from enertwin.kg.backend import GraphBackend
from enertwin.kg.backend_embedded import EmbeddedBackend
from enertwin.kg.backend_remote import RemoteBackend
from enertwin.kg.errors import CommitConflict, InputError, OntologyVersionError, StoreError, ValidationError
from enertwin.kg.provenance.canonical import canonical_hash
from enertwin.kg.queries import TERM_TYPES, Bindings, Term, load_query
from enertwin.kg.remote_series import open_remote_series
from enertwin.kg.series import SeriesStore
from enertwin.kg.series_base import Series
from enertwin.kg.store_versions import delta_graphs, delta_hash, is_reconstructed, materialise, storage_of
from enertwin.kg.validation.shacl import ShapeValidator
from enertwin.kg.violation import Severity, Violation
from enertwin.kg.write_check import Dataset, Delta, check_write, is_record_graph, series_violations

META_GRAPH = NamedNode(ns.GRAPH_BASE + "meta")
ONTOLOGY_GRAPH = NamedNode(ns.GRAPH_BASE + "ontology")
COST_GRAPH = NamedNode(ns.GRAPH_BASE + "costs")
STORE_NODE = NamedNode(ns.ID_BASE + "store")


@dataclass(frozen=True, slots=True)
class WriteReport:
    """What a committed write did: the graph, the triples it stored and the warnings it left."""

    graph: NamedNode
    triples: int
    warnings: tuple[Violation, ...] = ()
    unchanged: bool = False
    version: NamedNode | None = None


@dataclass(frozen=True, slots=True)
class PreparedWrite:
    """A validated replacement of one logical graph, not yet stored (see :meth:`Store.commit`)."""

    graph: NamedNode
    physical: NamedNode
    previous: NamedNode | None
    data: bytes | Path
    fmt: RdfFormat
    digest: str
    size: int
    warnings: tuple[Violation, ...]
    series: tuple[pd.DataFrame, str] | None
    content_hash: str | None = None  # RDFC-1.0 hash of the new version, when asked for (a record vouches for it)

    @property
    def unchanged(self) -> bool:
        """Whether the input is the live version's own (then nothing but its series is written)."""
        return self.physical == self.previous


@dataclass(frozen=True, slots=True)
class PreparedDrop:
    """A validated removal of one logical graph, not yet committed.

    ``storage`` is the physical graph the graph points at, ``version`` the version IRI it holds
    (what a record names; the storage's own IRI until a change renamed it).
    """

    graph: NamedNode
    storage: NamedNode
    version: NamedNode
    series_prefix: str | None = None


@dataclass(frozen=True, slots=True)
class PreparedChange:
    """A validated edit of one logical graph's live content, not yet applied (see :meth:`Store.prepare_change`).

    ``delete``/``insert`` are quad templates and ``where`` a group pattern that holds only while
    the graph still points at ``storage`` holding ``version``: applied in one DELETE/INSERT … WHERE
    operation (alone, or inside a ledger commit), the edit does nothing if the version moved.
    """

    graph: NamedNode
    storage: NamedNode
    version: NamedNode  # the version the change was applied to
    result: NamedNode  # the version it makes (``version`` itself for an in-place edit of a version nothing vouches for)
    remove: tuple[Quad, ...]
    add: tuple[Quad, ...]
    delta: NamedNode | None  # the reverse delta that keeps ``version`` (None: edited in place)
    delta_hash: str
    delete: str
    insert: str
    where: str
    warnings: tuple[Violation, ...]

    @property
    def marker(self) -> str:
        """A pattern that matches once the change took effect."""
        if self.delta is not None:
            return f"GRAPH {META_GRAPH} {{ {self.storage} {ns.HOLDS_VERSION} {self.result} }}"
        return f"GRAPH {self.storage} {{ {_triples(self.add)} }}"


class Store:
    """Named graphs validated on every write, with their time series beside them."""

    def __init__(
        self,
        backend: GraphBackend,
        series: Series,
        validator: ShapeValidator | None = None,
        *,
        read_only: bool = False,
        series_database: str | None = None,
    ) -> None:
        """Wrap an opened backend; most callers want :meth:`open`.

        ``series_database`` is the series location a new store records at its first open.
        """
        self.backend = backend
        self.series = series
        self._series_database = series_database
        self.validator = validator or ShapeValidator.default()
        self.read_only = read_only
        self._pinned: dict[NamedNode, NamedNode] | None = None
        self._pinned_versions: dict[NamedNode, NamedNode] | None = None
        self._live_read: tuple[int, dict[NamedNode, NamedNode], dict[NamedNode, NamedNode]] | None = None
        self._data_read: tuple[int, tuple[NamedNode, ...]] | None = None
        self._rows_read: tuple[int, dict[tuple[str, tuple[tuple[str, tuple[str, ...]], ...]], list[QuerySolution]]] = (
            -1,
            {},
        )
        self.collected: list[Violation] = []  # what this open cleaned up after interrupted writes
        if read_only:
            self._check_version()
        else:
            self._ensure_initialised()

    @classmethod
    def open(
        cls,
        location: str | Path | None = None,
        *,
        series_path: Path | None = None,
        series_database: str | None = None,
        read_only: bool = False,
    ) -> Store:
        """Open the store at ``location`` (``None``: memory; ``http(s)://…``: remote; else a directory).

        A remote store keeps its series in the PostgreSQL database it recorded at its first open
        (``series_database``, default ``$ENERTWIN_SERIES``); one created without keeps them in a local DuckDB
        file (``series_path``, default under ``$ENERTWIN_HOME/series/``): see :mod:`enertwin.kg.remote_series`.
        ``read_only`` opens an existing embedded store for reading only: beside a process writing
        it, or as a read-only copy (an archive); a location with no store yet is created as usual.
        A store whose ``series.duckdb`` was deleted is not given a new, empty one: reading a
        series is then missing evidence (:class:`EvidenceError`), while the graph still opens.
        """
        if location is None:
            return cls(EmbeddedBackend(None), SeriesStore(series_path))
        text = str(location)
        if text.startswith(("http://", "https://")):
            remote = RemoteBackend(text)
            try:
                chosen = open_remote_series(remote, text, META_GRAPH, STORE_NODE, series_database, series_path)
            except BaseException:
                remote.close()
                raise
            return cls._assemble(remote, lambda: chosen.series, read_only, series_database=chosen.record)
        root = Path(location)
        if root.exists() and not root.is_dir():
            raise StoreError(f"the store path {root} is a file; a store is a directory")
        existing = (root / "graph").is_dir()
        if root.is_dir() and any(root.iterdir()) and not existing:
            raise StoreError(
                f"the store path {root} is a directory with other files in it, not an enertwin store "
                "(which holds graph/ and series.duckdb); give an empty or new directory"
            )
        path = series_path or root / "series.duckdb"
        if read_only and existing:
            return cls._assemble(
                EmbeddedBackend(root / "graph", read_only=True), lambda: SeriesStore(path, read_only=True), True
            )
        try:
            root.mkdir(parents=True, exist_ok=True)
            probe = root / ".enertwin-write-probe"
            probe.touch()
            probe.unlink()
        except OSError as exc:
            raise StoreError(f"the store path {root} cannot be written: {exc.strerror or exc}") from exc
        series = SeriesStore(path, create=not existing)  # an existing store's lost file is not recreated empty
        try:
            backend = EmbeddedBackend(root / "graph")
        except StoreError:
            series.close()
            raise
        return cls._assemble(backend, lambda: series, False)

    @classmethod
    def _assemble(
        cls,
        backend: GraphBackend,
        series: Callable[[], Series],
        read_only: bool,
        *,
        series_database: str | None = None,
    ) -> Store:
        """The store over ``backend`` and ``series``; both are closed again if it cannot be opened."""
        opened: Series | None = None
        try:
            opened = series()
            return cls(backend, opened, read_only=read_only, series_database=series_database)
        except BaseException:
            backend.close()
            if opened is not None:
                opened.close()
            raise

    def __enter__(self) -> Store:
        """Use as a context manager that closes the store."""
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        """Close on leaving the ``with`` block."""
        self.close()

    def close(self) -> None:
        """Flush and release the backend and the series database."""
        self.backend.close()
        self.series.close()

    # -- reading ---------------------------------------------------------------------------

    def live(self) -> dict[NamedNode, NamedNode]:
        """Logical graph → the physical graph that holds its live content (a view's pinned versions)."""
        if self._pinned is not None:
            return dict(self._pinned)
        return dict(self._pointers()[0])

    def _pointers(self) -> tuple[dict[NamedNode, NamedNode], dict[NamedNode, NamedNode]]:
        """(logical → physical, physical → the version it holds where that is not its own IRI).

        An embedded store, which only this process writes, reads them by index once per write
        (every ledger record is a logical graph: a thousand changes make a thousand pointers).
        """
        if isinstance(self.backend, EmbeddedBackend):
            generation = self.backend.generation
            if self._live_read is None or self._live_read[0] != generation:
                pointers = dict(self.backend.pairs(ns.CURRENT_VERSION, META_GRAPH))
                held = dict(self.backend.pairs(ns.HOLDS_VERSION, META_GRAPH))
                self._live_read = (generation, pointers, held)
            return self._live_read[1], self._live_read[2]
        rows = list(self.backend.select(load_query("enertwin.kg", "live_versions.rq"), graphs=[META_GRAPH]))
        return (
            {r["logical"]: r["physical"] for r in rows},
            {r["physical"]: r["version"] for r in rows if r["version"] is not None},
        )

    def versions(self) -> dict[NamedNode, NamedNode]:
        """Logical graph → the IRI of its live version (what a record names; see :mod:`~enertwin.kg.store_versions`).

        Equal to :meth:`live` until a change edits a version a record vouches for: the content then
        stays in the same physical graph and the version it became gets a new IRI.
        """
        if self._pinned_versions is not None:
            return dict(self._pinned_versions)
        pointers, held = self._pointers()
        return {logical: held.get(physical, physical) for logical, physical in pointers.items()}

    def has_version(self, version: NamedNode) -> bool:
        """Whether graph version ``version`` can still be read (stored whole, or as a reverse delta)."""
        return storage_of(self.backend, META_GRAPH, version) is not None or is_reconstructed(
            self.backend, META_GRAPH, version
        )

    def version_content(self, version: NamedNode) -> bytes:
        """The N-Triples of graph version ``version``, reconstructed from reverse deltas if need be."""
        return materialise(self.backend, META_GRAPH, version)

    def _readable(self) -> list[NamedNode]:
        return [META_GRAPH, *self.live().values()]

    def data_graphs(self) -> list[NamedNode]:
        """The meta graph and the physical graphs of every live graph but ledger records.

        What reads of the portfolio (assets, costs, profiles, policies) need: records name assets
        but never describe them, and there is one per agent action, so a read over them grows with
        the ledger. Kept per write generation on an embedded store (it has a thousand records soon).
        """
        generation = self.backend.generation if isinstance(self.backend, EmbeddedBackend) else None
        cached = self._data_read
        if self._pinned is None and generation is not None and cached is not None and cached[0] == generation:
            return list(cached[1])
        graphs = [META_GRAPH, *(p for logical, p in self.live().items() if not is_record_graph(logical))]
        if self._pinned is None and generation is not None:
            self._data_read = (generation, tuple(graphs))
        return graphs

    def data_rows(self, query: str, bindings: Bindings | None = None) -> list[QuerySolution]:
        """:meth:`query_data` read whole; an embedded store answers it again from memory until its next write.

        A run reads the same portfolio several times (its days, then each check of them): the facts
        did not change unless the store was written (each write moves the backend's generation).
        """
        generation = self.backend.generation if isinstance(self.backend, EmbeddedBackend) else None
        if generation is None or self._pinned is not None:
            return list(self.query_data(query, bindings))
        if self._rows_read[0] != generation:
            self._rows_read = (generation, {})
        key = (query, tuple(sorted((k, _binding_key(v)) for k, v in (bindings or {}).items())))
        found = self._rows_read[1].get(key)
        if found is None:
            found = self._rows_read[1][key] = list(self.query_data(query, bindings))
        return list(found)

    def query_data(self, query: str, bindings: Bindings | None = None) -> QuerySolutions:
        """:meth:`query` over :meth:`data_graphs` only: the portfolio's facts without the ledger's records."""
        try:
            return self.backend.select(query, bindings, self.data_graphs())
        except SyntaxError as exc:
            raise InputError(f"the query is not valid SPARQL: {exc}") from exc

    def query(self, query: str, bindings: Bindings | None = None) -> QuerySolutions:
        """Run a SPARQL SELECT over the live graphs, values bound as RDF terms."""
        try:
            return self.backend.select(query, bindings, self._readable())
        except SyntaxError as exc:
            raise InputError(f"the query is not valid SPARQL: {exc}") from exc

    def ask(self, query: str, bindings: Bindings | None = None) -> bool:
        """Run a SPARQL ASK over the live graphs."""
        return self.backend.ask(query, bindings, self._readable())

    def graphs(self) -> list[NamedNode]:
        """The logical named graphs of the store."""
        return sorted(self.live(), key=lambda g: g.value)

    def has_graph(self, graph: NamedNode) -> bool:
        """Whether the logical graph ``graph`` exists."""
        return graph in self.live()

    def canonical_dump(self) -> bytes:
        """Every quad of every physical graph as sorted N-Quads: equal bytes mean equal content."""
        lines = sorted(line for line in self.backend.dump_nquads().splitlines() if line.strip())
        return b"\n".join(lines) + b"\n"

    def content_hash(self) -> str:
        """SHA-256 of :meth:`canonical_dump`."""
        return hashlib.sha256(self.canonical_dump()).hexdigest()

    def check_all(self) -> list[Violation]:
        """Every shape over every live graph, and every series reference: the whole store's findings."""
        scratch = PyoxigraphStore()
        for graph in self._readable():
            scratch.bulk_load(self.backend.dump_graph(graph), format=RdfFormat.N_TRIPLES, to_graph=graph)
        return self.validator.validate(scratch) + series_violations(scratch, self.series)

    def ontology_version(self) -> str | None:
        """The ontology version this store was written under (``None`` for an empty store)."""
        rows = list(
            self.backend.select(load_query("enertwin.kg", "store_version.rq"), {"store": STORE_NODE}, [META_GRAPH])
        )
        return rows[0]["version"].value if rows else None

    def graphs_describing(self, node: NamedNode, among: Mapping[NamedNode, NamedNode] | None = None) -> list[NamedNode]:
        """The logical graphs in which ``node`` is a subject.

        ``among`` (logical → physical) limits the search to those graphs, e.g. all but the ledger's
        records, which name assets but never describe them and grow with every write.
        """
        logical_of = {physical: logical for logical, physical in (self.live() if among is None else among).items()}
        rows = self.backend.select(load_query("enertwin.kg", "graphs_describing.rq"), {"node": node}, list(logical_of))
        return sorted({logical_of[r["g"]] for r in rows if r["g"] in logical_of}, key=lambda g: g.value)

    def view(self, versions: dict[NamedNode, NamedNode], series: Series) -> Store:
        """A read-only store that sees exactly ``versions`` (logical → version IRI) and ``series``.

        Replay reads a decision's inputs through it: the versions it recorded, not today's. Versions
        stored whole are read where they are; if one is kept as a reverse delta, the view reads an
        in-memory copy of the meta graph and of every version it sees, materialised once here.
        """
        pinned = copy.copy(self)
        pinned.series = series
        pinned._pinned_versions = dict(versions)
        storages = {logical: storage_of(self.backend, META_GRAPH, v) for logical, v in versions.items()}
        if all(s is not None for s in storages.values()):
            pinned._pinned = {logical: s for logical, s in storages.items() if s is not None}
            return pinned
        memory = EmbeddedBackend(None)
        memory.load_graph(META_GRAPH, self.backend.dump_graph(META_GRAPH), RdfFormat.N_TRIPLES)
        for version in versions.values():
            memory.load_graph(version, self.version_content(version), RdfFormat.N_TRIPLES)
        pinned.backend = memory
        pinned._pinned = dict(versions)
        return pinned

    def version_hash(self, version: NamedNode, *, fresh: bool = False) -> str:
        """Hex SHA-256 of the RDFC-1.0 canonical form of physical graph ``version``.

        The hash is cached in the meta graph; ``fresh`` computes it from the content again (to check it).
        """
        # rows read whole: an iterator left open on a disk store slows later reads
        rows = list(self.backend.select(f"SELECT ?h WHERE {{ {version} {ns.CONTENT_HASH} ?h }}", graphs=[META_GRAPH]))
        cached = next((str(row["h"].value) for row in rows), None)
        if cached is not None and not fresh:
            return cached
        digest = canonical_hash(self.version_content(version), stored=True)
        if cached is None and not self.read_only and self._pinned is None:
            self.backend.update(
                f"INSERT DATA {{ GRAPH {META_GRAPH} {{ {version} {ns.CONTENT_HASH} {Literal(digest)} }} }}"
            )
        return digest

    # -- writing ---------------------------------------------------------------------------

    def _writable(self) -> None:
        if self.read_only:
            raise StoreError("the store was opened read-only; this command cannot write it")
        if self._pinned is not None:
            raise StoreError("this is a read-only view of recorded versions; write to the store itself")

    def _dataset(self, graph: NamedNode) -> Dataset:
        """What a write of ``graph`` is validated against: the meta graph and every other live graph but records.

        Ledger records are history, checked whole when appended and never changed; no shape of a
        record reads another record. Left out, a change of an asset that a thousand records concern
        reads none of them (with them, each change read every earlier change's record: O(n²)).
        """
        self._writable()
        live = self.live()
        others = tuple(p for logical, p in live.items() if logical != graph and not is_record_graph(logical))
        return Dataset(target=live.get(graph), others=(META_GRAPH, *others))

    def replace_graph(
        self,
        graph: NamedNode,
        data: bytes | str | Path,
        fmt: RdfFormat = RdfFormat.TURTLE,
        *,
        series: pd.DataFrame | None = None,
        series_prefix: str | None = None,
    ) -> WriteReport:
        """Replace logical ``graph`` by ``data`` (and the series under ``series_prefix`` by ``series``).

        The new content is validated first; on any violation nothing is written and a
        :class:`ValidationError` names each broken rule. Then the series are staged, the
        data is loaded into a new physical graph, one transaction makes it live and the
        staged series are promoted (see :meth:`commit`).
        """
        return self.commit([self.prepare(graph, data, fmt, series=series, series_prefix=series_prefix)])[0]

    def prepare(
        self,
        graph: NamedNode,
        data: bytes | str | Path,
        fmt: RdfFormat = RdfFormat.TURTLE,
        *,
        series: pd.DataFrame | None = None,
        series_prefix: str | None = None,
        hashed: bool = False,
    ) -> PreparedWrite:
        """Validate a replacement of ``graph`` and name its new version, writing nothing yet.

        ``hashed``: also give the new version's content hash (``content_hash``, as :meth:`version_hash`).
        """
        self._writable()
        if series is not None and series_prefix is None:
            raise InputError("series were given without the key prefix they replace")
        return self._prepare_in(self._dataset(graph), graph, data, fmt, series, series_prefix, hashed)

    def _prepare_in(
        self,
        dataset: Dataset,
        graph: NamedNode,
        data: bytes | str | Path,
        fmt: RdfFormat,
        series: pd.DataFrame | None = None,
        series_prefix: str | None = None,
        hashed: bool = False,
    ) -> PreparedWrite:
        """:meth:`prepare` against the graphs ``dataset`` names (first open: the ontology not yet live)."""
        raw = data.encode("utf-8") if isinstance(data, str) else data
        digest = _sha256(raw)
        series_part = (series, series_prefix) if series is not None and series_prefix is not None else None
        if dataset.target is not None and (same := self._version_info(dataset.target, digest)) is not None:
            return PreparedWrite(graph, dataset.target, dataset.target, raw, fmt, digest, same, (), series_part)
        delta = Delta(graph=graph, data=raw, fmt=fmt)
        pending = frozenset(str(c) for c in series.columns) if series is not None else frozenset()
        violations, size, content = check_write(
            self.backend, delta, dataset, self.validator, self.series, pending, hashed=hashed
        )
        self._raise_on_violations(graph, violations)
        physical = NamedNode(f"{graph.value}/version/{uuid.uuid4().hex}")
        return PreparedWrite(
            graph, physical, dataset.target, raw, fmt, digest, size, _warnings(violations), series_part, content
        )

    def prepare_batch(
        self, items: Sequence[tuple[NamedNode, bytes]], fmt: RdfFormat = RdfFormat.N_TRIPLES
    ) -> list[PreparedWrite]:
        """Validate several new graphs together (one check over their union) and name their versions.

        For many small graphs written at once (provenance records): each would otherwise read
        the same context again. Every graph must be new; N-Triples only.
        """
        self._writable()
        live = self.live()
        taken = [g.value for g, _ in items if g in live]
        if taken:
            raise InputError(f"a batch writes new graphs only; <{taken[0]}> exists")
        if fmt is not RdfFormat.N_TRIPLES:
            raise InputError(f"a batch is written as N-Triples, not {fmt}")
        union = b"".join(data if data.endswith(b"\n") else data + b"\n" for _, data in items)
        dataset = Dataset(target=None, others=(META_GRAPH, *(p for g, p in live.items() if not is_record_graph(g))))
        delta = Delta(graph=items[0][0], data=union, fmt=fmt)
        violations, _, _ = check_write(self.backend, delta, dataset, self.validator, self.series)
        self._raise_on_violations(items[0][0], violations)
        return [
            PreparedWrite(
                graph,
                NamedNode(f"{graph.value}/version/{uuid.uuid4().hex}"),
                None,
                data,
                fmt,
                _sha256(data),
                data.count(b"\n"),
                (),
                None,
            )
            for graph, data in items
        ]

    def commit(
        self,
        writes: Sequence[PreparedWrite],
        meta: str = "",
        forget: str = "",
        where: str = "",
        applied: Callable[[], bool] | None = None,
        changes: Sequence[PreparedChange] = (),
    ) -> list[WriteReport]:
        """Make prepared writes live together with ``meta`` facts, in one transaction.

        ``meta`` triples are added to the meta graph and the ``forget`` update runs in the same
        transaction: all of it or none of it. With ``where`` (a group pattern), the commit is a
        compare-and-set: one DELETE/INSERT operation whose ``forget`` is a meta-graph delete
        template, taking effect only if ``where`` matches and every written graph's current
        version is still the one it was prepared against; ``applied`` then tells whether it did
        (a :class:`CommitConflict` if not, with the loaded versions dropped). Old versions are
        dropped afterwards unless a recorded activity retained them. Prepared ``changes`` (with
        ``where`` only) join that one operation: their templates and guards are added to it.

        Series cannot share that transaction (they live in DuckDB), so they are staged under
        the new version's IRI first and promoted after the pointer moved: the pointer switch
        is the commit point for both. A failure before it discards the staged series and the
        loaded graphs; a kill leaves staged rows that the next open promotes (version live) or
        discards (not live). Replay reads recorded snapshots, never the live series, so the
        old series are replaced at promotion even when the old graph version is retained.
        Cost: the values are written twice (staged, then copied): 632,448 values 0.10 → 0.20 s,
        6.3 M values 0.78 → 1.50 s (``bench/series_commit_bench.py``); a 1-HV-mixed--0-sw import
        took 3.9–4.6 s before and 4.0–4.6 s after on a shared 2-core host (within its noise).
        """
        loaded: list[NamedNode] = []
        staged: list[NamedNode] = []
        links, facts, unlinks, guards = [], [meta], [], []
        try:
            for i, w in enumerate(writes):
                if w.series is not None:
                    self.series.stage(w.physical.value, *w.series)  # unread until promoted below
                    staged.append(w.physical)
                if w.unchanged:
                    continue
                self.backend.load_graph(w.physical, w.data, w.fmt)
                loaded.append(w.physical)
                facts.append(
                    f"{w.graph} {ns.CURRENT_VERSION} {w.physical} . {w.physical} {ns.INPUT_HASH} {Literal(w.digest)} . "
                    f"{w.physical} {ns.TRIPLE_COUNT} {Literal(str(w.size), datatype=ns.XSD_INTEGER)} . "
                )
                if w.previous is not None:
                    links.append(
                        f"DELETE DATA {{ GRAPH {META_GRAPH} {{ {w.graph} {ns.CURRENT_VERSION} {w.previous} }} }} ;"
                    )
                    unlinks.append(f"{w.graph} {ns.CURRENT_VERSION} {w.previous} .")
                    guards.append(f"GRAPH {META_GRAPH} {{ {w.graph} {ns.CURRENT_VERSION} {w.previous} }}")
                else:
                    unlinked = f"GRAPH {META_GRAPH} {{ {w.graph} {ns.CURRENT_VERSION} ?v{i} }}"
                    guards.append(f"FILTER NOT EXISTS {{ {unlinked} }}")
            if changes and not where:
                raise InputError("changes join a guarded commit only (give ``where``)")
            if where:
                with self.series.serialised():  # a shared series database orders the commits oxigraph serve cannot
                    self.backend.update(
                        f"DELETE {{ GRAPH {META_GRAPH} {{ {forget} {' '.join(unlinks)} }} "
                        f"{' '.join(c.delete for c in changes)} }} "
                        f"INSERT {{ GRAPH {META_GRAPH} {{ {' '.join(facts)} }} "
                        f"{' '.join(c.insert for c in changes)} }} "
                        f"WHERE {{ {' '.join(guards)} {where} {' '.join(c.where for c in changes)} }}"
                    )
                    if applied is not None and not applied():
                        raise CommitConflict("the store changed since this write read it; nothing was stored")
            else:
                self.backend.update(
                    f"{forget} {' '.join(links)} INSERT DATA {{ GRAPH {META_GRAPH} {{ {' '.join(facts)} }} }}"
                )
        except BaseException:  # a Ctrl-C too: nothing of this write may stay behind
            for physical in loaded:
                self.backend.drop_graph(physical)
            for physical in staged:
                self.series.discard(physical.value)
            raise
        # the pointer switch above is the commit point; a kill from here on is rolled forward at the next open
        for physical in staged:
            self.series.promote(physical.value)
        self._drop_unretained([w.previous for w in writes if w.previous is not None and not w.unchanged])
        return [WriteReport(w.graph, w.size, w.warnings, w.unchanged, w.physical) for w in writes]

    def _version_info(self, physical: NamedNode, digest: str) -> int | None:
        """The triple count of ``physical`` if it was loaded from input with hash ``digest``."""
        rows = self.backend.select(
            load_query("enertwin.kg", "version_info.rq"), {"version": physical, "hash": Literal(digest)}, [META_GRAPH]
        )
        return next((int(r["count"].value) for r in list(rows)), None)

    def _switch(self, graph: NamedNode, old: NamedNode | None, new: NamedNode | None) -> None:
        """Point ``graph`` at ``new`` (or nowhere) in one transaction, then drop ``old`` unless retained."""
        insert = f"{graph} {ns.CURRENT_VERSION} {new} ." if new is not None else ""
        forget = ""
        if old is not None:
            forget = f"DELETE DATA {{ GRAPH {META_GRAPH} {{ {graph} {ns.CURRENT_VERSION} {old} }} }} ;"
        try:
            self.backend.update(f"{forget} INSERT DATA {{ GRAPH {META_GRAPH} {{ {insert} }} }}")
        except Exception:
            if new is not None:
                self.backend.drop_graph(new)
            raise
        self._drop_unretained([old] if old is not None else [])

    def _drop_unretained(self, storages: Iterable[NamedNode]) -> None:
        """Drop replaced physical graphs with the versions they keep, unless a recorded activity used one.

        A storage graph keeps its version and every older version reconstructed from it; if any of
        them was retained (a decision read it) all stay, unread, for replay.
        """
        for storage in storages:
            top = self._held_version(storage)
            rows = list(self.backend.select(load_query("enertwin.kg", "versions_held.rq"), {"top": top}, [META_GRAPH]))
            if any(r["retained"] is not None and r["retained"].value == "true" for r in rows):
                continue
            nodes = {storage, top, *(r["v"] for r in rows), *(r["delta"] for r in rows if r["delta"] is not None)}
            graphs = {storage, *(r[k] for r in rows for k in ("removed", "added") if r[k] is not None)}
            for node in nodes:
                self.backend.update(f"DELETE WHERE {{ GRAPH {META_GRAPH} {{ {node} ?p ?o }} }}")
            for graph in graphs:
                self.backend.drop_graph(graph)

    def _kept(self) -> set[NamedNode]:
        """Physical graphs to keep: the meta graph, the live ones, and those holding kept versions and deltas."""
        rows = self.backend.select(load_query("enertwin.kg", "kept_graphs.rq"), graphs=[META_GRAPH])
        return {META_GRAPH, *self.live().values(), *(r["g"] for r in rows)}

    def _frozen(self, version: NamedNode) -> bool:
        """Whether ``version`` must stay as it is (see ``version_frozen.rq``)."""
        return self.backend.ask(
            load_query("enertwin.kg", "version_frozen.rq"), {"version": version, "meta": META_GRAPH}
        )

    def is_retained(self, version: NamedNode) -> bool:
        """Whether a recorded activity used graph version ``version`` (so it must be kept)."""
        query = f"ASK {{ {version} {ns.RETAINED} true }}"
        return self.backend.ask(query, graphs=[META_GRAPH])

    def change(self, graph: NamedNode, *, remove: Iterable[Quad] = (), add: Iterable[Quad] = ()) -> WriteReport:
        """Remove then add triples in logical ``graph``, validated on what they touch, atomically.

        The live content is edited in place, so a change costs the change, not the graph. A version
        nothing vouches for keeps its IRI; one a record vouches for (hashed, retained, named by a
        record, or the base of an older kept version) is kept as a reverse delta and the edited
        content becomes a new version (see :mod:`~enertwin.kg.store_versions`).
        """
        prepared = self.prepare_change(graph, remove=remove, add=add)
        self.apply_change(prepared)
        return WriteReport(graph, len(prepared.add), prepared.warnings, version=prepared.result)

    def prepare_change(
        self, graph: NamedNode, *, remove: Iterable[Quad] = (), add: Iterable[Quad] = (), new_version: bool = False
    ) -> PreparedChange:
        """Validate a change of ``graph`` and build its guarded update, writing nothing yet.

        ``new_version``: name the result as a new version even if nothing vouches for the current
        one (a recorded change does: its record names the version it made).
        """
        self._writable()
        dataset = self._dataset(graph)
        delta = Delta(graph=graph, remove=_canonical(remove), add=_canonical(add))
        violations, _, _ = check_write(self.backend, delta, dataset, self.validator, self.series)
        self._raise_on_violations(graph, violations)
        warnings = _warnings(violations)
        removed, added = _triples(delta.remove), _triples(delta.add)
        digest = delta_hash(delta.remove, delta.add)
        if dataset.target is None:  # a new graph made by a change: its first version
            new = NamedNode(f"{graph.value}/version/{uuid.uuid4().hex}")
            insert = f"GRAPH {new} {{ {added} }} GRAPH {META_GRAPH} {{ {graph} {ns.CURRENT_VERSION} {new} }}"
            where = f"FILTER NOT EXISTS {{ GRAPH {META_GRAPH} {{ {graph} {ns.CURRENT_VERSION} ?anyCurrent }} }}"
            return PreparedChange(
                graph, new, new, new, delta.remove, delta.add, None, digest, "", insert, where, warnings
            )
        storage = dataset.target
        version = self._held_version(storage)
        pointed = f"GRAPH {META_GRAPH} {{ {graph} {ns.CURRENT_VERSION} {storage} }}"
        if version != storage:
            held = f"GRAPH {META_GRAPH} {{ {storage} {ns.HOLDS_VERSION} {version} }}"
        else:
            held = f"FILTER NOT EXISTS {{ GRAPH {META_GRAPH} {{ {storage} {ns.HOLDS_VERSION} ?anyHeld }} }}"
        loaded = f"OPTIONAL {{ GRAPH {META_GRAPH} {{ {storage} {ns.INPUT_HASH} ?loaded }} }}"
        delete = f"GRAPH {storage} {{ {removed} }} GRAPH {META_GRAPH} {{ {storage} {ns.INPUT_HASH} ?loaded }}"
        insert = f"GRAPH {storage} {{ {added} }}"
        if not new_version and not self._frozen(version):
            # guarded: a record that vouched for the version meanwhile makes this edit a no-op (a conflict)
            loose = (
                f"FILTER NOT EXISTS {{ GRAPH {META_GRAPH} {{ {version} {ns.CONTENT_HASH} ?anyHash }} }} "
                f"FILTER NOT EXISTS {{ GRAPH {META_GRAPH} {{ {version} {ns.RETAINED} true }} }} "
                f"FILTER NOT EXISTS {{ GRAPH {META_GRAPH} {{ ?anyOlder {ns.RECONSTRUCTED_FROM} {version} }} }} "
                f"FILTER NOT EXISTS {{ GRAPH ?anyRecord {{ ?anyS ?anyP {version} }} "
                f"FILTER (?anyRecord != {META_GRAPH}) }}"
            )
            where = f"{pointed} {held} {loaded} {loose}"
            return PreparedChange(
                graph, storage, version, version, delta.remove, delta.add, None, digest, delete, insert, where, warnings
            )
        new = NamedNode(f"{graph.value}/version/{uuid.uuid4().hex}")
        node, removed_graph, added_graph = delta_graphs(new)
        delete += f" GRAPH {META_GRAPH} {{ {storage} {ns.HOLDS_VERSION} {version} }}"
        insert += (
            f" GRAPH {removed_graph} {{ {removed} }} GRAPH {added_graph} {{ {added} }} GRAPH {META_GRAPH} {{ "
            f"{storage} {ns.HOLDS_VERSION} {new} . {version} {ns.RECONSTRUCTED_FROM} {new} ; "
            f"{ns.REVERSE_DELTA} {node} . {node} {ns.REMOVED_GRAPH} {removed_graph} ; {ns.ADDED_GRAPH} {added_graph} ; "
            f"{ns.CONTENT_HASH} {Literal(digest)} . }}"
        )
        return PreparedChange(
            graph,
            storage,
            version,
            new,
            delta.remove,
            delta.add,
            node,
            digest,
            delete,
            insert,
            f"{pointed} {held} {loaded}",
            warnings,
        )

    def apply_change(self, change: PreparedChange) -> None:
        """Apply a prepared change in one guarded operation; a :class:`CommitConflict` if its version moved."""
        self.backend.update(f"DELETE {{ {change.delete} }} INSERT {{ {change.insert} }} WHERE {{ {change.where} }}")
        if not self.backend.ask(f"ASK {{ {change.marker} }}"):
            raise CommitConflict(
                f"<{change.graph.value}> moved on from version <{change.version.value}> since this change was "
                "validated; nothing was changed, run it again"
            )

    def _held_version(self, storage: NamedNode) -> NamedNode:
        """The version whose content physical graph ``storage`` holds (its own IRI unless a change named it)."""
        rows = list(self.backend.select(f"SELECT ?v WHERE {{ {storage} {ns.HOLDS_VERSION} ?v }}", graphs=[META_GRAPH]))
        return rows[0]["v"] if rows else storage

    def prepare_drop(self, graph: NamedNode, *, series_prefix: str | None = None) -> PreparedDrop:
        """Check that removing logical ``graph`` breaks nothing else, writing nothing yet.

        The ledger commits the removal with its record (see :meth:`Ledger.append`'s ``drops``).
        """
        dataset = self._dataset(graph)
        if dataset.target is None:
            raise InputError(f"there is no graph <{graph.value}> in the store")
        violations, _, _ = check_write(self.backend, Delta(graph=graph, data=b""), dataset, self.validator, self.series)
        self._raise_on_violations(graph, violations)
        return PreparedDrop(graph, dataset.target, self.versions()[graph], series_prefix)

    def _finish_drop(self, drop: PreparedDrop) -> None:
        """After the commit that unlinked ``drop.storage``: drop it unless retained, and its series."""
        self._drop_unretained([drop.storage])
        if drop.series_prefix is not None:
            self.series.delete(drop.series_prefix)

    def _drop_graph(self, graph: NamedNode, *, series_prefix: str | None = None) -> None:
        """Remove logical ``graph`` without a record (kg's own use; callers go through ``Twin.drop``)."""
        drop = self.prepare_drop(graph, series_prefix=series_prefix)
        self._switch(graph, drop.storage, None)
        if series_prefix is not None:
            self.series.delete(series_prefix)

    def _load_cost_model(self, turtle: bytes | str) -> WriteReport:
        """Replace the cost model graph without a record (kg's own use; callers go through ``Twin.load_costs``)."""
        return self.replace_graph(COST_GRAPH, turtle, RdfFormat.TURTLE)

    def _raise_on_violations(self, graph: NamedNode, violations: list[Violation]) -> None:
        errors = [v for v in violations if v.severity is Severity.VIOLATION]
        if errors:
            raise ValidationError(graph.value, errors)

    # -- set-up ----------------------------------------------------------------------------

    def _ensure_initialised(self) -> None:
        """A new store gets its version, the ontology and the default cost model in one commit; an old one is checked.

        Both graphs are loaded first and one update then writes the version record and both
        pointers: a kill before it leaves only unpointed graphs and no version record, which
        the next open drops (see :meth:`_leftovers_of_first_open`) before initialising again.
        """
        version = self.ontology_version()
        if version == ns.ONTOLOGY_VERSION and self._half_initialised():
            self.backend.drop_graph(META_GRAPH)  # left by a first open killed before this fix: redo it
            version = None
        if version is None:
            if self.backend.named_graphs():
                if not self._leftovers_of_first_open():
                    raise OntologyVersionError(
                        "the store holds data but no enertwin version record; it was not written by enertwin"
                    )
                for graph in self.backend.named_graphs():
                    self.backend.drop_graph(graph)
            self._initialise()
        self._check_version()
        self._settle_series()
        self._collect_garbage()

    def _check_version(self) -> None:
        """Refuse a store written under another ontology version (nothing is changed)."""
        version = self.ontology_version()
        if version is not None and version != ns.ONTOLOGY_VERSION:
            raise OntologyVersionError(
                f"the store was written under ontology version {version}; this enertwin uses "
                f"{ns.ONTOLOGY_VERSION}. Nothing was changed; migrate the store or use a matching enertwin."
            )

    def _initialise(self) -> None:
        ontology = (files("enertwin.ontology") / "enertwin.ttl").read_bytes()
        physical = NamedNode(f"{ONTOLOGY_GRAPH.value}/version/{ns.ONTOLOGY_VERSION}")
        self.backend.load_graph(physical, ontology, RdfFormat.TURTLE)
        costs = self._prepare_in(
            Dataset(target=None, others=(META_GRAPH, physical)), COST_GRAPH, default_cost_table(), RdfFormat.TURTLE
        )
        meta = (
            f"{STORE_NODE} {ns.RDF_TYPE} {ns.STORE_METADATA} . "
            f"{STORE_NODE} {ns.ONTOLOGY_VERSION_PROP} {Literal(ns.ONTOLOGY_VERSION)} . "
            f"{ONTOLOGY_GRAPH} {ns.CURRENT_VERSION} {physical} . "
        )
        if self._series_database is not None:  # every later client finds the shared series here
            meta += f"{STORE_NODE} {ns.SERIES_DATABASE} {Literal(self._series_database)} . "
        try:
            self.commit([costs], meta=meta)
        except BaseException:
            self.backend.drop_graph(physical)
            raise

    def _half_initialised(self) -> bool:
        """Whether a version record stands without the ontology or the cost table, and nothing else is live."""
        live = set(self.live())
        return live != {ONTOLOGY_GRAPH, COST_GRAPH} and live <= {ONTOLOGY_GRAPH, COST_GRAPH}

    def _leftovers_of_first_open(self) -> bool:
        """Whether every graph present is an unpointed ontology or cost version (a first open that was killed)."""
        if self.backend.ask("ASK { ?s ?p ?o }", graphs=[META_GRAPH]):
            return False
        own = (f"{ONTOLOGY_GRAPH.value}/version/", f"{COST_GRAPH.value}/version/")
        return all(g.value.startswith(own) for g in self.backend.named_graphs())

    def _settle_series(self) -> None:
        """Finish what interrupted writes left in the series' staging area.

        Series staged for a version that is live were committed with it (the process died
        before promoting them): they are promoted now. The rest belong to no live version
        and are discarded, on an embedded store only (on a shared endpoint another process
        may be about to make its version live); :meth:`orphans` reports them.
        """
        if self.series.absent:
            return  # nothing can be settled in a lost file; reading a series says it is missing
        live = {v.value for v in self.live().values()}
        for version, count in self.series.staged().items():
            if version in live:
                self.series.promote(version)
            elif isinstance(self.backend, EmbeddedBackend):
                self.series.discard(version)
                self.collected.append(_orphan_series(version, count, "were collected when the store was opened"))

    def orphans(self) -> list[Violation]:
        """Leftovers of interrupted writes: those this open collected, then those still here (warnings).

        Still here: series staged for no live version, and graph versions no logical graph
        points at nor a recorded activity retains (an embedded store collects both at open);
        and live series no live graph names (reported only: they may be a user's own).
        """
        live = self.live()
        found = list(self.collected)
        found += [
            _orphan_series(version, count, "wait for a graph version that never became live")
            for version, count in self.series.staged().items()
            if version not in {v.value for v in live.values()}
        ]
        named = {str(r["key"].value) for r in self.query(load_query("enertwin.kg", "series_references.rq"))}
        found += [
            Violation(
                key,
                ns.ET_BASE + "OrphanSeries",
                f"{count} series value(s) under key {key!r} are named by no live graph (left by an interrupted "
                "write or drop, or written beside the store)",
                Severity.WARNING,
            )
            for key, count in sorted(self.series.keys().items())
            if key not in named
        ]
        keep = self._kept()
        found += [
            _orphan_version(graph.value, "is neither live nor retained by a recorded activity")
            for graph in self.backend.named_graphs()
            if graph not in keep and not self.is_retained(graph)
        ]
        return found

    def _collect_garbage(self) -> None:
        """Drop physical graphs no logical graph points at (left by a write that was interrupted)."""
        if not isinstance(self.backend, EmbeddedBackend):
            return  # a shared endpoint may be loading another client's graph right now
        keep = self._kept()
        for graph in self.backend.named_graphs():
            if graph not in keep and not self.is_retained(graph):
                self.backend.drop_graph(graph)
                self.collected.append(_orphan_version(graph.value, "was collected when the store was opened"))


def _orphan_series(version: str, count: int, state: str) -> Violation:
    return Violation(
        version,
        ns.ET_BASE + "OrphanSeries",
        f"{count} series value(s) staged for graph version <{version}> {state} (an interrupted write)",
        Severity.WARNING,
    )


def _orphan_version(version: str, state: str) -> Violation:
    return Violation(
        version,
        ns.ET_BASE + "OrphanGraphVersion",
        f"this graph version {state} (an interrupted write)",
        Severity.WARNING,
    )


def default_cost_table() -> bytes:
    """The reference problem's cost table, shipped as Turtle with the package."""
    return (files("enertwin.kg") / "cost_table.ttl").read_bytes()


def _triples(quads: Iterable[Quad]) -> str:
    """Quads as triples in SPARQL data syntax, serialised by pyoxigraph (never hand-quoted)."""
    return " ".join(f"{q.subject} {q.predicate} {q.object} ." for q in quads)


def _canonical(quads: Iterable[Quad]) -> tuple[Quad, ...]:
    """Quads with literals in the canonical form Oxigraph stores ("10.0"^^xsd:double is kept as "10")."""
    scratch = PyoxigraphStore()
    scratch.extend(Quad(q.subject, q.predicate, q.object) for q in quads)
    return tuple(scratch)


def _sha256(data: bytes | Path) -> str:
    digest = hashlib.sha256()
    if isinstance(data, Path):
        with data.open("rb") as stream:
            while block := stream.read(1 << 20):
                digest.update(block)
    else:
        digest.update(data)
    return digest.hexdigest()


def _warnings(violations: list[Violation]) -> tuple[Violation, ...]:
    return tuple(v for v in violations if v.severity is not Severity.VIOLATION)


def _binding_key(value: Term | Sequence[Term]) -> tuple[str, ...]:
    """A bound value as text, for a cache key (a term, or a set of them)."""
    return (str(value),) if isinstance(value, TERM_TYPES) else tuple(str(v) for v in value)
