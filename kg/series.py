"""Time series in an embedded DuckDB file beside the graph store.

The graph holds each series' IRI, unit, resolution, source and key; the values
live here, one row per (series key, step), so that reading a slice is one
indexed range scan that returns numpy arrays.

A write's series are first *staged* (``series_staged``, tagged with the physical graph
version that names them) and only *promoted* into ``series_values`` once that version is
live: DuckDB and the graph store cannot share one transaction, so the graph's pointer
switch is the commit point and the staging rows are its intent log. A staged version
whose graph is live is promoted (rolled forward) at the next open; one whose graph never
became live is an orphan and is discarded (rolled back). Readers see only
``series_values``, so they never see series of a version that is not live.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from enertwin.kg.errors import InputError, StoreError

BACKEND_NAME = "duckdb"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS series_values (
    series_key VARCHAR NOT NULL,
    step INTEGER NOT NULL,
    value DOUBLE NOT NULL
);
CREATE TABLE IF NOT EXISTS series_staged (
    version VARCHAR NOT NULL,
    series_key VARCHAR NOT NULL,
    step INTEGER NOT NULL,
    value DOUBLE NOT NULL
);
CREATE TABLE IF NOT EXISTS series_staging (
    version VARCHAR NOT NULL,
    prefix VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS ledger_leaf_cache (
    size INTEGER NOT NULL,
    leaves BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS series_snapshots (
    snapshot VARCHAR NOT NULL,
    series_key VARCHAR NOT NULL,
    start INTEGER NOT NULL,
    count INTEGER NOT NULL,
    step INTEGER NOT NULL,
    value DOUBLE NOT NULL
);
"""


