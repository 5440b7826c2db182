"""Inclusion proofs: one record shown to be in the signed tree without handing over the others.

A proof carries the record's hash, its leaf index, the tree size, the audit path and the
signed tree head with its public key. :func:`check_proof` needs nothing else, so a
compliance officer can check a proof away from the store.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from pyoxigraph import NamedNode

from enertwin.kg.errors import EvidenceError, InputError
from enertwin.kg.provenance import merkle
from enertwin.kg.provenance.keys import signature_holds
from enertwin.kg.provenance.leaf_cache import signed_tree
from enertwin.kg.provenance.ledger import (
    RECORD_GRAPH_BASE,
    LedgerEntry,
    entries,
    public_key_of,
    record_node,
    tree_head,
    tree_message,
)
from enertwin.kg.queries import load_query
from enertwin.kg.store import Store


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """Everything needed to check that one record is in the signed tree."""

    record: str
    record_hash: str
    leaf_index: int
    tree_size: int
    root: str
    audit_path: list[str]
    tree_head_time: str
    tree_head_signature: str
    public_key: str

    def as_json(self) -> dict[str, object]:
        """The proof as a JSON object."""
        return asdict(self)


def find_entry(store: Store, iri: str) -> LedgerEntry:
    """The ledger entry of a record named by its graph, its node or the activity it records."""
    if iri.startswith(RECORD_GRAPH_BASE) and iri[len(RECORD_GRAPH_BASE) :].isdigit():
        iri = record_node(int(iri[len(RECORD_GRAPH_BASE) :])).value
    found = entries(store, NamedNode(iri))
    if found:
        return found[0]
    query = load_query("enertwin.kg.provenance", "record_of.rq")
    for row in list(store.backend.select(query, {"activity": NamedNode(iri)}, graphs=None)):
        found = entries(store, row["record"])
        if found:
            return found[0]
    raise InputError(f"no provenance record is, or records, <{iri}> (give a record, its graph or its activity)")


def inclusion_proof(store: Store, iri: str) -> InclusionProof:
    """The proof that the record of ``iri`` is in the current signed tree.

    The tree comes from the leaf cache when its root is the signed one, else from the ledger.
    """
    entry = find_entry(store, iri)
    head = tree_head(store)
    if head is None:
        raise EvidenceError("the ledger has no signed tree head; run `enertwin audit verify`")
    tree = signed_tree(store, head)
    if tree.size != head.size or tree.root.hex() != head.root:
        raise EvidenceError("the signed tree head does not match the ledger's records; run `enertwin audit verify`")
    public_key = public_key_of(store, head.key)
    if public_key is None:
        raise EvidenceError(f"no record publishes the key <{head.key.value}> that signed the tree head")
    return InclusionProof(
        entry.record.value,
        entry.record_hash,
        entry.seq - 1,
        head.size,
        head.root,
        [p.hex() for p in tree.proof(entry.seq - 1)],
        head.time,
        head.signature,
        public_key,
    )


def check_proof(proof: InclusionProof) -> bool:
    """Whether the tree head is signed by the key and the audit path leads from the record to its root."""
    message = tree_message(proof.tree_size, proof.root, proof.tree_head_time)
    if not signature_holds(proof.public_key, message, proof.tree_head_signature):
        return False
    leaf = merkle.leaf_hash(bytes.fromhex(proof.record_hash))
    path = [bytes.fromhex(p) for p in proof.audit_path]
    return merkle.verify_inclusion(leaf, proof.leaf_index, proof.tree_size, path, bytes.fromhex(proof.root))
