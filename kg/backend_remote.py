"""A remote SPARQL 1.1 endpoint (query, update, graph store protocol), e.g. ``oxigraph serve``.

Values are bound as ``VALUES`` blocks serialised from RDF terms, since the HTTP
protocol has no substitutions; the dataset is chosen with the protocol's
``default-graph-uri`` and ``named-graph-uri`` parameters.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Literal as Position
from urllib.parse import urlencode

import httpx
from pyoxigraph import NamedNode, Quad, QueryResultsFormat, RdfFormat, parse_query_results

from enertwin.kg.backend import BATCH, SelectAndAsk
from enertwin.kg.errors import InputError, StoreError
from enertwin.kg.locations import masked
from enertwin.kg.queries import Bindings, inline_bindings, load_query

_MEDIA = {
    RdfFormat.N_TRIPLES: "application/n-triples",
    RdfFormat.TURTLE: "text/turtle",
    RdfFormat.N_QUADS: "application/n-quads",
}
_RESULTS = "application/sparql-results+json"


class RemoteBackend(SelectAndAsk):
    """Client for an endpoint that serves ``/query``, ``/update`` and ``/store`` (oxigraph's layout)."""

    def __init__(self, url: str, timeout: float = 300.0) -> None:
        """Connect to ``url`` (e.g. ``http://127.0.0.1:7878``) and check that it answers.

        Credentials in the URL are sent (HTTP basic) and never shown: messages name :attr:`shown`.
        """
        self.url = url.rstrip("/")
        self.shown = masked(self.url)
        self._http = httpx.Client(timeout=timeout)
        try:
            self.ask("ASK { }")
        except (httpx.HTTPError, StoreError) as exc:
            self._http.close()
            raise StoreError(f"the SPARQL endpoint {self.shown} does not answer: {_hidden(exc, self.url)}") from None

    def _query(self, query: str, bindings: Bindings | None, graphs: Sequence[NamedNode] | None) -> object:
        form: list[tuple[str, str]] = [("query", inline_bindings(query, bindings or {}))]
        if graphs is None:
            form.append(("union-default-graph", ""))
        else:
            form += [("default-graph-uri", g.value) for g in graphs]
            form += [("named-graph-uri", g.value) for g in graphs]
        response = self._http.post(
            f"{self.url}/query",
            content=urlencode(form).encode("ascii"),
            headers={"Accept": _RESULTS, "Content-Type": "application/x-www-form-urlencoded"},
        )
        if response.status_code == 400:
            raise InputError(f"{self.shown} rejected the query as invalid SPARQL: {response.text[:300]}")
        if response.status_code != 200:
            raise StoreError(f"{self.shown} refused a query ({response.status_code}): {response.text[:300]}")
        return parse_query_results(response.content, format=QueryResultsFormat.JSON)

    def quads_with(
        self,
        nodes: Sequence[NamedNode],
        position: Position["s", "o"],
        graphs: Sequence[NamedNode],
        predicates: Sequence[NamedNode] | None = None,
    ) -> Iterator[Quad]:
        """Quads of ``graphs`` whose subject or object is one of ``nodes`` (batched requests)."""
        if not graphs:
            return
        query = load_query("enertwin.kg", "quads_matching.rq")
        it = iter(nodes)
        while batch := list(islice(it, BATCH // 4)):
            bindings: dict[str, list[NamedNode]] = {position: batch}
            if predicates is not None:
                bindings["p"] = list(predicates)
            for row in self.select(query, bindings, graphs):
                yield Quad(row["s"], row["p"], row["o"], row["g"])

    def named_graphs(self) -> list[NamedNode]:
        """Every named graph that holds quads."""
        rows = self.select(load_query("enertwin.kg", "named_graphs.rq"))
        return sorted((r["g"] for r in rows), key=lambda g: g.value)

    def load_graph(self, graph: NamedNode, data: bytes | Path, fmt: RdfFormat) -> None:
        """``PUT`` the content of the new graph (graph store protocol)."""
        body = data.read_bytes() if isinstance(data, Path) else data
        response = self._http.put(
            f"{self.url}/store", params={"graph": graph.value}, content=body, headers={"Content-Type": _MEDIA[fmt]}
        )
        if response.status_code not in (200, 201, 204):
            self.drop_graph(graph)
            raise StoreError(
                f"{self.shown} refused to load graph {graph} ({response.status_code}): {response.text[:300]}"
            )

    def update(self, update: str) -> None:
        """One SPARQL update request (the server runs it in one transaction)."""
        response = self._http.post(f"{self.url}/update", data={"update": update})
        if response.status_code not in (200, 204):
            raise StoreError(f"{self.shown} refused an update ({response.status_code}): {response.text[:300]}")

    def drop_graph(self, graph: NamedNode) -> None:
        """Remove ``graph``."""
        self.update(f"DROP SILENT GRAPH {graph}")

    def dump_graph(self, graph: NamedNode) -> bytes:
        """The triples of ``graph`` as N-Triples (graph store protocol)."""
        response = self._http.get(
            f"{self.url}/store", params={"graph": graph.value}, headers={"Accept": "application/n-triples"}
        )
        if response.status_code == 404:
            return b""
        if response.status_code != 200:
            raise StoreError(f"{self.shown} refused to read graph {graph} ({response.status_code})")
        return response.content

    def dump_nquads(self) -> bytes:
        """The whole dataset as N-Quads (graph store protocol on the default resource)."""
        response = self._http.get(f"{self.url}/store", headers={"Accept": "application/n-quads"})
        if response.status_code != 200:
            raise StoreError(f"{self.shown} refused a dump ({response.status_code})")
        return response.content

    def close(self) -> None:
        """Close the HTTP client."""
        self._http.close()


def _hidden(exc: BaseException, url: str) -> str:
    """An HTTP error's text with the URL's password masked, should the client have echoed the URL."""
    return str(exc).replace(url, masked(url))
