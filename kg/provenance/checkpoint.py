"""Checkpoints: a signed tree head kept outside the store, and the check that the ledger still extends it.

Whoever can write the store can drop records and sign a new head. A checkpoint saved earlier
(``audit checkpoint > cp.json``) holds the tree size and root that were signed then; ``audit verify
--since cp.json`` asks the current tree for an RFC 9162 consistency proof from that size and checks
it against the saved root, so a ledger truncated below it or rewritten under it is caught.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from enertwin.kg.errors import EvidenceError, InputError
from enertwin.kg.provenance.consistency import consistency_proof, verify_consistency
from enertwin.kg.provenance.keyring import public_key
from enertwin.kg.provenance.keys import signature_holds
from enertwin.kg.provenance.ledger import entries, leaves, public_key_of, tree_head, tree_message
from enertwin.kg.provenance.merkle import MerkleTree
from enertwin.kg.store import Store

FORMAT = "enertwin-checkpoint/1"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed tree head with the public key that signed it: checkable without the store."""

    format: str
    tree_size: int
    root: str
    time: str
    signature: str
    public_key: str
    key: str

    def as_json(self) -> dict[str, object]:
        """The checkpoint as a JSON object."""
        return asdict(self)

    def signed(self) -> bool:
        """Whether the signature is the key's over this size, root and time."""
        return signature_holds(self.public_key, tree_message(self.tree_size, self.root, self.time), self.signature)


@dataclass(frozen=True, slots=True)
class Consistency:
    """How the current tree relates to a checkpoint: the proof, or what is wrong (``problem``)."""

    checkpoint_size: int
    tree_size: int
    proof: tuple[str, ...]
    problem: str | None

    @property
    def ok(self) -> bool:
        """Whether the current tree extends the checkpoint's."""
        return self.problem is None


def checkpoint(store: Store) -> Checkpoint:
    """The store's current signed tree head as a checkpoint (run ``verify`` first: this vouches for nothing)."""
    head = tree_head(store)
    if head is None:
        raise InputError("the ledger has no signed tree head yet: there is nothing to checkpoint")
    public = public_key_of(store, head.key)
    if public is None:
        raise EvidenceError(f"no record publishes the key <{head.key.value}> that signed the tree head")
    taken = Checkpoint(FORMAT, head.size, head.root, head.time, head.signature, public, head.key.value)
    if not taken.signed():
        raise EvidenceError("the signed tree head's signature does not hold; run `enertwin audit verify`")
    return taken


def read_checkpoint(path: Path) -> Checkpoint:
    """The checkpoint saved in ``path``; an unreadable, malformed or badly signed one is an :class:`InputError`."""
    where = f"{path} is not a checkpoint printed by `enertwin audit checkpoint`"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the checkpoint {path}: {getattr(exc, 'strerror', None) or exc}") from exc
    except ValueError as exc:
        raise InputError(f"{where}: not JSON ({exc})") from exc
    names = [f.name for f in fields(Checkpoint)]
    if not isinstance(data, dict) or sorted(data) != sorted(names):
        got = ", ".join(sorted(data)) if isinstance(data, dict) else type(data).__name__
        raise InputError(f"{where}: expected an object with {', '.join(names)} (got {got})")
    size = data["tree_size"]
    if data["format"] != FORMAT or not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise InputError(f"{where}: format must be {FORMAT!r} and tree_size a whole number of records (at least 1)")
    texts = [data[n] for n in names if n != "tree_size"]
    if not all(isinstance(t, str) for t in texts) or not _is_hex(data["root"]):
        raise InputError(f"{where}: root must be 64 hex digits and the other fields text")
    public_key(data["public_key"], f"{path} public_key")
    found = Checkpoint(**data)
    if not found.signed():
        raise InputError(f"{where}: its signature does not hold for its tree size, root and time (edited?)")
    return found


def _is_hex(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def consistency(store: Store, saved: Checkpoint) -> Consistency:
    """Whether the ledger's current tree extends the checkpoint's: an RFC 9162 proof, generated and checked."""
    tree = MerkleTree(leaves(entries(store)))
    if tree.size < saved.tree_size:
        problem = (
            f"truncated: the ledger holds {tree.size} records, below the {saved.tree_size} "
            f"of the checkpoint signed at {saved.time}"
        )
        return Consistency(saved.tree_size, tree.size, (), problem)
    proof = consistency_proof(tree, saved.tree_size)
    if verify_consistency(saved.tree_size, tree.size, bytes.fromhex(saved.root), tree.root, proof):
        return Consistency(saved.tree_size, tree.size, tuple(p.hex() for p in proof), None)
    problem = (
        f"root mismatch: the ledger's first {saved.tree_size} records are not those of the checkpoint "
        f"signed at {saved.time} (root {saved.root[:16]}…): the history was rewritten"
    )
    return Consistency(saved.tree_size, tree.size, tuple(p.hex() for p in proof), problem)
