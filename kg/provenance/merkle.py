"""A Merkle tree over the record hashes, hashed as Certificate Transparency does (RFC 9162 §2.1).

The signed root lets anyone holding one record check that it is in the ledger from
log2(n) hashes, without seeing the other records.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(record_hash: bytes) -> bytes:
    """The tree's hash of one leaf (domain-separated from inner nodes by a 0x00 prefix)."""
    return hashlib.sha256(b"\x00" + record_hash).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an inner node over its two children (0x01 prefix)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


class MerkleTree:
    """Every level of the tree over some leaves: built once in O(n), then each proof in O(log n).

    Pairing left to right and promoting an odd last node unchanged gives exactly RFC 9162's
    shape (the left subtree always the largest power of two), so the levels hold its nodes.
    """

    def __init__(self, leaves: Sequence[bytes]) -> None:
        """Build the levels above ``leaves`` (leaf hashes)."""
        self.levels = [list(leaves)]
        while len(self.levels[-1]) > 1:
            level = self.levels[-1]
            above = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            if len(level) % 2:
                above.append(level[-1])
            self.levels.append(above)

    @property
    def size(self) -> int:
        """The number of leaves."""
        return len(self.levels[0])

    @property
    def root(self) -> bytes:
        """The tree's root hash."""
        return self.levels[-1][0] if self.size else EMPTY_ROOT

    def subtree(self, start: int, end: int) -> bytes:
        """MTH of the leaves ``start:end``, a node of the tree (RFC 9162's splits only ever name nodes)."""
        height = (end - start - 1).bit_length()
        return self.levels[height][start >> height]

    def proof(self, index: int) -> list[bytes]:
        """The audit path of leaf ``index`` (0-based), leaf end first."""
        if not 0 <= index < self.size:
            raise IndexError(f"leaf {index} is not in a tree of {self.size}")
        path = []
        for level in self.levels[:-1]:
            sibling = index ^ 1
            if sibling < len(level):  # an odd last node has no sibling: it is promoted as it is
                path.append(level[sibling])
            index //= 2
        return path


def root(leaves: Sequence[bytes]) -> bytes:
    """Root of the tree over ``leaves`` (leaf hashes)."""
    return MerkleTree(leaves).root


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """The audit path of leaf ``index`` (0-based) in the tree over ``leaves``, leaf end first."""
    return MerkleTree(leaves).proof(index)


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], expected_root: bytes) -> bool:
    """Whether ``proof`` shows leaf hash ``leaf`` at ``index`` of a tree of ``size`` with root ``expected_root``."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = node_hash(p, r)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == expected_root
