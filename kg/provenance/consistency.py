"""Consistency proofs between two sizes of the ledger's Merkle tree (RFC 9162 §2.1.4).

A checkpoint keeps an earlier tree's size and root outside the store. The proof shows that
the current tree starts with exactly those leaves, so a history truncated or rewritten below
the checkpoint cannot pass, whichever key re-signed it.
"""

from __future__ import annotations

from collections.abc import Sequence

from enertwin.kg.provenance.merkle import MerkleTree, node_hash


def consistency_proof(tree: MerkleTree, old_size: int) -> list[bytes]:
    """``PROOF(m, D[n])`` of §2.1.4.1: the hashes that lead from the first ``old_size`` leaves to ``tree``."""
    if not 0 < old_size <= tree.size:
        raise ValueError(f"a consistency proof needs 0 < {old_size} <= {tree.size}")
    proof: list[bytes] = []
    _subproof(tree, old_size, 0, tree.size, True, proof)
    return proof


def _subproof(tree: MerkleTree, m: int, start: int, end: int, whole: bool, out: list[bytes]) -> None:
    """``SUBPROOF(m, D[start:end], whole)``; ``whole``: the old tree is this very subtree, which the verifier knows."""
    size = end - start
    if m == size:
        if not whole:
            out.append(tree.subtree(start, end))
        return
    k = 1 << ((size - 1).bit_length() - 1)  # the largest power of two below size
    if m <= k:
        _subproof(tree, m, start, start + k, whole, out)
        out.append(tree.subtree(start + k, end))
    else:
        _subproof(tree, m - k, start + k, end, False, out)
        out.append(tree.subtree(start, start + k))


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """Whether ``proof`` shows the tree of ``new_size`` leaves extends the one of ``old_size`` (§2.1.4.2)."""
    if not 0 < old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # the old tree is a whole subtree: its root starts the path
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == old_root and sr == new_root and sn == 0
