"""pyoxigraph in this process: in memory, or on disk at a path (RocksDB)."""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Literal as Position

from pyoxigraph import NamedNode, Quad, RdfFormat, Store, Variable

from enertwin.kg.backend import SelectAndAsk
from enertwin.kg.errors import StoreError
from enertwin.kg.queries import TERM_TYPES, Bindings, inline_bindings

CHUNK_BYTES = 16 * 1024 * 1024
FEW_GRAPHS = 32  # up to this many graphs, quads_with looks each one up by name
SMALL_BYTES = 1024 * 1024  # below this, one ordinary transaction loads a graph faster than the bulk loader


class EmbeddedBackend(SelectAndAsk):
    """A pyoxigraph ``Store``; ``path=None`` keeps everything in memory."""

    def __init__(self, path: Path | None = None, *, read_only: bool = False) -> None:
        """Open or create the store; a path that cannot hold a store is a :class:`StoreError`.

        ``read_only`` opens an existing store without its write lock: beside a process that
        writes it (the reader sees the store as it was when opened), or on a read-only copy.
        """
        self.path, self.read_only = path, read_only and path is not None
        # counts this process's writes, before and after each: what was read at one generation still holds
        self.generation = 0
        try:
            if path is None:
                self._store = Store()
            elif self.read_only:
                self._store = Store.read_only(str(path))
            else:
                self._store = Store(str(path))
        except OSError as exc:
            raise StoreError(f"cannot open the graph store at {path}: {exc}") from exc

    def _query(self, query: str, bindings: Bindings | None, graphs: Sequence[NamedNode] | None) -> object:
        single = {k: v for k, v in (bindings or {}).items() if isinstance(v, TERM_TYPES)}
        multi = {k: v for k, v in (bindings or {}).items() if k not in single}
        text, substitutions = inline_bindings(query, multi), {Variable(k): v for k, v in single.items()}
        if graphs is None:
            return self._store.query(text, substitutions=substitutions, use_default_graph_as_union=True)
        return self._store.query(
            text, substitutions=substitutions, default_graph=list(graphs), named_graphs=list(graphs)
        )

    def quads_with(
        self,
        nodes: Sequence[NamedNode],
        position: Position["s", "o"],
        graphs: Sequence[NamedNode],
        predicates: Sequence[NamedNode] | None = None,
    ) -> Iterator[Quad]:
        """Quads of ``graphs`` whose subject or object is one of ``nodes`` (index lookups, no parsing).

        For a few graphs each is looked up by name (an index on graph first): a node that a thousand
        ledger records mention (the software agent, a changed asset) then costs nothing in the others.
        """
        wanted = set(graphs)
        if len(wanted) <= FEW_GRAPHS:
            for node in nodes:
                for predicate in predicates if predicates is not None else (None,):
                    for graph in graphs:
                        if position == "s":
                            yield from self._store.quads_for_pattern(node, predicate, None, graph)
                        else:
                            yield from self._store.quads_for_pattern(None, predicate, node, graph)
            return
        for node in nodes:
            for predicate in predicates if predicates is not None else (None,):
                if position == "s":
                    found = self._store.quads_for_pattern(node, predicate, None, None)
                else:
                    found = self._store.quads_for_pattern(None, predicate, node, None)
                yield from (quad for quad in found if quad.graph_name in wanted)

    def pairs(self, predicate: NamedNode, graph: NamedNode) -> list[tuple[NamedNode, NamedNode]]:
        """(subject, object) of every ``predicate`` triple in ``graph`` whose terms are IRIs (an index scan)."""
        return [
            (q.subject, q.object)
            for q in self._store.quads_for_pattern(None, predicate, None, graph)
            if isinstance(q.subject, NamedNode) and isinstance(q.object, NamedNode)
        ]

    def named_graphs(self) -> list[NamedNode]:
        """Every named graph that holds quads."""
        return sorted((g for g in self._store.named_graphs() if isinstance(g, NamedNode)), key=lambda g: g.value)

    def load_graph(self, graph: NamedNode, data: bytes | Path, fmt: RdfFormat) -> None:
        """Bulk-load into ``graph`` (not atomic: the store keeps the graph unread until it is complete).

        Line-based formats are loaded in chunks of whole lines: Oxigraph's bulk loader buffers
        a whole input, and chunks keep its memory small (1.6 GB → 0.2 GB for 2.3 M triples).
        """
        self._writable()
        self.generation += 1
        try:
            if isinstance(data, bytes) and len(data) < SMALL_BYTES:  # a bulk load writes files: costly on disk
                self._store.load(data, format=fmt, to_graph=graph)
                return
            for chunk in _chunks(data, fmt):
                self._store.bulk_load(chunk, format=fmt, to_graph=graph)
        except (OSError, SyntaxError) as exc:
            self.drop_graph(graph)
            raise StoreError(f"cannot load graph {graph}: {exc}") from exc

    def update(self, update: str) -> None:
        """Run a SPARQL update in one transaction."""
        self._writable()
        self.generation += 1
        try:
            self._store.update(update)
        finally:
            self.generation += 1  # a reader that looked while the update ran sees it moved

    def drop_graph(self, graph: NamedNode) -> None:
        """Remove ``graph`` and its quads."""
        self._writable()
        self.generation += 1
        try:
            self._store.remove_graph(graph)
        finally:
            self.generation += 1

    def _writable(self) -> None:
        if self.read_only:
            raise StoreError(f"the graph store at {self.path} was opened read-only; this command cannot write it")

    def dump_graph(self, graph: NamedNode) -> bytes:
        """The triples of ``graph`` as N-Triples."""
        return self._store.dump(format=RdfFormat.N_TRIPLES, from_graph=graph) or b""

    def dump_nquads(self) -> bytes:
        """All quads as N-Quads."""
        return self._store.dump(format=RdfFormat.N_QUADS) or b""

    def close(self) -> None:
        """Flush to disk (no-op in memory)."""
        if self.path is not None and not self.read_only:
            self._store.flush()
        del self._store


def _chunks(data: bytes | Path, fmt: RdfFormat) -> Iterator[bytes]:
    """The input in pieces of whole lines for line-based formats, else whole."""
    if fmt not in (RdfFormat.N_TRIPLES, RdfFormat.N_QUADS):
        yield data.read_bytes() if isinstance(data, Path) else data
        return
    stream = data.open("rb") if isinstance(data, Path) else io.BytesIO(data)
    with stream:
        while lines := stream.readlines(CHUNK_BYTES):
            yield b"".join(lines)
