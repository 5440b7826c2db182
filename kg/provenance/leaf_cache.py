"""The ledger's Merkle leaves cached beside the series, so that a proof does not read every entry from the graph.

The cache is one row: the leaf hashes, 32 bytes each, end to end. It is never trusted: it is
used only when its Merkle root equals the signed tree head's, and rebuilt from the ledger's
entries when it does not.
"""

from __future__ import annotations

from enertwin.kg.provenance import merkle
from enertwin.kg.provenance.ledger import TreeHead, entries, leaves
from enertwin.kg.store import Store

LEAF = 32


def signed_tree(store: Store, head: TreeHead) -> merkle.MerkleTree:
    """The Merkle tree whose root the signed ``head`` holds, from the cache or else from the ledger."""
    blob = store.series.cached_leaves()
    if blob is not None:
        tree = merkle.MerkleTree([blob[i : i + LEAF] for i in range(0, len(blob), LEAF)])
        if tree.size == head.size and tree.root.hex() == head.root:
            return tree
    tree = merkle.MerkleTree(leaves(entries(store)))
    store.series.cache_leaves(tree.size, b"".join(tree.levels[0]))
    return tree
