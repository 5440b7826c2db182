"""What a series store offers, whichever database holds the values (DuckDB embedded, PostgreSQL shared).

The store, the write check, dispatch and replay use only this interface, so a remote
store's series can live in a database every client reaches while an embedded store keeps
its DuckDB file. The staging/promotion contract is described in :mod:`enertwin.kg.series`.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import Protocol

import numpy as np
import pandas as pd


class Series(Protocol):
    """Values of time series keyed by ``et:seriesKey``, staged per graph version and promoted at its commit."""

    @property
    def location(self) -> str:
        """Where the values are, for messages (never a password)."""
        ...

    @property
    def absent(self) -> bool:
        """Whether the values are gone (a deleted file): reading a series is then missing evidence."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...

    def replace(self, frame: pd.DataFrame, prefix: str) -> int:
        """Stage and promote at once (outside a graph write)."""
        ...

    def stage(self, version: str, frame: pd.DataFrame, prefix: str) -> None:
        """Keep ``frame`` aside for graph version ``version``; nothing reads it yet."""
        ...

    def promote(self, version: str) -> int:
        """Make the series staged for ``version`` live under their prefix, in one transaction."""
        ...

    def discard(self, version: str) -> None:
        """Forget the series staged for ``version``."""
        ...

    def staged(self) -> dict[str, int]:
        """Graph version → values staged for it, not yet promoted or discarded."""
        ...

    def delete(self, prefix: str) -> None:
        """Remove every live series whose key starts with ``prefix``."""
        ...

    def read(self, key: str, start: int = 0, count: int | None = None) -> np.ndarray:
        """One slice of series ``key``."""
        ...

    def read_many(self, keys: Iterable[str], start: int = 0, count: int | None = None) -> dict[str, np.ndarray]:
        """The same slice of several series."""
        ...

    def read_stored(self, keys: Iterable[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Key → (steps, values) as stored, in step order, for checking them; a key with no values is left out."""
        ...

    def has(self, key: str) -> bool:
        """Whether any value is stored under ``key``."""
        ...

    def missing(self, keys: Iterable[str]) -> list[str]:
        """The keys that have no stored values."""
        ...

    def keys(self) -> dict[str, int]:
        """Every live series key → its number of values."""
        ...

    def count(self) -> int:
        """Number of stored values."""
        ...

    def has_snapshot(self, digest: str) -> bool:
        """Whether a series snapshot is kept under ``digest``."""
        ...

    def save_snapshot(self, rows: pd.DataFrame) -> None:
        """Keep snapshot rows (columns snapshot, series_key, start, count, step, value)."""
        ...

    def snapshot(self, digest: str) -> pd.DataFrame:
        """The rows of snapshot ``digest`` (series_key, start, count, value) in key, start, count, step order."""
        ...

    def cached_leaves(self) -> bytes | None:
        """The ledger's cached Merkle leaves (32 bytes each, end to end), if any."""
        ...

    def cache_leaves(self, size: int, leaves: bytes) -> None:
        """Replace the cached Merkle leaves."""
        ...

    def serialised(self) -> AbstractContextManager[None]:
        """Held around a compare-and-set commit: one writer at a time where the graph store cannot guarantee it."""
        ...
