"""Check the whole ledger and name the first record that does not hold.

A record fails when its graph is missing, holds another sequence number (records were
reordered), hashes differently from its ledger entry (a triple was added, removed or
changed), does not chain to the record before it, or carries a signature its key does not
make. The signed tree head must cover every record: a record removed from the end shows
there. Keys must be published by a key publication at or before the record they sign.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from pyoxigraph import NamedNode, Quad, RdfFormat, parse
from pyoxigraph import Store as PyoxigraphStore

from enertwin.kg import namespaces as ns
from enertwin.kg.provenance import merkle
from enertwin.kg.provenance.canonical import canonical_hash
from enertwin.kg.provenance.deep_verify import DeepCheck
from enertwin.kg.provenance.keys import signature_holds
from enertwin.kg.provenance.ledger import (
    GENESIS,
    RECORD_GRAPH_BASE,
    LedgerEntry,
    entries,
    leaves,
    record_message,
    record_node,
    tree_head,
    tree_message,
)
from enertwin.kg.provenance.series_digest import SeriesEntry, series_digest
from enertwin.kg.queries import load_query
from enertwin.kg.rows import solutions
from enertwin.kg.store import Store

_PACKAGE = "enertwin.kg.provenance"
_UNTRUSTED = "not by a trusted key (neither pinned nor endorsed by an earlier record a trusted key signed)"


@dataclass(frozen=True, slots=True)
class Finding:
    """Why record ``seq`` (its graph ``graph``) does not verify."""

    seq: int
    graph: str
    problem: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of :func:`verify`: how many records were checked and the first bad one."""

    records: int
    tree_size: int
    first_bad: Finding | None

    @property
    def ok(self) -> bool:
        """Whether every record holds."""
        return self.first_bad is None


def verify(
    store: Store, trusted_key: str | None = None, *, deep: bool = False, pinned: Collection[str] = ()
) -> Verdict:
    """Check every record, the chain, the signatures and the tree head (``trusted_key``: pin one public key).

    ``deep`` also checks what records vouch for outside themselves against their signed hashes: the
    schedule values, every graph version an activity used or generated, the series an import wrote
    and the series snapshot a decision read (:mod:`~enertwin.kg.provenance.deep_verify`).
    ``pinned`` keys (a keyring) and ``trusted_key`` are the trust root: with one, a record or tree head
    counts only if a pinned key signed it or a key that an earlier trusted record endorsed.
    """
    trusted = _trust_root(trusted_key, pinned)
    listed = {e.seq: e for e in entries(store)}
    graphs = {int(g.value[len(RECORD_GRAPH_BASE) :]): p for g, p in store.live().items() if _is_record(g)}
    last = max([*listed, *graphs], default=0)
    keys: dict[str, str] = {}  # key node → public key, as publications are met
    checked: dict[str, str] = {}  # graph version → its hash, computed once
    deeper = DeepCheck(store, checked) if deep else None
    previous = GENESIS
    for seq in range(1, last + 1):
        graph = f"{RECORD_GRAPH_BASE}{seq}"
        entry, physical = listed.get(seq), graphs.get(seq)
        if entry is None or physical is None:
            return _bad(len(listed), store, Finding(seq, graph, "the record is missing (removed from the ledger)"))
        quads = list(parse(store.backend.dump_graph(physical), RdfFormat.N_TRIPLES))
        problem = _check(entry, quads, previous, keys, trusted)
        if problem is None and deeper is not None:
            problem = _check_payload(store, quads, checked, deeper)
        if problem is not None:
            return _bad(len(listed), store, Finding(seq, graph, problem))
        previous = entry.record_hash
    return _check_tree_head(store, [listed[s] for s in range(1, last + 1)], keys, trusted)


def _is_record(graph: NamedNode) -> bool:
    return graph.value.startswith(RECORD_GRAPH_BASE) and graph.value[len(RECORD_GRAPH_BASE) :].isdigit()


def _trust_root(trusted_key: str | None, pinned: Collection[str]) -> set[str] | None:
    """The keys trusted so far (``None``: no trust root, a key counts once the store publishes it)."""
    root = {*pinned, *([trusted_key] if trusted_key is not None else [])}
    return root or None


