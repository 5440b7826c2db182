"""The keyring: public keys trusted to sign a ledger, pinned in a file outside the store.

A store can only vouch for keys it publishes itself, so anyone able to write it can drop the
last records and re-sign with a fresh key. A key pinned here (the genesis key), or endorsed by
a ledger record that a trusted key signed, is what ``audit verify`` then accepts: the root of
trust lives with the verifier, as a Certificate Transparency client pins the log's key.

The file is text, one key a line: the standard base64 of the raw Ed25519 public key, then an
optional label; ``#`` starts a comment.
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

from pyoxigraph import NamedNode

from enertwin.kg import namespaces as ns
from enertwin.kg.errors import InputError
from enertwin.kg.provenance.keys import Identity, key_id
from enertwin.kg.provenance.ledger import key_node
from enertwin.kg.provenance.record import ActivityRecord, Term, agent_triples, person_node, person_triples, text

KEYRING_FILE = "keyring"
HEADER = "# enertwin keyring: public keys trusted to sign ledgers (base64 Ed25519 key, then a label)\n"


def default_keyring() -> Path:
    """Where the keyring lives unless told: ``$ENERTWIN_KEYRING``, else ``$ENERTWIN_HOME/keyring``."""
    if os.environ.get("ENERTWIN_KEYRING"):
        return Path(os.environ["ENERTWIN_KEYRING"])
    return Path(os.environ.get("ENERTWIN_HOME", Path.home() / ".enertwin")) / KEYRING_FILE


def public_key(value: str, where: str = "--key") -> str:
    """``value`` checked as the standard base64 of a 32-byte Ed25519 public key."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise InputError(f"{where}: {value!r} is not a public key (the base64 of a 32-byte Ed25519 key, 44 characters)")
    return base64.b64encode(raw).decode("ascii")


def read_keyring(path: Path) -> dict[str, str]:
    """The keys a keyring file pins (public key → label); a missing, open or broken file is an :class:`InputError`."""
    try:
        mode = path.stat().st_mode
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputError(f"there is no keyring at {path}; pin a key with `enertwin key pin`") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"the keyring {path} cannot be read ({exc})") from exc
    if mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise InputError(f"the keyring {path} can be changed by others (it must not be group or world writable)")
    pinned: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        fields = line.split("#", 1)[0].split(maxsplit=1)
        if fields:
            key, *label = fields
            pinned[public_key(key, f"keyring {path} line {number}")] = label[0].strip() if label else ""
    if not pinned:
        raise InputError(f"the keyring {path} pins no key; pin one with `enertwin key pin`")
    return pinned


def trust_root(keyring: Path | None, key: str | None) -> frozenset[str]:
    """The pinned keys: ``--key``, the keyring given (it must exist) and else the default one when it exists.

    Empty means no trust root: keys then count as the store publishes them.
    """
    pinned = {public_key(key)} if key is not None else set()
    if keyring is not None:
        pinned |= set(read_keyring(keyring))
    elif key is None and default_keyring().exists():
        pinned |= set(read_keyring(default_keyring()))
    return frozenset(pinned)


def pin(path: Path, key: str, label: str) -> bool:
    """Add ``key`` to the keyring at ``path`` (created 0644); ``False`` if it was pinned already.

    The file is replaced in one rename, so a crash leaves the old keyring or the new one.
    """
    key = public_key(key)
    existing = path.read_text(encoding="utf-8") if path.exists() else HEADER
    if path.exists() and key in read_keyring(path):
        return False
    line = f"{key} {' '.join(label.replace('#', ' ').split())}".rstrip() + "\n"
    body = existing if existing.endswith("\n") else existing + "\n"
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    scratch = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        descriptor = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(body + line)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(scratch, path)
    except OSError as exc:
        scratch.unlink(missing_ok=True)
        raise InputError(f"cannot write the keyring {path}: {exc.strerror or exc}") from exc
    return True


def endorsement(key: str, holder: str, endorser: Identity, endorser_id: str) -> ActivityRecord:
    """A publication of ``holder``'s ``key`` for the endorser's ledger to sign: trusted from that record on."""
    key = public_key(key)
    now = datetime.now(UTC)
    endorsed = key_id(key)
    iri = NamedNode(f"{ns.ID_BASE}key-publication/{endorsed}/endorsed-by/{endorser_id}")
    activity = ActivityRecord(iri, ns.KEY_PUBLICATION, now, now)
    facts: dict[NamedNode, Term] = {ns.PUBLIC_KEY: text(key), ns.PROV_WAS_ATTRIBUTED_TO: person_node(holder)}
    activity.generated(key_node(endorsed), ns.SIGNING_KEY, facts)
    activity.associate(person_node(endorser.person), ns.OPERATOR_ROLE).extend(agent_triples(endorser))
    return activity.extend(person_triples(holder))
