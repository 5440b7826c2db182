"""The append-only ledger: each record a named graph, hash-chained, signed and under a signed Merkle root.

A record's graph holds its PROV-O facts plus its sequence number and the hash of the record
before it. Its hash (over the RDFC-1.0 canonical form), signature and key sit in the meta
graph, as does the signed tree head. One append is one store commit: the record, the
graphs it describes and the ledger entry become live together or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from pyoxigraph import Literal, NamedNode, RdfFormat, Triple, serialize

from enertwin.kg import namespaces as ns
from enertwin.kg.errors import StoreError
from enertwin.kg.provenance import merkle
from enertwin.kg.provenance.canonical import canonical_hash
from enertwin.kg.provenance.keys import Signer
from enertwin.kg.provenance.record import ActivityRecord, agent_triples, integer, person_node, text, timestamp
from enertwin.kg.queries import load_query
from enertwin.kg.store import META_GRAPH, PreparedWrite, Store, WriteReport

GENESIS = "0" * 64
LEDGER_NODE = NamedNode(ns.ID_BASE + "ledger")
RECORD_GRAPH_BASE = ns.GRAPH_BASE + "record/"
_PACKAGE = "enertwin.kg.provenance"


def record_graph(seq: int) -> NamedNode:
    """The named graph of record ``seq``."""
    return NamedNode(f"{RECORD_GRAPH_BASE}{seq}")


def record_node(seq: int) -> NamedNode:
    """The node of record ``seq``."""
    return NamedNode(f"{ns.ID_BASE}record/{seq}")


def key_node(key_id: str) -> NamedNode:
    """The ``et:SigningKey`` node of a key id."""
    return NamedNode(f"{ns.ID_BASE}key/{key_id}")


def record_message(seq: int, record_hash: str) -> bytes:
    """What a record's signature signs."""
    return f"enertwin-record\n{seq}\n{record_hash}".encode()


def tree_message(size: int, root: str, time: str) -> bytes:
    """What a tree head's signature signs."""
    return f"enertwin-tree-head\n{size}\n{root}\n{time}".encode()


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One record as the ledger lists it."""

    seq: int
    record: NamedNode
    record_hash: str
    signature: str
    key: NamedNode


@dataclass(frozen=True, slots=True)
class TreeHead:
    """The signed Merkle tree head over the first ``size`` records."""

    size: int
    root: str
    time: str
    signature: str
    key: NamedNode


@dataclass(frozen=True, slots=True)
class Receipt:
    """What an append stored."""

    entry: LedgerEntry
    graph: NamedNode
    reports: tuple[WriteReport, ...]


def entries(store: Store) -> list[LedgerEntry]:
    """The ledger's entries in sequence order."""
    rows = store.backend.select(load_query(_PACKAGE, "ledger_entries.rq"), graphs=[META_GRAPH])
    return [
        LedgerEntry(int(r["seq"].value), r["record"], r["hash"].value, r["signature"].value, r["key"])  # type: ignore[union-attr,arg-type]
        for r in rows
    ]


def tree_head(store: Store) -> TreeHead | None:
    """The current signed tree head, if any record was ever appended."""
    for r in store.backend.select(load_query(_PACKAGE, "tree_head.rq"), graphs=[META_GRAPH]):
        return TreeHead(int(r["size"].value), r["root"].value, r["time"].value, r["signature"].value, r["key"])  # type: ignore[union-attr,arg-type]
    return None


def leaves(listed: Sequence[LedgerEntry]) -> list[bytes]:
    """The Merkle leaves of the entries."""
    return [merkle.leaf_hash(bytes.fromhex(e.record_hash)) for e in listed]


