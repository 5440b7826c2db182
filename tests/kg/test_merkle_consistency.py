"""RFC 9162 consistency proofs, against the tree definition itself (textbook recursion) and by property."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from enertwin.kg.provenance import merkle
from enertwin.kg.provenance.consistency import consistency_proof, verify_consistency


def mth(hashes: list[bytes]) -> bytes:
    """MTH of RFC 9162 §2.1.1 over leaf hashes, straight from the definition."""
    if len(hashes) == 1:
        return hashes[0]
    k = 1 << ((len(hashes) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + mth(hashes[:k]) + mth(hashes[k:])).digest()


def textbook_subproof(m: int, hashes: list[bytes], whole: bool) -> list[bytes]:
    """SUBPROOF of RFC 9162 §2.1.4.1, straight from the definition."""
    n = len(hashes)
    if m == n:
        return [] if whole else [mth(hashes)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return [*textbook_subproof(m, hashes[:k], whole), mth(hashes[k:])]
    return [*textbook_subproof(m - k, hashes[k:], False), mth(hashes[:k])]


def leaf_hashes(n: int, salt: int = 0) -> list[bytes]:
    return [merkle.leaf_hash(hashlib.sha256(f"{salt}/{i}".encode()).digest()) for i in range(n)]


def test_the_seven_leaf_examples_of_rfc_6962() -> None:
    """The tree of seven leaves in RFC 6962 §2.1.3 (a..f, d6 leaves; g..l inner nodes) and its three proofs."""
    a, b, c, d, e, f, d6 = leaf_hashes(7)
    g, h, i = merkle.node_hash(a, b), merkle.node_hash(c, d), merkle.node_hash(e, f)
    j = d6
    k, ell = merkle.node_hash(g, h), merkle.node_hash(i, j)
    tree = merkle.MerkleTree([a, b, c, d, e, f, d6])
    assert tree.root == merkle.node_hash(k, ell)
    assert consistency_proof(tree, 3) == [c, d, g, ell]
    assert consistency_proof(tree, 4) == [ell]
    assert consistency_proof(tree, 6) == [i, j, k]
    hash0, hash1, hash2 = merkle.node_hash(g, c), k, merkle.node_hash(k, i)
    for size, old_root in ((3, hash0), (4, hash1), (6, hash2)):
        assert verify_consistency(size, 7, old_root, tree.root, consistency_proof(tree, size))


@pytest.mark.parametrize("n", range(1, 17))
def test_every_proof_up_to_sixteen_leaves_matches_the_definition_and_nothing_else_checks(n: int) -> None:
    hashes = leaf_hashes(n)
    tree = merkle.MerkleTree(hashes)
    for m in range(1, n + 1):
        proof = consistency_proof(tree, m)
        assert proof == textbook_subproof(m, hashes, True)
        assert verify_consistency(m, n, mth(hashes[:m]), tree.root, proof)
        rewritten = [*leaf_hashes(1, salt=1), *hashes[1:m]]  # the same old size, another first record
        assert not verify_consistency(m, n, mth(rewritten), tree.root, proof)
        for other in range(1, n + 1):
            if other != m:
                assert not verify_consistency(other, n, mth(hashes[:m]), tree.root, proof)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 64).flatmap(lambda n: st.tuples(st.just(n), st.integers(1, n))), st.data())
def test_proofs_hold_and_any_changed_hash_breaks_them(sizes: tuple[int, int], data: st.DataObject) -> None:
    n, m = sizes
    hashes = leaf_hashes(n)
    tree = merkle.MerkleTree(hashes)
    old_root = mth(hashes[:m])
    proof = consistency_proof(tree, m)
    assert proof == textbook_subproof(m, hashes, True)
    assert len(proof) <= 2 * max(1, (n - 1).bit_length())
    assert verify_consistency(m, n, old_root, tree.root, proof)
    assert not verify_consistency(m, n, old_root, mth(leaf_hashes(n, salt=2)), proof)
    if proof:
        at = data.draw(st.integers(0, len(proof) - 1))
        broken = [*proof[:at], hashlib.sha256(proof[at]).digest(), *proof[at + 1 :]]
        assert not verify_consistency(m, n, old_root, tree.root, broken)
        assert not verify_consistency(m, n, old_root, tree.root, proof[:-1])
        assert not verify_consistency(m, n, old_root, tree.root, [*proof, proof[-1]])
    changed = data.draw(st.integers(0, m - 1))  # a rewritten record below the old size
    rewritten = [*hashes[:changed], *leaf_hashes(1, salt=3), *hashes[changed + 1 :]]
    later = merkle.MerkleTree(rewritten)
    assert not verify_consistency(m, n, old_root, later.root, consistency_proof(later, m))


def test_impossible_sizes_do_not_check() -> None:
    hashes = leaf_hashes(5)
    tree = merkle.MerkleTree(hashes)
    assert not verify_consistency(0, 5, merkle.EMPTY_ROOT, tree.root, [])
    assert not verify_consistency(6, 5, tree.root, tree.root, [])
    assert not verify_consistency(5, 5, tree.root, tree.root, [tree.root])
    assert not verify_consistency(3, 5, mth(hashes[:3]), tree.root, [])
    with pytest.raises(ValueError):
        consistency_proof(tree, 6)
