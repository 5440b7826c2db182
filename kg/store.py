"""The one facade over the graph, its validation and the time series.

``Store.open(None)`` keeps everything in memory, ``Store.open(PATH)`` keeps a
store on disk (``PATH/graph`` for Oxigraph, ``PATH/series.duckdb`` for series),
``Store.open("http://host:port")`` talks to a remote SPARQL 1.1 endpoint such as
``oxigraph serve``. Every write is validated before it is committed and commits
whole or not at all.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

import pandas as pd
from pyoxigraph import Literal, NamedNode, Quad, QuerySolutions, RdfFormat
from pyoxigraph import Store as PyoxigraphStore

from enertwin.kg import namespaces as ns
from enertwin.kg.backend import GraphBackend
from enertwin.kg.backend_embedded import EmbeddedBackend
from enertwin.kg.backend_remote import RemoteBackend
from enertwin.kg.errors import InputError, OntologyVersionError, StoreError, ValidationError
from enertwin.kg.queries import Bindings, load_query
from enertwin.kg.series import SeriesStore
from enertwin.kg.validation.shacl import ShapeValidator
from enertwin.kg.violation import Severity, Violation
from enertwin.kg.write_check import Dataset, Delta, check_write, series_violations

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


class Store:
    """Named graphs validated on every write, with their time series beside them."""

    def __init__(self, backend: GraphBackend, series: SeriesStore, validator: ShapeValidator | None = None) -> None:
        """Wrap an opened backend; most callers want :meth:`open`."""
        self.backend = backend
        self.series = series
        self.validator = validator or ShapeValidator.default()
        self._ensure_initialised()

    @classmethod
    def open(cls, location: str | Path | None = None, *, series_path: Path | None = None) -> Store:
        """Open the store at ``location`` (``None``: memory; ``http(s)://…``: remote; else a directory).

        A remote store keeps its series in a local DuckDB file (``series_path``, by default
        ``$ENERTWIN_HOME/series/<endpoint>.duckdb`` with ``ENERTWIN_HOME`` defaulting to ``~/.enertwin``).
        """
        if location is None:
            return cls(EmbeddedBackend(None), SeriesStore(series_path))
        text = str(location)
        if text.startswith(("http://", "https://")):
            remote = RemoteBackend(text)
            return cls(remote, SeriesStore(series_path or remote_series_path(text)))
        root = Path(location)
        if root.exists() and not root.is_dir():
            raise StoreError(f"the store path {root} is a file; a store is a directory")
        if root.is_dir() and any(root.iterdir()) and not (root / "graph").is_dir():
            raise StoreError(
                f"the store path {root} is a directory with other files in it, not an enertwin store "
                "(which holds graph/ and series.duckdb); give an empty or new directory"
            )
        try:
            root.mkdir(parents=True, exist_ok=True)
            probe = root / ".enertwin-write-probe"
            probe.touch()
            probe.unlink()
        except OSError as exc:
            raise StoreError(f"the store path {root} cannot be written: {exc.strerror or exc}") from exc
        series = SeriesStore(series_path or root / "series.duckdb")
        try:
            backend = EmbeddedBackend(root / "graph")
        except StoreError:
            series.close()
            raise
        return cls(backend, series)

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
        """Logical graph → the physical graph that holds its live content."""
        rows = self.backend.select(load_query("enertwin.kg", "live_graphs.rq"), graphs=[META_GRAPH])
        return {r["logical"]: r["physical"] for r in rows}  # type: ignore[misc]

    def _readable(self) -> list[NamedNode]:
        return [META_GRAPH, *self.live().values()]

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
        return rows[0]["version"].value if rows else None  # type: ignore[union-attr]

    # -- writing ---------------------------------------------------------------------------

    def _dataset(self, graph: NamedNode) -> Dataset:
        live = self.live()
        others = tuple(p for logical, p in live.items() if logical != graph)
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
        :class:`ValidationError` names each broken rule. Then the series are written, the
        data is loaded into a new physical graph, and one transaction makes it live.
        """
        if series is not None and series_prefix is None:
            raise InputError("series were given without the key prefix they replace")
        raw = data.encode("utf-8") if isinstance(data, str) else data
        digest = _sha256(raw)
        dataset = self._dataset(graph)
        if dataset.target is not None and (same := self._version_info(dataset.target, digest)) is not None:
            if series is not None and series_prefix is not None:
                self.series.replace(series, series_prefix)
            return WriteReport(graph, same, unchanged=True)
        delta = Delta(graph=graph, data=raw, fmt=fmt)
        pending = frozenset(str(c) for c in series.columns) if series is not None else frozenset()
        violations, size = check_write(self.backend, delta, dataset, self.validator, self.series, pending)
        self._raise_on_violations(graph, violations)
        if series is not None and series_prefix is not None:
            self.series.replace(series, series_prefix)
        physical = NamedNode(f"{graph.value}/version/{uuid.uuid4().hex}")
        self.backend.load_graph(physical, raw, fmt)
        facts = (
            f"{physical} {ns.INPUT_HASH} {Literal(digest)} . "
            f"{physical} {ns.TRIPLE_COUNT} {Literal(str(size), datatype=ns.XSD_INTEGER)} ."
        )
        self._switch(graph, dataset.target, physical, facts)
        return WriteReport(graph, size, _warnings(violations))

    def _version_info(self, physical: NamedNode, digest: str) -> int | None:
        """The triple count of ``physical`` if it was loaded from input with hash ``digest``."""
        rows = self.backend.select(
            load_query("enertwin.kg", "version_info.rq"), {"version": physical, "hash": Literal(digest)}, [META_GRAPH]
        )
        return next((int(r["count"].value) for r in rows), None)  # type: ignore[union-attr]

    def _switch(self, graph: NamedNode, old: NamedNode | None, new: NamedNode | None, facts: str = "") -> None:
        """Point ``graph`` at ``new`` (or nowhere) in one transaction, then drop ``old``."""
        insert = f"{graph} {ns.CURRENT_VERSION} {new} . {facts}" if new is not None else ""
        forget = ""
        if old is not None:
            forget = (
                f"DELETE DATA {{ GRAPH {META_GRAPH} {{ {graph} {ns.CURRENT_VERSION} {old} }} }} ; "
                f"DELETE WHERE {{ GRAPH {META_GRAPH} {{ {old} ?p ?o }} }} ;"
            )
        try:
            self.backend.update(f"{forget} INSERT DATA {{ GRAPH {META_GRAPH} {{ {insert} }} }}")
        except Exception:
            if new is not None:
                self.backend.drop_graph(new)
            raise
        if old is not None:
            self.backend.drop_graph(old)

    def change(self, graph: NamedNode, *, remove: Iterable[Quad] = (), add: Iterable[Quad] = ()) -> WriteReport:
        """Remove then add triples in logical ``graph``, validated on what they touch, atomically."""
        dataset = self._dataset(graph)
        delta = Delta(graph=graph, remove=_canonical(remove), add=_canonical(add))
        violations, _ = check_write(self.backend, delta, dataset, self.validator, self.series)
        self._raise_on_violations(graph, violations)
        target = dataset.target
        link = ""
        if target is None:
            target = NamedNode(f"{graph.value}/version/{uuid.uuid4().hex}")
            link = f"INSERT DATA {{ GRAPH {META_GRAPH} {{ {graph} {ns.CURRENT_VERSION} {target} }} }} ;"
        else:  # the version no longer holds what was loaded: forget its content hash and count
            link = f"DELETE WHERE {{ GRAPH {META_GRAPH} {{ {target} {ns.INPUT_HASH} ?h ; {ns.TRIPLE_COUNT} ?n }} }} ;"
        self.backend.update(
            f"{link} DELETE DATA {{ GRAPH {target} {{ {_triples(delta.remove)} }} }} ; "
            f"INSERT DATA {{ GRAPH {target} {{ {_triples(delta.add)} }} }}"
        )
        return WriteReport(graph, len(delta.add), _warnings(violations))

    def drop_graph(self, graph: NamedNode, *, series_prefix: str | None = None) -> None:
        """Remove logical ``graph`` (and the series under ``series_prefix``) if nothing else then breaks."""
        dataset = self._dataset(graph)
        if dataset.target is None:
            raise InputError(f"there is no graph <{graph.value}> in the store")
        violations, _ = check_write(self.backend, Delta(graph=graph, data=b""), dataset, self.validator, self.series)
        self._raise_on_violations(graph, violations)
        self._switch(graph, dataset.target, None)
        if series_prefix is not None:
            self.series.delete(series_prefix)

    def load_cost_model(self, turtle: bytes | str) -> WriteReport:
        """Replace the cost model graph by a user's Turtle (validated like any write)."""
        return self.replace_graph(COST_GRAPH, turtle, RdfFormat.TURTLE)

    def _raise_on_violations(self, graph: NamedNode, violations: list[Violation]) -> None:
        errors = [v for v in violations if v.severity is Severity.VIOLATION]
        if errors:
            raise ValidationError(graph.value, errors)

    # -- set-up ----------------------------------------------------------------------------

    def _ensure_initialised(self) -> None:
        """A new store gets its version, the ontology and the default cost model; an old one is checked."""
        version = self.ontology_version()
        if version is None:
            if self.backend.named_graphs():
                raise OntologyVersionError(
                    "the store holds data but no enertwin version record; it was not written by enertwin"
                )
            meta = (
                f"{STORE_NODE} {ns.RDF_TYPE} {ns.STORE_METADATA} .\n"
                f"{STORE_NODE} {ns.ONTOLOGY_VERSION_PROP} {Literal(ns.ONTOLOGY_VERSION)} .\n"
            )
            self.backend.update(f"INSERT DATA {{ GRAPH {META_GRAPH} {{ {meta} }} }}")
            ontology = (files("enertwin.ontology") / "enertwin.ttl").read_bytes()
            physical = NamedNode(f"{ONTOLOGY_GRAPH.value}/version/{ns.ONTOLOGY_VERSION}")
            self.backend.load_graph(physical, ontology, RdfFormat.TURTLE)
            self._switch(ONTOLOGY_GRAPH, None, physical)
            self.replace_graph(COST_GRAPH, default_cost_table(), RdfFormat.TURTLE)
        elif version != ns.ONTOLOGY_VERSION:
            raise OntologyVersionError(
                f"the store was written under ontology version {version}; this enertwin uses "
                f"{ns.ONTOLOGY_VERSION}. Nothing was changed; migrate the store or use a matching enertwin."
            )
        self._collect_garbage()

    def _collect_garbage(self) -> None:
        """Drop physical graphs no logical graph points at (left by a write that was interrupted)."""
        if not isinstance(self.backend, EmbeddedBackend):
            return  # a shared endpoint may be loading another client's graph right now
        keep = {META_GRAPH, *self.live().values()}
        for graph in self.backend.named_graphs():
            if graph not in keep:
                self.backend.drop_graph(graph)


def remote_series_path(url: str) -> Path:
    """Where the series of the remote store at ``url`` live on this machine."""
    home = Path(os.environ.get("ENERTWIN_HOME", Path.home() / ".enertwin"))
    folder = home / "series"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{quote(url, safe='')}.duckdb"


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
