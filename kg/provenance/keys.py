"""The Ed25519 key that signs provenance records, kept in a file only its owner can read.

``enertwin init`` creates it under ``$ENERTWIN_HOME/keys`` (default ``~/.enertwin``) with mode
0600 and publishes the public half in the graph; records name the key that signed them.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from enertwin.kg.errors import InputError

KEY_FILE = "ed25519.pem"
IDENTITY_FILE = "identity.json"


def key_folder() -> Path:
    """Where the signing key lives: ``$ENERTWIN_HOME/keys``."""
    return Path(os.environ.get("ENERTWIN_HOME", Path.home() / ".enertwin")) / "keys"


@dataclass(frozen=True, slots=True)
class Identity:
    """Who signs: the person (and organisation) on whose behalf enertwin acts."""

    person: str
    organisation: str | None = None


@dataclass(frozen=True)
class Signer:
    """A private key and the identity it signs for."""

    private: Ed25519PrivateKey
    identity: Identity

    @property
    def public_key(self) -> str:
        """The raw public key, base64."""
        raw = self.private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return base64.b64encode(raw).decode("ascii")

    @property
    def key_id(self) -> str:
        """First 16 hex digits of the SHA-256 of the raw public key."""
        return key_id(self.public_key)

    def sign(self, message: bytes) -> str:
        """Base64 Ed25519 signature of ``message``."""
        return base64.b64encode(self.private.sign(message)).decode("ascii")

    @classmethod
    def create(cls, folder: Path | None = None, identity: Identity | None = None) -> Signer:
        """Create a new key in ``folder`` (mode 0700) as a 0600 file; an existing key is never replaced."""
        folder = folder or key_folder()
        path = folder / KEY_FILE
        if path.exists():
            raise InputError(f"a signing key already exists at {path}; it is never overwritten (move it away first)")
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        private = Ed25519PrivateKey.generate()
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(pem)
        who = identity or Identity(getpass.getuser())
        (folder / IDENTITY_FILE).write_text(json.dumps({"person": who.person, "organisation": who.organisation}))
        return cls(private, who)

    @classmethod
    def load(cls, folder: Path | None = None) -> Signer:
        """Load the key from ``folder``; a missing key or one others can read is an :class:`InputError`."""
        folder = folder or key_folder()
        path = folder / KEY_FILE
        if not path.exists():
            raise InputError(f"there is no signing key at {path}; run `enertwin init` to create one")
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            raise InputError(f"the signing key {path} can be read by others (mode must be 0600); run chmod 600 on it")
        try:
            private = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise InputError(f"the signing key {path} is not a readable PEM private key ({exc})") from exc
        if not isinstance(private, Ed25519PrivateKey):
            raise InputError(f"the key at {path} is not an Ed25519 private key")
        identity = Identity(getpass.getuser())
        if (folder / IDENTITY_FILE).exists():
            identity = _identity(folder / IDENTITY_FILE)
        return cls(private, identity)


def _identity(path: Path) -> Identity:
    """The person (and organisation) a key file's identity names; a broken file is an :class:`InputError`."""
    try:
        fields = json.loads(path.read_text(encoding="utf-8"))
        person, organisation = fields["person"], fields.get("organisation")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f'the identity file {path} is not JSON with a "person" ({exc!r})') from exc
    if not isinstance(person, str) or not (organisation is None or isinstance(organisation, str)):
        raise InputError(f'the identity file {path} must name "person" (and "organisation") as text')
    return Identity(person, organisation)


def key_id(public_key: str) -> str:
    """The short id of a base64 public key."""
    return hashlib.sha256(base64.b64decode(public_key)).hexdigest()[:16]


def signature_holds(public_key: str, message: bytes, signature: str) -> bool:
    """Whether ``signature`` (base64) is the Ed25519 signature of ``message`` by ``public_key`` (base64)."""
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key))
        key.verify(base64.b64decode(signature), message)
    except (InvalidSignature, ValueError):
        return False
    return True
