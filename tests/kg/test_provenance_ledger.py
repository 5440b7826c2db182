"""The ledger: canonical hashes, the chain, signatures, the tree head, and every way to tamper with them."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pyoxigraph import Literal, NamedNode, Quad

from enertwin.kg import namespaces as ns
from enertwin.kg.errors import InputError
from enertwin.kg.provenance import merkle
from enertwin.kg.provenance.canonical import canonical_hash
from enertwin.kg.provenance.keys import Identity, Signer
from enertwin.kg.provenance.ledger import Ledger, entries, leaves, record_graph, record_node, tree_head
from enertwin.kg.provenance.record import ActivityRecord, person_node
from enertwin.kg.provenance.verify import verify
from enertwin.kg.store import META_GRAPH, Store

RECORDS = 8  # one key publication and seven actions


@pytest.fixture
def ledger_store(signing_key: Signer) -> Store:
    store = Store.open(None)
    ledger = Ledger(store, signing_key)
    for i in range(RECORDS - 1):
        now = datetime.now(UTC)
        action = ActivityRecord(NamedNode(f"{ns.ID_BASE}activity/{i}"), ns.AGENT_ACTION, now, now)
        action.associate(person_node(f"person {i}"), ns.OPERATOR_ROLE).add(action.iri, ns.REASON, Literal(f"step {i}"))
        ledger.append(action)
    return store


def physical(store: Store, seq: int) -> NamedNode:
    return store.live()[record_graph(seq)]


def test_canonical_hash_ignores_order_and_blank_node_labels() -> None:
    a = b'<http://s> <http://p> _:x .\n_:x <http://q> "1"^^<http://www.w3.org/2001/XMLSchema#integer> .\n'
    b = b'_:other <http://q> "1"^^<http://www.w3.org/2001/XMLSchema#integer> .\n<http://s> <http://p> _:other .\n'
    c = b'<http://s> <http://p> _:x .\n_:x <http://q> "2"^^<http://www.w3.org/2001/XMLSchema#integer> .\n'
    assert canonical_hash(a) == canonical_hash(b) != canonical_hash(c)


def test_a_clean_ledger_verifies(ledger_store: Store) -> None:
    verdict = verify(ledger_store)
    assert verdict.ok and verdict.records == RECORDS and verdict.tree_size == RECORDS
    assert [e.seq for e in entries(ledger_store)] == list(range(1, RECORDS + 1))


def test_the_first_record_publishes_the_key(ledger_store: Store, signing_key: Signer) -> None:
    rows = list(ledger_store.query(f"SELECT ?k WHERE {{ ?key {ns.PUBLIC_KEY} ?k }}"))
    assert [r["k"].value for r in rows] == [signing_key.public_key]  # type: ignore[union-attr]


def test_an_added_triple_is_found(ledger_store: Store) -> None:
    g = physical(ledger_store, 5)
    ledger_store.backend.update(f"INSERT DATA {{ GRAPH {g} {{ {record_node(5)} {ns.REASON} 'extra' }} }}")
    assert_first_bad(ledger_store, 5, "a triple was added, removed or changed")


def test_a_removed_triple_is_found(ledger_store: Store) -> None:
    g = physical(ledger_store, 3)
    ledger_store.backend.update(f"DELETE WHERE {{ GRAPH {g} {{ ?a {ns.PROV_STARTED_AT} ?t }} }}")
    assert_first_bad(ledger_store, 3, "a triple was added, removed or changed")


def test_a_changed_value_is_found(ledger_store: Store) -> None:
    g = physical(ledger_store, 6)
    ledger_store.backend.update(
        f"DELETE {{ GRAPH {g} {{ ?a {ns.REASON} ?r }} }} INSERT {{ GRAPH {g} {{ ?a {ns.REASON} 'changed' }} }} "
        f"WHERE {{ GRAPH {g} {{ ?a {ns.REASON} ?r }} }}"
    )
    assert_first_bad(ledger_store, 6, "a triple was added, removed or changed")


def test_a_changed_blank_node_is_found(ledger_store: Store) -> None:
    g = physical(ledger_store, 4)
    ledger_store.backend.update(
        f"DELETE {{ GRAPH {g} {{ ?b {ns.PROV_HAD_ROLE} ?r }} }} "
        f"INSERT {{ GRAPH {g} {{ ?b {ns.PROV_HAD_ROLE} {ns.APPROVER_ROLE} }} }} "
        f"WHERE {{ GRAPH {g} {{ ?b {ns.PROV_HAD_ROLE} ?r }} }}"
    )
    assert_first_bad(ledger_store, 4, "changed")


def test_a_removed_record_is_found(ledger_store: Store) -> None:
    remove_record(ledger_store, 4)
    assert_first_bad(ledger_store, 4, "missing")


def test_a_record_removed_with_its_graph_only_is_found(ledger_store: Store) -> None:
    ledger_store.backend.update(
        f"DELETE WHERE {{ GRAPH {META_GRAPH} {{ {record_graph(4)} {ns.CURRENT_VERSION} ?v }} }}"
    )
    assert_first_bad(ledger_store, 4, "missing")


def test_the_last_record_removed_is_found_by_the_tree_head(ledger_store: Store) -> None:
    remove_record(ledger_store, RECORDS)
    verdict = assert_first_bad(ledger_store, RECORDS, f"covers {RECORDS} records but the ledger holds {RECORDS - 1}")
    assert verdict.tree_size == RECORDS


def test_reordered_records_are_found(ledger_store: Store) -> None:
    a, b = physical(ledger_store, 3), physical(ledger_store, 4)
    ledger_store.backend.update(
        f"DELETE DATA {{ GRAPH {META_GRAPH} {{ {record_graph(3)} {ns.CURRENT_VERSION} {a} . "
        f"{record_graph(4)} {ns.CURRENT_VERSION} {b} }} }} ; "
        f"INSERT DATA {{ GRAPH {META_GRAPH} {{ {record_graph(3)} {ns.CURRENT_VERSION} {b} . "
        f"{record_graph(4)} {ns.CURRENT_VERSION} {a} }} }}"
    )
    assert_first_bad(ledger_store, 3, "holds record 4 instead of 3 (records were reordered)")


def test_a_swapped_signature_is_found(ledger_store: Store) -> None:
    listed = {e.seq: e for e in entries(ledger_store)}
    node = record_node(7)
    ledger_store.backend.update(
        f"DELETE DATA {{ GRAPH {META_GRAPH} {{ {node} {ns.SIGNATURE} {Literal(listed[7].signature)} }} }} ; "
        f"INSERT DATA {{ GRAPH {META_GRAPH} {{ {node} {ns.SIGNATURE} {Literal(listed[6].signature)} }} }}"
    )
    assert_first_bad(ledger_store, 7, "signature does not match")


def test_a_record_rewritten_and_rehashed_fails_its_signature(ledger_store: Store) -> None:
    g = physical(ledger_store, 5)
    ledger_store.backend.update(f"INSERT DATA {{ GRAPH {g} {{ {record_node(5)} {ns.REASON} 'forged' }} }}")
    quads = list(ledger_store.backend.select(f"SELECT ?s ?p ?o WHERE {{ GRAPH {g} {{ ?s ?p ?o }} }}"))
    forged = canonical_hash(Quad(r["s"], r["p"], r["o"]) for r in quads)  # type: ignore[arg-type]
    old = {e.seq: e for e in entries(ledger_store)}[5].record_hash
    ledger_store.backend.update(
        f"DELETE DATA {{ GRAPH {META_GRAPH} {{ {record_node(5)} {ns.RECORD_HASH} {Literal(old)} }} }} ; "
        f"INSERT DATA {{ GRAPH {META_GRAPH} {{ {record_node(5)} {ns.RECORD_HASH} {Literal(forged)} }} }}"
    )
    assert_first_bad(ledger_store, 5, "signature does not match")


def test_a_key_nobody_published_is_refused(ledger_store: Store, tmp_path: Path) -> None:
    stranger = Signer.create(tmp_path / "keys", Identity("mallory"))
    verdict = verify(ledger_store, trusted_key=stranger.public_key)
    assert verdict.first_bad is not None and verdict.first_bad.seq == 1
    assert "not by a trusted key" in verdict.first_bad.problem


def test_a_second_key_is_published_before_it_signs(ledger_store: Store, tmp_path: Path) -> None:
    other = Signer.create(tmp_path / "keys", Identity("second operator"))
    now = datetime.now(UTC)
    Ledger(ledger_store, other).append(ActivityRecord(NamedNode(f"{ns.ID_BASE}activity/x"), ns.AGENT_ACTION, now, now))
    assert len(entries(ledger_store)) == RECORDS + 2
    assert verify(ledger_store).ok


def test_inclusion_proofs_hold_for_every_record(ledger_store: Store) -> None:
    listed = entries(ledger_store)
    head = tree_head(ledger_store)
    assert head is not None
    leaf_hashes = leaves(listed)
    for i, leaf in enumerate(leaf_hashes):
        proof = merkle.inclusion_proof(i, leaf_hashes)
        assert merkle.verify_inclusion(leaf, i, head.size, proof, bytes.fromhex(head.root))
        assert not merkle.verify_inclusion(leaf, (i + 1) % head.size, head.size, proof, bytes.fromhex(head.root))


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13, 31, 64])
def test_merkle_root_matches_rfc9162_recursion(size: int) -> None:
    import hashlib

    def mth(hashes: list[bytes]) -> bytes:
        if len(hashes) == 1:
            return hashes[0]
        k = 1 << ((len(hashes) - 1).bit_length() - 1)
        return hashlib.sha256(b"\x01" + mth(hashes[:k]) + mth(hashes[k:])).digest()

    leaf_hashes = [merkle.leaf_hash(bytes([i]) * 32) for i in range(size)]
    assert merkle.root(leaf_hashes) == mth(leaf_hashes)


def test_key_file_is_private_and_never_overwritten(tmp_path: Path) -> None:
    signer = Signer.create(tmp_path / "keys", Identity("alice", "ACME"))
    path = tmp_path / "keys" / "ed25519.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Signer.load(tmp_path / "keys").public_key == signer.public_key
    with pytest.raises(InputError, match="never overwritten"):
        Signer.create(tmp_path / "keys")
    os.chmod(path, 0o644)
    with pytest.raises(InputError, match="mode must be 0600"):
        Signer.load(tmp_path / "keys")
    with pytest.raises(InputError, match="enertwin init"):
        Signer.load(tmp_path / "nowhere")


def remove_record(store: Store, seq: int) -> None:
    store.backend.update(
        f"DELETE WHERE {{ GRAPH {META_GRAPH} {{ {record_graph(seq)} {ns.CURRENT_VERSION} ?v }} }} ; "
        f"DELETE WHERE {{ GRAPH {META_GRAPH} {{ {record_node(seq)} ?p ?o }} }}"
    )


def assert_first_bad(store: Store, seq: int, words: str):  # type: ignore[no-untyped-def]
    verdict = verify(store)
    assert verdict.first_bad is not None, "verify passed a tampered ledger"
    assert (verdict.first_bad.seq, verdict.first_bad.graph) == (seq, record_graph(seq).value), verdict.first_bad
    assert words in verdict.first_bad.problem
    return verdict


def test_policy_verdicts_are_recorded_and_reported(ledger_store: Store, signing_key: Signer) -> None:
    from enertwin.kg.provenance.policy import record_policy_verdict
    from enertwin.kg.reports import run_report

    ledger = Ledger(ledger_store, signing_key)
    action = NamedNode(f"{ns.ID_BASE}action/trade-17")
    record_policy_verdict(ledger, action, "blocked", "ramp of 120 MW in 15 min exceeds the envelope's 80 MW")
    record_policy_verdict(ledger, NamedNode(f"{ns.ID_BASE}action/trade-18"), "allowed", "within the envelope")
    with pytest.raises(InputError, match="one of allowed, blocked"):
        record_policy_verdict(ledger, action, "maybe", "unsure")
    table = run_report(ledger_store, "policy-blocks")
    rows = table.records()
    assert len(rows) == 1 and "exceeds the envelope" in json_text(rows)
    assert verify(ledger_store).ok


def json_text(rows: object) -> str:
    import json

    return json.dumps(rows, default=str)


def test_an_association_without_a_role_is_rejected(ledger_store: Store, signing_key: Signer) -> None:
    from pyoxigraph import BlankNode

    from enertwin.kg.errors import ValidationError

    now = datetime.now(UTC)
    action = ActivityRecord(NamedNode(f"{ns.ID_BASE}activity/roleless"), ns.AGENT_ACTION, now, now)
    association = BlankNode()
    action.add(action.iri, ns.PROV_QUALIFIED_ASSOCIATION, association).add(
        association, ns.RDF_TYPE, ns.PROV_ASSOCIATION
    )
    action.add(association, ns.PROV_AGENT_PROP, person_node("someone"))
    with pytest.raises(ValidationError, match="hadRole"):
        Ledger(ledger_store, signing_key).append(action)
    assert len(entries(ledger_store)) == RECORDS and verify(ledger_store).ok  # nothing half written


def test_a_proof_from_the_store_checks_and_a_corrupt_leaf_cache_is_rebuilt(ledger_store: Store) -> None:
    from enertwin.kg.provenance.proof import check_proof, inclusion_proof

    first = inclusion_proof(ledger_store, record_graph(3).value)
    assert check_proof(first) and first.leaf_index == 2 and first.tree_size == RECORDS
    ledger_store.series.connection.execute("UPDATE ledger_leaf_cache SET leaves = repeat(leaves, 1)[1:32] || leaves")
    again = inclusion_proof(ledger_store, record_node(3).value)  # the cache's root is wrong: rebuilt from the ledger
    assert check_proof(again) and again.audit_path == first.audit_path
