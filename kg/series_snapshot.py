"""The series slices an activity read, recorded and kept under the hash of their values.

A decision reads its profiles and prices through :class:`RecordingSeries`; the slices are
then saved once per content hash. :class:`SnapshotSeries` serves exactly those slices again,
so a replay reads what the decision read even after the live series were replaced.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np
import pandas as pd

from enertwin.kg.errors import InputError
from enertwin.kg.series import SeriesStore

Slice = tuple[str, int, int]  # series key, first step, step count (-1: to the end)


def snapshot_digest(slices: dict[Slice, np.ndarray]) -> str:
    """Hex SHA-256 over the slices in key order: keys, positions and the float64 values."""
    digest = hashlib.sha256()
    for (key, start, count), values in sorted(slices.items()):
        digest.update(f"{key}\0{start}\0{count}\0{len(values)}\0".encode())
        digest.update(np.asarray(values, dtype="<f8").tobytes())
    return digest.hexdigest()


class RecordingSeries(SeriesStore):
    """Reads through to a series store and remembers every slice it handed out."""

    def __init__(self, inner: SeriesStore) -> None:
        """Record the reads made of ``inner``."""
        self._file, self.path, self.inner = inner._file, inner.path, inner
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
        rows = pd.DataFrame(
            [
                (digest, key, start, count, step, float(v))
                for (key, start, count), values in self.slices.items()
                for step, v in enumerate(values)
            ],
            columns=["snapshot", "series_key", "start", "count", "step", "value"],
        )
        self.inner.save_snapshot(digest, rows)
        return digest


class SnapshotSeries(SeriesStore):
    """Serves the slices of one saved snapshot, and nothing else."""

    def __init__(self, store: SeriesStore, digest: str) -> None:
        """Load snapshot ``digest`` of ``store``; an unknown or damaged one is an :class:`InputError`."""
        self._file, self.path, self.digest = store._file, store.path, digest
        frame = store.snapshot(digest)
        if frame.empty:
            raise InputError(f"there is no series snapshot {digest} in {store.path or 'the in-memory series store'}")
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
