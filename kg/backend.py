"""What every graph backend offers the :class:`~enertwin.kg.store.Store` facade.

Three backends share this protocol: pyoxigraph in memory, pyoxigraph on disk and a
remote SPARQL 1.1 endpoint. ``update`` is atomic; ``load_graph`` is a fast bulk load
into a graph that no reader sees yet (the store makes it live with one ``update``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Literal as Position
from typing import Protocol

from pyoxigraph import NamedNode, Quad, QuerySolutions, RdfFormat

from enertwin.kg.errors import InputError
from enertwin.kg.queries import Bindings

BATCH = 2000


class GraphBackend(Protocol):
    """Storage of named graphs that answers SPARQL."""

    def select(
        self, query: str, bindings: Bindings | None = None, graphs: Sequence[NamedNode] | None = None
    ) -> QuerySolutions:
        """Run a SELECT; ``graphs`` is the dataset (default graph = their union), ``None`` all graphs."""
        ...

    def ask(self, query: str, bindings: Bindings | None = None, graphs: Sequence[NamedNode] | None = None) -> bool:
        """Run an ASK over ``graphs`` (``None``: all)."""
        ...

    def quads_with(
        self,
        nodes: Sequence[NamedNode],
        position: Position["s", "o"],
        graphs: Sequence[NamedNode],
        predicates: Sequence[NamedNode] | None = None,
    ) -> Iterator[Quad]:
        """Quads of ``graphs`` whose subject (``"s"``) or object (``"o"``) is one of ``nodes``.

        ``predicates``, when given, keeps only quads with one of those predicates.
        """
        ...

    def named_graphs(self) -> list[NamedNode]:
        """Every named graph that holds quads."""
        ...

    def load_graph(self, graph: NamedNode, data: bytes | Path, fmt: RdfFormat) -> None:
        """Bulk-load ``data`` into the (new, unread) graph ``graph``."""
        ...

    def update(self, update: str) -> None:
        """Run a SPARQL update in one transaction."""
        ...

    def drop_graph(self, graph: NamedNode) -> None:
        """Remove a named graph and its content."""
        ...

    def dump_graph(self, graph: NamedNode) -> bytes:
        """The triples of one graph as N-Triples."""
        ...

    def dump_nquads(self) -> bytes:
        """Every quad of every graph as N-Quads (order not defined)."""
        ...

    def close(self) -> None:
        """Release files and connections."""
        ...


class SelectAndAsk:
    """``select`` and ``ask`` for backends that answer every query through one ``_query`` method."""

    def _query(self, query: str, bindings: Bindings | None, graphs: Sequence[NamedNode] | None) -> object:
        raise NotImplementedError

    def select(
        self, query: str, bindings: Bindings | None = None, graphs: Sequence[NamedNode] | None = None
    ) -> QuerySolutions:
        """Run a SELECT over ``graphs`` (``None``: the union of all graphs)."""
        result = self._query(query, bindings, graphs)
        if not isinstance(result, QuerySolutions):
            raise InputError("the query is not a SELECT query (ASK, CONSTRUCT and DESCRIBE are not answered here)")
        return result

    def ask(self, query: str, bindings: Bindings | None = None, graphs: Sequence[NamedNode] | None = None) -> bool:
        """Run an ASK over ``graphs`` (``None``: all)."""
        return bool(self._query(query, bindings, graphs))
