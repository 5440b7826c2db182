"""One hash per graph content, whatever its serialisation order or blank-node labels.

RDFC-1.0 (W3C RDF Dataset Canonicalization) relabels blank nodes deterministically;
the canonical N-Quads lines are then sorted and hashed with SHA-256. Literals are
first put in the form Oxigraph stores ("10.0"^^xsd:double is kept as "10"), so a
hash taken before a write equals the hash of what the store gives back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from pyoxigraph import CanonicalizationAlgorithm, Dataset, DefaultGraph, Quad, RdfFormat, Store, parse, serialize


def canonical_nquads(data: bytes | Iterable[Quad], *, stored: bool = False) -> bytes:
    """The canonical N-Quads of N-Triples ``data`` (or of quads, whose graph names are dropped).

    ``stored``: the N-Triples come from Oxigraph itself (literals already in stored form). Without
    blank nodes RDFC-1.0 relabels nothing, so its output is then the sorted lines themselves, which
    is 20 times faster on a grid of 200,000 triples.
    """
    if stored and isinstance(data, bytes) and b"_:" not in data:
        return b"".join(sorted(data.splitlines(keepends=True)))
    quads = parse(data, RdfFormat.N_TRIPLES) if isinstance(data, bytes) else data
    scratch = Store()  # Oxigraph's stored form of every literal
    scratch.extend(Quad(q.subject, q.predicate, q.object, DefaultGraph()) for q in quads)
    dataset = Dataset(scratch)
    dataset.canonicalize(CanonicalizationAlgorithm.RDFC_1_0)
    lines = (serialize(dataset, format=RdfFormat.N_QUADS) or b"").splitlines(keepends=True)
    return b"".join(sorted(lines))


def canonical_hash(data: bytes | Iterable[Quad], *, stored: bool = False) -> str:
    """Hex SHA-256 of :func:`canonical_nquads`."""
    return hashlib.sha256(canonical_nquads(data, stored=stored)).hexdigest()
