"""The append-only ledger: each record a named graph, hash-chained, signed and under a signed Merkle root.

A record's graph holds its PROV-O facts plus its sequence number and the hash of the record
before it. Its hash (over the RDFC-1.0 canonical form), signature and key sit in the meta
graph, as does the signed tree head. One append is one store commit: the record, the
graphs it describes and the ledger entry become live together or not at all.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd
from pyoxigraph import Literal, NamedNode, RdfFormat, Triple, serialize

from enertwin.kg import namespaces as ns
from enertwin.kg.errors import CommitConflict, StoreError
from enertwin.kg.provenance import merkle
from enertwin.kg.provenance.canonical import canonical_hash
from enertwin.kg.provenance.keys import Signer
from enertwin.kg.provenance.record import ActivityRecord, Term, agent_triples, integer, person_node, text, timestamp
from enertwin.kg.queries import load_query
from enertwin.kg.rows import read_rows
from enertwin.kg.store import META_GRAPH, PreparedChange, PreparedDrop, PreparedWrite, Store, WriteReport

GENESIS = "0" * 64
LEDGER_NODE = NamedNode(ns.ID_BASE + "ledger")
RECORD_GRAPH_BASE = ns.GRAPH_BASE + "record/"
_PACKAGE = "enertwin.kg.provenance"
ATTEMPTS = 30  # compare-and-set tries before a writer gives up
ENTRY_PROPERTIES = {  # query variable → the meta-graph property it reads, for error messages
    "seq": "et:sequenceNumber",
    "hash": "et:recordHash",
    "signature": "et:signature",
    "key": "et:signedBy",
    "size": "et:treeSize",
    "root": "et:rootHash",
    "time": "prov:generatedAtTime",
}


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


def entries(store: Store, record: NamedNode | None = None) -> list[LedgerEntry]:
    """The ledger's entries in sequence order (only ``record``'s, when given)."""
    bindings = {"record": record} if record is not None else None
    found = store.backend.select(load_query(_PACKAGE, "ledger_entries.rq"), bindings, graphs=[META_GRAPH])
    return [
        LedgerEntry(
            r.int("seq"), NamedNode(r.iri("record")), r.str("hash"), r.str("signature"), NamedNode(r.iri("key"))
        )
        for r in read_rows(found, "record", ENTRY_PROPERTIES, "ledger_entries.rq")
    ]


def tree_head(store: Store) -> TreeHead | None:
    """The current signed tree head, if any record was ever appended."""
    found = store.backend.select(load_query(_PACKAGE, "tree_head.rq"), graphs=[META_GRAPH])
    for r in read_rows(found, None, ENTRY_PROPERTIES, "tree_head.rq"):
        return TreeHead(r.int("size"), r.str("root"), r.str("time"), r.str("signature"), NamedNode(r.iri("key")))
    return None


def public_key_of(store: Store, key: NamedNode, at: int | None = None) -> str | None:
    """The base64 public key published for ``key`` by the earliest ledger record (at or before ``at``) that does.

    Only a record graph that is itself a ledger entry counts: key triples in any other graph
    (a cost model, an import) publish nothing.
    """
    logical_of = {physical: logical for logical, physical in store.live().items()}
    rows = store.backend.select(load_query(_PACKAGE, "public_key.rq"), {"key": key}, graphs=None)
    found: dict[int, str] = {}
    for r in rows:
        logical = logical_of.get(r["g"])
        tail = logical.value[len(RECORD_GRAPH_BASE) :] if logical is not None else ""
        if logical is None or not logical.value.startswith(RECORD_GRAPH_BASE) or not tail.isdigit():
            continue
        seq = int(tail)
        if (at is None or seq <= at) and entries(store, record_node(seq)):
            found.setdefault(seq, str(r["public"].value))
    return found[min(found)] if found else None


def record_contents(store: Store, selected: Sequence[LedgerEntry] | None = None) -> dict[str, bytes]:
    """Record graph IRI → its N-Triples, for ``selected`` entries (default: every record), in sequence order."""
    live = store.live()
    chosen = selected if selected is not None else entries(store)
    return {
        record_graph(e.seq).value: store.backend.dump_graph(live[record_graph(e.seq)])
        for e in chosen
        if record_graph(e.seq) in live
    }


def leaves(listed: Sequence[LedgerEntry]) -> list[bytes]:
    """The Merkle leaves of the entries."""
    return [merkle.leaf_hash(bytes.fromhex(e.record_hash)) for e in listed]


def _head_guard(size: int, root: str, seq: int) -> str:
    """The pattern a commit needs to match: the head as read (none if empty) and no entry yet for ``seq``."""
    if size:
        head = f"GRAPH {META_GRAPH} {{ {LEDGER_NODE} {ns.TREE_SIZE} {integer(size)} ; {ns.ROOT_HASH} {Literal(root)} }}"
    else:
        head = f"FILTER NOT EXISTS {{ GRAPH {META_GRAPH} {{ {LEDGER_NODE} {ns.TREE_SIZE} ?anySize }} }}"
    free = f"FILTER NOT EXISTS {{ GRAPH {META_GRAPH} {{ ?taken {ns.SEQUENCE_NUMBER} {integer(seq)} }} }}"
    return f"{head} {free} OPTIONAL {{ GRAPH {META_GRAPH} {{ {LEDGER_NODE} ?headP ?headO }} }}"


def _check_sequence(listed: Sequence[LedgerEntry]) -> None:
    """Refuse to append to a forked ledger (two records with one sequence number) or one with gaps."""
    by_seq: dict[int, list[LedgerEntry]] = {}
    for e in listed:
        by_seq.setdefault(e.seq, []).append(e)
    for seq, claims in sorted(by_seq.items()):
        hashes = sorted({e.record_hash for e in claims})
        if len(hashes) > 1:
            keys = ", ".join(sorted({e.key.value for e in claims}))
            raise StoreError(
                f"the ledger is forked at sequence {seq}: {len(hashes)} records claim {claims[0].record.value} "
                f"(hashes {', '.join(hashes)}; signed by {keys}); "
                "run `enertwin audit verify` before appending"
            )
    if sorted(by_seq) != list(range(1, len(by_seq) + 1)):
        raise StoreError("the ledger's sequence has gaps; run `enertwin audit verify` before appending")


Listener = Callable[[Receipt, ActivityRecord], None]


class Ledger:
    """Appends signed records to a store; concurrent writers serialise on the ledger head (compare-and-set).

    ``listeners`` are told of each record once it is committed (the Twin's commit events).
    """

    def __init__(self, store: Store, signer: Signer | None = None) -> None:
        """``signer`` defaults to the key ``enertwin init`` made (an :class:`InputError` if there is none)."""
        self.store = store
        self.signer = signer or Signer.load()
        self.key = key_node(self.signer.key_id)
        self._listed: list[LedgerEntry] = []
        self._published = False
        self.retries = 0  # compare-and-set commits this ledger lost to another writer and retried
        self.listeners: list[Listener] = []

    def append(
        self,
        activity: ActivityRecord,
        writes: Sequence[PreparedWrite] = (),
        retain: Sequence[NamedNode] = (),
        series: tuple[pd.DataFrame, str] | None = None,
        drops: Sequence[PreparedDrop] = (),
        changes: Sequence[PreparedChange] = (),
    ) -> Receipt:
        """Append a record of ``activity``, committing ``writes`` with it and retaining the ``retain`` versions.

        ``series`` (a frame and its key prefix) are values the record's graph refers to; ``drops``
        are graphs removed in the same commit (each only if its version is still the live one); prepared
        ``changes`` (edits of live graphs) are applied in the same commit as the record.
        """
        self._publish_once()
        receipt = self._append([activity], writes, retain, series, drops, changes)[0]
        for drop in drops:
            self.store._finish_drop(drop)
        return receipt

    def append_many(self, activities: Sequence[ActivityRecord]) -> list[Receipt]:
        """Append one record per activity in one commit, validated together (an agent's burst of actions)."""
        self._publish_once()
        return self._append(activities, (), (), None, ()) if activities else []

    def key_published(self) -> bool:
        """Whether the signer's public key is published in this store."""
        return public_key_of(self.store, self.key) == self.signer.public_key

    def publish_key(self) -> Receipt:
        """Append a key publication: the public key, who holds it, signed by itself."""
        now = datetime.now(UTC)
        person = person_node(self.signer.identity.person)
        activity = ActivityRecord(
            NamedNode(f"{ns.ID_BASE}key-publication/{self.signer.key_id}"), ns.KEY_PUBLICATION, now, now
        )
        facts: dict[NamedNode, Term] = {ns.PUBLIC_KEY: text(self.signer.public_key), ns.PROV_WAS_ATTRIBUTED_TO: person}
        activity.generated(self.key, ns.SIGNING_KEY, facts)
        activity.associate(person, ns.OPERATOR_ROLE).extend(agent_triples(self.signer.identity))
        self._published = True
        return self._append([activity], (), (), None, ())[0]

    def _publish_once(self) -> None:
        if not self._published and not self.key_published():
            self.publish_key()
        self._published = True

    def _entries(self) -> list[LedgerEntry]:
        """The entries, read again only when another writer's tree head shows more than this ledger knows."""
        head = tree_head(self.store)
        if head is None or head.size != len(self._listed):
            self._listed = entries(self.store)
        _check_sequence(self._listed)
        return self._listed

    def _append(
        self,
        activities: Sequence[ActivityRecord],
        writes: Sequence[PreparedWrite],
        retain: Sequence[NamedNode],
        series: tuple[pd.DataFrame, str] | None,
        drops: Sequence[PreparedDrop],
        changes: Sequence[PreparedChange] = (),
    ) -> list[Receipt]:
        """Append as a compare-and-set on the ledger head; a writer that lost rebuilds its records and retries."""
        for attempt in range(ATTEMPTS):
            known = len(self._entries())
            try:
                receipts = self._try_append(activities, writes, retain, series, drops, changes)
            except CommitConflict:
                head = tree_head(self.store)
                if head is not None and head.size == known:
                    raise StoreError(
                        "another writer changed a graph this write replaces; nothing was stored, run it again"
                    ) from None
                self.retries += 1
                time.sleep(random.uniform(0, 0.01 * (attempt + 1)))  # noqa: S311 (not crypto) spread the retries of several losers
                continue
            for receipt, activity in zip(receipts, activities, strict=True):
                for listener in list(self.listeners):
                    listener(receipt, activity)
            return receipts
        raise StoreError(
            f"another writer kept appending to the ledger; this record was not stored (tried {ATTEMPTS} times)"
        )

    def _try_append(
        self,
        activities: Sequence[ActivityRecord],
        writes: Sequence[PreparedWrite],
        retain: Sequence[NamedNode],
        series: tuple[pd.DataFrame, str] | None,
        drops: Sequence[PreparedDrop] = (),
        changes: Sequence[PreparedChange] = (),
    ) -> list[Receipt]:
        """One attempt: records built on the head as read, committed only if that head is still current."""
        listed = list(self._entries())
        expected = len(listed), merkle.root(leaves(listed)).hex()
        now = datetime.now(UTC)
        contents, added = [], []
        for activity in activities:
            seq = len(listed) + 1
            content = self._content(seq, listed[-1].record_hash if listed else GENESIS, activity, now)
            digest = canonical_hash(content)
            entry = LedgerEntry(seq, record_node(seq), digest, self.signer.sign(record_message(seq, digest)), self.key)
            listed.append(entry)
            added.append(entry)
            contents.append((record_graph(seq), content))
        frame, prefix = series if series is not None else (None, None)
        if len(contents) == 1:
            graph, content = contents[0]
            records = [self.store.prepare(graph, content, RdfFormat.N_TRIPLES, series=frame, series_prefix=prefix)]
        else:
            records = self.store.prepare_batch(contents, RdfFormat.N_TRIPLES)
        first = added[0]

        def applied() -> bool:
            return any(e.record_hash == first.record_hash for e in entries(self.store, first.record))

        unlinks = " ".join(f"{d.graph} {ns.CURRENT_VERSION} {d.storage} ." for d in drops)
        still_live = " ".join(f"GRAPH {META_GRAPH} {{ {d.graph} {ns.CURRENT_VERSION} {d.storage} }}" for d in drops)
        reports = self.store.commit(
            [*writes, *records],
            self._ledger_facts(added, listed, now, retain),
            forget=f"{LEDGER_NODE} ?headP ?headO . {unlinks}",
            where=f"{_head_guard(*expected, first.seq)} {still_live}",
            applied=applied,
            changes=changes,
        )
        self._listed = listed
        kept = reports[len(writes) :]
        return [Receipt(e, record_graph(e.seq), (*reports[: len(writes)], r)) for e, r in zip(added, kept, strict=True)]

    @staticmethod
    def _content(seq: int, previous: str, activity: ActivityRecord, now: datetime) -> bytes:
        """The record's N-Triples: its header (sequence number, previous hash) and the activity."""
        node = record_node(seq)
        header = [
            Triple(node, ns.RDF_TYPE, ns.PROVENANCE_RECORD),
            Triple(node, ns.RDF_TYPE, ns.PROV_ENTITY),
            Triple(node, ns.SEQUENCE_NUMBER, integer(seq)),
            Triple(node, ns.PREVIOUS_RECORD_HASH, text(previous)),
            Triple(node, ns.RECORDS_ACTIVITY, activity.iri),
            Triple(node, ns.PROV_GENERATED_AT, timestamp(now)),
        ]
        return serialize([*header, *activity.triples], format=RdfFormat.N_TRIPLES) or b""

    def _ledger_facts(
        self, added: list[LedgerEntry], listed: list[LedgerEntry], now: datetime, retain: Sequence[NamedNode]
    ) -> str:
        """The new entries, the new signed tree head and the retained versions, as meta-graph triples."""
        lines = [
            f"{e.record} {ns.RECORD_HASH} {Literal(e.record_hash)} . "
            f"{e.record} {ns.SEQUENCE_NUMBER} {integer(e.seq)} . "
            f"{e.record} {ns.SIGNATURE} {Literal(e.signature)} . {e.record} {ns.SIGNED_BY} {e.key} ."
            for e in added
        ]
        size, root = len(listed), merkle.root(leaves(listed)).hex()
        when = now.strftime("%Y-%m-%dT%H:%M:%SZ")  # whole seconds in UTC: stored exactly as signed
        lines.append(
            f"{LEDGER_NODE} {ns.TREE_SIZE} {integer(size)} . {LEDGER_NODE} {ns.ROOT_HASH} {Literal(root)} . "
            f"{LEDGER_NODE} {ns.PROV_GENERATED_AT} {Literal(when, datatype=ns.XSD_DATETIME)} . "
            f"{LEDGER_NODE} {ns.SIGNED_BY} {self.key} . "
            f"{LEDGER_NODE} {ns.SIGNATURE} {Literal(self.signer.sign(tree_message(size, root, when)))} ."
        )
        lines += [f"{v} {ns.RETAINED} true ." for v in retain]
        return " ".join(lines)