def _check(
    entry: LedgerEntry, quads: list[Quad], previous: str, keys: dict[str, str], trusted: set[str] | None
) -> str | None:
    """What is wrong with one record, or ``None``."""
    node = record_node(entry.seq)
    if not quads:
        return "its graph is empty (every triple of the record was removed)"
    held = [_value(q.object) for q in quads if q.predicate == ns.SEQUENCE_NUMBER]
    if held != [str(entry.seq)] or not any(q.subject == node for q in quads):
        return f"the graph holds record {', '.join(held) or 'none'} instead of {entry.seq} (records were reordered)"
    if canonical_hash(quads) != entry.record_hash:
        return "its content differs from the signed hash (a triple was added, removed or changed)"
    chained = [_value(q.object) for q in quads if q.subject == node and q.predicate == ns.PREVIOUS_RECORD_HASH]
    if chained != [previous]:
        return "it does not chain to the record before it (a record was removed, inserted or reordered)"
    published = {_value(q.subject): _value(q.object) for q in quads if q.predicate == ns.PUBLIC_KEY}
    keys.update(published)  # keys this record publishes count from this record on
    public = keys.get(entry.key.value)
    if public is None:
        return f"it is signed by the key <{entry.key.value}>, which no earlier record publishes"
    if trusted is not None and public not in trusted:
        return f"it is signed by the key <{entry.key.value}>, {_UNTRUSTED}"
    if not signature_holds(public, record_message(entry.seq, entry.record_hash), entry.signature):
        return "its signature does not match its hash and key"
    if trusted is not None:
        trusted.update(published.values())  # a trusted signer endorses the keys its record publishes
    return None


def _check_payload(store: Store, quads: list[Quad], checked: dict[str, str], deeper: DeepCheck) -> str | None:
    """What a record vouches for that no longer holds: schedule values, a graph version it used, or the rest."""
    scratch = PyoxigraphStore()
    scratch.extend(Quad(q.subject, q.predicate, q.object) for q in quads)
    schedules: dict[str, tuple[str, dict[str, SeriesEntry]]] = {}
    rows = solutions(scratch.query(load_query(_PACKAGE, "schedule_series.rq")), "schedule_series.rq")
    wanted = [(r["schedule"].value, r["hash"].value, r["key"].value, r["asset"], r["quantity"].value) for r in rows]
    values = store.series.read_many([key for _, _, key, _, _ in wanted]) if wanted else {}
    for schedule, digest, key, asset, quantity in wanted:
        relative = key.split("/", 2)[2]  # decision/<id>/… → the key within the decision
        entry = (asset.value if asset is not None else None, quantity, values[key])
        schedules.setdefault(schedule, (digest, {}))[1][relative] = entry
    for schedule, (digest, series) in schedules.items():
        if series_digest(series) != digest:
            return f"the values of schedule <{schedule}> in the series store differ from its signed hash"
    used = solutions(scratch.query(load_query(_PACKAGE, "used_versions.rq")), "used_versions.rq")
    for r in list(used):
        version, digest = r["version"], r["hash"].value
        if not store.has_version(version):
            return f"the graph version <{version.value}> it used is no longer in the store"
        if version.value not in checked:
            checked[version.value] = store.version_hash(version, fresh=True)
        if checked[version.value] != digest:
            return f"the graph version <{version.value}> it used has changed since"
    return deeper.record(scratch)


def _value(term: object) -> str:
    return str(getattr(term, "value", term))


def _check_tree_head(
    store: Store, listed: list[LedgerEntry], keys: dict[str, str], trusted: set[str] | None
) -> Verdict:
    head = tree_head(store)
    size = len(listed)
    if head is None:
        if listed:
            return Verdict(size, 0, Finding(size, f"{RECORD_GRAPH_BASE}{size}", "there is no signed tree head"))
        return Verdict(0, 0, None)
    if head.size != size:
        seq = min(head.size, size) + 1
        problem = f"the signed tree head covers {head.size} records but the ledger holds {size}"
        return Verdict(size, head.size, Finding(seq, f"{RECORD_GRAPH_BASE}{seq}", problem))
    root = merkle.root(leaves(listed)).hex()
    public = keys.get(head.key.value)
    if trusted is not None and public not in trusted:
        problem = f"the signed tree head is signed by the key <{head.key.value}>, {_UNTRUSTED}"
        return Verdict(size, head.size, Finding(size, f"{RECORD_GRAPH_BASE}{size}", problem))
    message = tree_message(head.size, head.root, head.time)
    if root != head.root or public is None or not signature_holds(public, message, head.signature):
        problem = "the signed tree head does not match the records' Merkle root"
        return Verdict(size, head.size, Finding(size, f"{RECORD_GRAPH_BASE}{size}", problem))
    return Verdict(size, head.size, None)


def _bad(records: int, store: Store, finding: Finding) -> Verdict:
    head = tree_head(store)
    return Verdict(records, head.size if head else 0, finding)
