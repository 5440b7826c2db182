"""The series slices an activity read, recorded and kept under the hash of their values.

A decision reads its profiles and prices through :class:`RecordingSeries`; the slices are
then saved once per content hash. :class:`SnapshotSeries` serves exactly those slices again,
so a replay reads what the decision read even after the live series were replaced.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from contextlib import AbstractContextManager

import numpy as np
import pandas as pd

from enertwin.kg.errors import InputError
from enertwin.kg.series_base import Series

Slice = tuple[str, int, int]  # series key, first step, step count (-1: to the end)


def snapshot_digest(slices: dict[Slice, np.ndarray]) -> str:
    """Hex SHA-256 over the slices in key order: keys, positions and the float64 values."""
    digest = hashlib.sha256()
    for (key, start, count), values in sorted(slices.items()):
        digest.update(f"{key}\0{start}\0{count}\0{len(values)}\0".encode())
        digest.update(np.asarray(values, dtype="<f8").tobytes())
    return digest.hexdigest()


class _Over:
    """A series store seen through another: everything but reading is the inner store's."""

    def __init__(self, inner: Series) -> None:
        self.inner = inner

    @property
    def location(self) -> str:
        """The inner store's location."""
        return self.inner.location

    def close(self) -> None:
        """The inner store is closed by its owner."""

    def replace(self, frame: pd.DataFrame, prefix: str) -> int:
        """The inner store's."""
        return self.inner.replace(frame, prefix)

    def stage(self, version: str, frame: pd.DataFrame, prefix: str) -> None:
        """The inner store's."""
        self.inner.stage(version, frame, prefix)

    def promote(self, version: str) -> int:
        """The inner store's."""
        return self.inner.promote(version)

    def discard(self, version: str) -> None:
        """The inner store's."""
        self.inner.discard(version)

    def staged(self) -> dict[str, int]:
        """The inner store's."""
        return self.inner.staged()

    def delete(self, prefix: str) -> None:
        """The inner store's."""
        self.inner.delete(prefix)

    def read(self, key: str, start: int = 0, count: int | None = None) -> np.ndarray:
        """The inner store's."""
        return self.inner.read(key, start, count)

    def read_many(self, keys: Iterable[str], start: int = 0, count: int | None = None) -> dict[str, np.ndarray]:
        """The inner store's."""
        return self.inner.read_many(keys, start, count)

    @property
    def absent(self) -> bool:
        """The inner store's."""
        return self.inner.absent

    def read_stored(self, keys: Iterable[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """The inner store's."""
        return self.inner.read_stored(keys)

    def has(self, key: str) -> bool:
        """The inner store's."""
        return self.inner.has(key)

    def missing(self, keys: Iterable[str]) -> list[str]:
        """The inner store's."""
        return self.inner.missing(keys)

    def keys(self) -> dict[str, int]:
        """The inner store's."""
        return self.inner.keys()

    def count(self) -> int:
        """The inner store's."""
        return self.inner.count()

    def has_snapshot(self, digest: str) -> bool:
        """The inner store's."""
        return self.inner.has_snapshot(digest)

    def save_snapshot(self, rows: pd.DataFrame) -> None:
        """The inner store's."""
        self.inner.save_snapshot(rows)

    def snapshot(self, digest: str) -> pd.DataFrame:
        """The inner store's."""
        return self.inner.snapshot(digest)

    def cached_leaves(self) -> bytes | None:
        """The inner store's."""
        return self.inner.cached_leaves()

    def cache_leaves(self, size: int, leaves: bytes) -> None:
        """The inner store's."""
        self.inner.cache_leaves(size, leaves)

    def serialised(self) -> AbstractContextManager[None]:
        """The inner store's."""
        return self.inner.serialised()


class RecordingSeries(_Over):
    """Reads through to a series store and remembers every slice it handed out."""

    def __init__(self, inner: Series) -> None:
        """Record the reads made of ``inner``."""
        super().__init__(inner)
        self.slices: dict[Slice, np.ndarray] = {}

    def read(self, key: str, start: int = 0, count: int | None = None) -> np.ndarray:
        """Read and remember one slice."""
        values = self.inner.read(key, start, count)
        self.slices[(key, start, -1 if count is None else count)] = values
        return values

    def read_many(self, keys: Iterable[str], start: int = 0, count: int | None = None) -> dict[str, np.ndarray]:
        """Read and remember several slices."""
        found = self.inner.read_many(keys, start, count)
        for key, values in found.items():
            self.slices[(key, start, -1 if count is None else count)] = values
        return found

    def save(self) -> str:
        """Keep the slices read so far under their hash (once per hash); returns the hash."""
        digest = snapshot_digest(self.slices)
        if self.inner.has_snapshot(digest):
            return digest
        rows = pd.DataFrame(
            [
                (digest, key, start, count, step, float(v))
                for (key, start, count), values in self.slices.items()
                for step, v in enumerate(values)
            ],
            columns=["snapshot", "series_key", "start", "count", "step", "value"],
        )
        self.inner.save_snapshot(rows)
        return digest


class SnapshotSeries(_Over):
    """Serves the slices of one saved snapshot, and nothing else."""

    def __init__(self, store: Series, digest: str) -> None:
        """Load snapshot ``digest`` of ``store``; an unknown or damaged one is an :class:`InputError`."""
        super().__init__(store)
        self.digest = digest
        frame = store.snapshot(digest)
        if frame.empty:
            raise InputError(f"there is no series snapshot {digest} in {store.location}")
        self.slices: dict[Slice, np.ndarray] = {
            (str(k), int(s), int(c)): g["value"].to_numpy(dtype=float)
            for (k, s, c), g in frame.groupby(["series_key", "start", "count"])
        }
        if snapshot_digest(self.slices) != digest:
            raise InputError(f"the series snapshot {digest} no longer hashes to its name: its values were changed")

    def read(self, key: str, start: int = 0, count: int | None = None) -> np.ndarray:
        """The recorded slice, or an :class:`InputError` naming what the snapshot lacks."""
        wanted = (key, start, -1 if count is None else count)
        if wanted not in self.slices:
            raise InputError(f"the series snapshot {self.digest} holds no slice {wanted} of series {key!r}")
        return self.slices[wanted]

    def read_many(self, keys: Iterable[str], start: int = 0, count: int | None = None) -> dict[str, np.ndarray]:
        """Several recorded slices."""
        return {key: self.read(key, start, count) for key in sorted(set(keys))}

    def has(self, key: str) -> bool:
        """Whether the snapshot holds any slice of ``key``."""
        return any(k == key for k, _, _ in self.slices)

    def missing(self, keys: Iterable[str]) -> list[str]:
        """The keys the snapshot holds no slice of."""
        return [k for k in sorted(set(keys)) if not self.has(k)]