class SeriesStore:
    """Values of time series, keyed by the ``et:seriesKey`` the graph records."""

    def __init__(self, path: Path | None) -> None:
        """Open (or create) the DuckDB file at ``path``; ``None`` keeps it in memory."""
        try:
            self._db = duckdb.connect(str(path) if path is not None else ":memory:")
            self._db.execute(_SCHEMA)
        except duckdb.Error as exc:
            raise StoreError(f"cannot open the series database {path}: {exc}") from exc
        self.path = path

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection, for small tables kept beside the series (the ledger's leaf cache)."""
        return self._db

    def close(self) -> None:
        """Close the DuckDB connection."""
        self._db.close()

    def replace(self, frame: pd.DataFrame, prefix: str) -> int:
        """Replace every series whose key starts with ``prefix`` by the columns of ``frame`` at once.

        Each column of ``frame`` is one series, its key is the column name; rows are
        steps from 0. Done in one transaction: all or nothing. Returns the values written.
        A graph write uses :meth:`stage` and :meth:`promote` instead (see the module text).
        """
        version = f"direct:{prefix}"
        self.stage(version, frame, prefix)
        return self.promote(version)

    def stage(self, version: str, frame: pd.DataFrame, prefix: str) -> None:
        """Keep ``frame`` (series under ``prefix``) aside for graph version ``version``; nothing reads it yet."""
        bad = [c for c in frame.columns if not str(c).startswith(prefix)]
        if bad:
            raise InputError(f"series keys {bad[:3]} do not start with the prefix {prefix!r}")
        wide = frame.reset_index(drop=True)
        wide.insert(0, "step", range(len(wide)))
        self._db.execute("BEGIN TRANSACTION")
        try:
            self._db.execute("DELETE FROM series_staged WHERE version = ?", [version])
            self._db.execute("DELETE FROM series_staging WHERE version = ?", [version])
            self._db.execute("INSERT INTO series_staging VALUES (?, ?)", [version, prefix])
            if len(frame.columns):
                self._db.register("incoming_series", wide)
                self._db.execute(
                    "INSERT INTO series_staged SELECT ?, series_key, step, value FROM "
                    "(UNPIVOT incoming_series ON COLUMNS(* EXCLUDE (step)) INTO NAME series_key VALUE value) "
                    "WHERE value IS NOT NULL",
                    [version],
                )
                self._db.unregister("incoming_series")
            self._db.execute("COMMIT")
        except duckdb.Error as exc:
            self._db.execute("ROLLBACK")
            raise StoreError(f"cannot write series {prefix!r}: {exc}") from exc

    def promote(self, version: str) -> int:
        """Make the series staged for ``version`` the live ones under their prefix, in one transaction.

        Returns the values now stored under the prefix (0 if nothing was staged for ``version``).
        """
        self._db.execute("BEGIN TRANSACTION")
        try:
            rows = self._db.execute("SELECT prefix FROM series_staging WHERE version = ?", [version]).fetchall()
            written = 0
            for (prefix,) in rows:
                self._db.execute("DELETE FROM series_values WHERE starts_with(series_key, ?)", [prefix])
                self._db.execute(
                    "INSERT INTO series_values SELECT series_key, step, value FROM series_staged WHERE version = ?",
                    [version],
                )
                counted = self._db.execute(
                    "SELECT count(*) FROM series_values WHERE starts_with(series_key, ?)", [prefix]
                ).fetchall()
                written = int(counted[0][0])
            self._db.execute("DELETE FROM series_staged WHERE version = ?", [version])
            self._db.execute("DELETE FROM series_staging WHERE version = ?", [version])
            self._db.execute("COMMIT")
        except duckdb.Error as exc:
            self._db.execute("ROLLBACK")
            raise StoreError(f"cannot make the series of <{version}> live: {exc}") from exc
        return written

    def discard(self, version: str) -> None:
        """Forget the series staged for ``version`` (its graph never became live)."""
        self._db.execute("BEGIN TRANSACTION")
        self._db.execute("DELETE FROM series_staged WHERE version = ?", [version])
        self._db.execute("DELETE FROM series_staging WHERE version = ?", [version])
        self._db.execute("COMMIT")

    def staged(self) -> dict[str, int]:
        """Graph version → number of values staged for it and not yet promoted or discarded."""
        rows = self._db.execute(
            "SELECT s.version, count(v.version) FROM series_staging s "
            "LEFT JOIN series_staged v ON v.version = s.version GROUP BY s.version ORDER BY s.version"
        ).fetchall()
        return {str(version): int(n) for version, n in rows}

    def delete(self, prefix: str) -> None:
        """Remove every series whose key starts with ``prefix``."""
        self._db.execute("DELETE FROM series_values WHERE starts_with(series_key, ?)", [prefix])

    def read(self, key: str, start: int = 0, count: int | None = None) -> np.ndarray:
        """Values of series ``key`` for steps ``start`` … ``start + count - 1`` as a float array."""
        stop = np.iinfo(np.int32).max if count is None else start + count
        rows = self._db.execute(
            "SELECT value FROM series_values WHERE series_key = ? AND step >= ? AND step < ? ORDER BY step",
            [key, start, stop],
        ).fetchnumpy()
        values = np.asarray(rows["value"], dtype=float)
        if values.size == 0 and not self.has(key):
            raise InputError(f"no time series with key {key!r} in {self._where()}")
        return values

    def read_many(self, keys: Iterable[str], start: int = 0, count: int | None = None) -> dict[str, np.ndarray]:
        """Like :meth:`read` for several keys at once (one query)."""
        wanted = sorted(set(keys))
        stop = np.iinfo(np.int32).max if count is None else start + count
        frame = self._db.execute(
            "SELECT series_key, step, value FROM series_values "
            "WHERE series_key IN (SELECT unnest(?)) AND step >= ? AND step < ? ORDER BY series_key, step",
            [wanted, start, stop],
        ).df()
        found = {key: group["value"].to_numpy(dtype=float) for key, group in frame.groupby("series_key")}
        missing = [k for k in wanted if k not in found]
        if missing:
            raise InputError(f"no time series with key(s) {missing[:5]} in {self._where()}")
        return found

    def has(self, key: str) -> bool:
        """Whether any value is stored under ``key``."""
        rows = self._db.execute("SELECT 1 FROM series_values WHERE series_key = ? LIMIT 1", [key]).fetchall()
        return bool(rows)

    def missing(self, keys: Iterable[str]) -> list[str]:
        """The keys among ``keys`` that have no stored values."""
        wanted = sorted(set(keys))
        if not wanted:
            return []
        present = {
            row[0]
            for row in self._db.execute(
                "SELECT DISTINCT series_key FROM series_values WHERE series_key IN (SELECT unnest(?))",
                [wanted],
            ).fetchall()
        }
        return [k for k in wanted if k not in present]

    def keys(self) -> dict[str, int]:
        """Every live series key → its number of values."""
        rows = self._db.execute("SELECT series_key, count(*) FROM series_values GROUP BY series_key").fetchall()
        return {str(key): int(n) for key, n in rows}

    def count(self) -> int:
        """Number of stored values."""
        rows = self._db.execute("SELECT count(*) FROM series_values").fetchall()
        return int(rows[0][0])

    def _where(self) -> str:
        return str(self.path) if self.path is not None else "the in-memory series store"

    # -- beside the series: snapshots, the ledger's leaf cache, commit serialisation --------------

    @property
    def location(self) -> str:
        """The file (or memory), for messages."""
        return self._where()

    def has_snapshot(self, digest: str) -> bool:
        """Whether a series snapshot is kept under ``digest``."""
        return bool(self._db.execute("SELECT 1 FROM series_snapshots WHERE snapshot = ? LIMIT 1", [digest]).fetchall())

    def save_snapshot(self, rows: pd.DataFrame) -> None:
        """Keep snapshot rows (columns snapshot, series_key, start, count, step, value)."""
        self._db.register("incoming_snapshot", rows)
        try:
            self._db.execute("INSERT INTO series_snapshots SELECT * FROM incoming_snapshot")
        finally:
            self._db.unregister("incoming_snapshot")

    def snapshot(self, digest: str) -> pd.DataFrame:
        """The rows of snapshot ``digest`` (series_key, start, count, value) in key, start, count, step order."""
        return self._db.execute(
            "SELECT series_key, start, count, value FROM series_snapshots WHERE snapshot = ? "
            "ORDER BY series_key, start, count, step",
            [digest],
        ).df()

    def cached_leaves(self) -> bytes | None:
        """The ledger's cached Merkle leaves, if any."""
        row = self._db.execute("SELECT leaves FROM ledger_leaf_cache LIMIT 1").fetchone()
        return bytes(row[0]) if row is not None else None

    def cache_leaves(self, size: int, leaves: bytes) -> None:
        """Replace the cached Merkle leaves."""
        self._db.execute("BEGIN TRANSACTION")
        self._db.execute("DELETE FROM ledger_leaf_cache")
        self._db.execute("INSERT INTO ledger_leaf_cache VALUES (?, ?)", [size, leaves])
        self._db.execute("COMMIT")

    def serialised(self) -> AbstractContextManager[None]:
        """Nothing to hold: an embedded store serialises its own updates, and a per-client file cannot."""
        return nullcontext()