class Ledger:
    """Appends signed records to a store (one writer at a time)."""

    def __init__(self, store: Store, signer: Signer | None = None) -> None:
        """``signer`` defaults to the key ``enertwin init`` made (an :class:`InputError` if there is none)."""
        self.store = store
        self.signer = signer or Signer.load()

    def append(
        self, activity: ActivityRecord, writes: Sequence[PreparedWrite] = (), retain: Sequence[NamedNode] = ()
    ) -> Receipt:
        """Append a record of ``activity``, committing ``writes`` with it and retaining the ``retain`` versions."""
        if not self.key_published():
            self.publish_key()
        return self._append(activity, writes, retain)

    def key_published(self) -> bool:
        """Whether the signer's public key is published in this store."""
        return self.store.ask(load_query(_PACKAGE, "published_key.rq"), {"key": key_node(self.signer.key_id)})

    def publish_key(self) -> Receipt:
        """Append a key publication: the public key, who holds it, signed by itself."""
        now = datetime.now(UTC)
        key = key_node(self.signer.key_id)
        person = person_node(self.signer.identity.person)
        activity = ActivityRecord(
            NamedNode(f"{ns.ID_BASE}key-publication/{self.signer.key_id}"), ns.KEY_PUBLICATION, now, now
        )
        activity.generated(
            key, ns.SIGNING_KEY, {ns.PUBLIC_KEY: text(self.signer.public_key), ns.PROV_WAS_ATTRIBUTED_TO: person}
        )
        activity.associate(person, ns.OPERATOR_ROLE).extend(agent_triples(self.signer.identity))
        return self._append(activity, (), ())

    def _append(
        self, activity: ActivityRecord, writes: Sequence[PreparedWrite], retain: Sequence[NamedNode]
    ) -> Receipt:
        listed = entries(self.store)
        if [e.seq for e in listed] != list(range(1, len(listed) + 1)):
            raise StoreError("the ledger's sequence has gaps; run `enertwin audit verify` before appending")
        seq = len(listed) + 1
        previous = listed[-1].record_hash if listed else GENESIS
        now = datetime.now(UTC)
        node = record_node(seq)
        header = [
            Triple(node, ns.RDF_TYPE, ns.PROVENANCE_RECORD),
            Triple(node, ns.RDF_TYPE, ns.PROV_ENTITY),
            Triple(node, ns.SEQUENCE_NUMBER, integer(seq)),
            Triple(node, ns.PREVIOUS_RECORD_HASH, text(previous)),
            Triple(node, ns.RECORDS_ACTIVITY, activity.iri),
            Triple(node, ns.PROV_GENERATED_AT, timestamp(now)),
        ]
        content = serialize([*header, *activity.triples], format=RdfFormat.N_TRIPLES) or b""
        digest = canonical_hash(content)
        key = key_node(self.signer.key_id)
        entry = LedgerEntry(seq, node, digest, self.signer.sign(record_message(seq, digest)), key)
        root = merkle.root(leaves([*listed, entry])).hex()
        when = now.strftime("%Y-%m-%dT%H:%M:%SZ")  # whole seconds in UTC: stored exactly as signed
        meta = (
            f"{node} {ns.RECORD_HASH} {Literal(digest)} . {node} {ns.SEQUENCE_NUMBER} {integer(seq)} . "
            f"{node} {ns.SIGNATURE} {Literal(entry.signature)} . {node} {ns.SIGNED_BY} {key} . "
            f"{LEDGER_NODE} {ns.TREE_SIZE} {integer(seq)} . {LEDGER_NODE} {ns.ROOT_HASH} {Literal(root)} . "
            f"{LEDGER_NODE} {ns.PROV_GENERATED_AT} {Literal(when, datatype=ns.XSD_DATETIME)} . "
            f"{LEDGER_NODE} {ns.SIGNED_BY} {key} . "
            f"{LEDGER_NODE} {ns.SIGNATURE} {Literal(self.signer.sign(tree_message(seq, root, when)))} . "
            + " ".join(f"{v} {ns.RETAINED} true ." for v in retain)
        )
        forget = f"DELETE WHERE {{ GRAPH {META_GRAPH} {{ {LEDGER_NODE} ?p ?o }} }} ;"
        record = self.store.prepare(record_graph(seq), content, RdfFormat.N_TRIPLES)
        reports = self.store.commit([*writes, record], meta, forget)
        return Receipt(entry, record_graph(seq), tuple(reports))
