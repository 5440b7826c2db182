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

import time
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from itertools import pairwise
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from enertwin.kg.errors import EvidenceError, InputError, StoreError

BACKEND_NAME = "duckdb"
_HEADER_BYTES = 3 * 4096  # DuckDB's file header and its two database headers, before the first block

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


class SeriesFile:
    """The DuckDB file of a store's series, connected only while an operation uses it.

    DuckDB lets one process write a file, or several read it, never both at once. So no
    process keeps the file open: each operation connects (read-write, or read-only for a
    reader), and a connection refused because another process holds the file is retried
    for up to ``wait`` seconds. A long writer (an import, a solve) then locks readers out
    only while it actually writes series, and a reader never blocks a writer for long.
    """

    def __init__(self, path: Path | None, *, read_only: bool = False, create: bool = True, wait: float = 30.0) -> None:
        """Use the file at ``path`` (``None``: in memory); ``create`` a missing one, else it is missing evidence."""
        self.path, self.read_only, self.wait = path, read_only, wait
        self._held: duckdb.DuckDBPyConnection | None = None
        self._users = 0
        self._checked = False
        self.missing = path is not None and not path.exists() and (read_only or not create)
        if path is None:
            self._held = self._connect_schema(duckdb.connect(":memory:"))
            self._users = 1  # in memory the connection is the data: it lives until close
        elif not self.missing:
            self.check(wait=not read_only)  # creates a new file with its tables; checks an old one is whole

    @contextmanager
    def session(self, *, hold: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for one operation (nested sessions share it); DuckDB errors become a :class:`StoreError`.

        ``hold`` keeps it open until :meth:`close` (the lock too): for callers that use the
        connection directly.
        """
        if self.missing:
            raise EvidenceError(
                f"the series file {self.path} of this store is missing: the profiles, schedules and snapshots "
                "the graph names were kept there. Nothing was created; restore the file from a backup"
            )
        if self._held is None:
            self._held = self._open()
        self._users += 2 if hold else 1
        try:
            yield self._held
        except duckdb.Error as exc:
            raise StoreError(f"cannot use the series database {self.path}: {_first_line(exc)}") from exc
        finally:
            self._users -= 1
            if self._users == 0:
                self._held.close()
                self._held = None

    def close(self) -> None:
        """Release the connection, if one is still open."""
        if self._held is not None:
            self._held.close()
            self._held, self._users = None, 0

    def check(self, *, wait: bool = True) -> None:
        """Open the file once to check it is whole; ``wait=False`` skips the check while another process writes it."""
        if self.missing or self.path is None:
            return
        if not wait and self._held is None:
            try:
                self._held = self._connect_once()
            except _Locked:
                return
        with self.session():
            pass

    def _open(self) -> duckdb.DuckDBPyConnection:
        """Connect, retrying while another process holds the file, then check it (once) and its tables."""
        deadline = time.monotonic() + self.wait
        pause = 0.02
        while True:
            try:
                return self._connect_once()
            except _Locked as exc:
                if time.monotonic() >= deadline:
                    raise StoreError(
                        f"the series database {self.path} stayed locked by another process for {self.wait:.0f} s "
                        f"(a write in progress): {exc}; try again when it has finished"
                    ) from None
            time.sleep(pause)
            pause = min(pause * 2, 0.25)

    def _connect_once(self) -> duckdb.DuckDBPyConnection:
        try:
            db = duckdb.connect(str(self.path), read_only=self.read_only)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise _Locked(_first_line(exc)) from exc
            raise StoreError(f"cannot open the series database {self.path}: {_first_line(exc)}") from exc
        except duckdb.Error as exc:
            raise StoreError(f"cannot open the series database {self.path}: {_first_line(exc)}") from exc
        try:
            db.execute("SET enable_progress_bar = false")  # a long read must not draw on the user's terminal
            if not self._checked:
                self._check_size(db)
                if not self.read_only:
                    self._connect_schema(db)
                self._checked = True
        except BaseException:
            db.close()
            raise
        return db

    def _check_size(self, db: duckdb.DuckDBPyConnection) -> None:
        """A file that ends before a block its tables use was truncated: refuse it before anything reads it.

        (The header's block count is no bound: DuckDB cuts free blocks off the end of the file.)
        """
        if self.path is None:
            return  # in memory: there is no file to be cut short
        try:
            block_size = db.execute("SELECT block_size FROM pragma_database_size()").fetchone()[0]  # type: ignore[index]
            tables = [row[0] for row in db.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
            query = "SELECT max(block_id) FROM pragma_storage_info(?) WHERE persistent"
            used = [db.execute(query, [table]).fetchone()[0] for table in tables]  # type: ignore[index]
            last = max((int(block) for block in used if block is not None), default=-1)
        except duckdb.Error as exc:
            raise StoreError(f"the series database {self.path} is damaged: {_first_line(exc)}") from exc
        expected = _HEADER_BYTES + int(block_size) * (last + 1)
        size = self.path.stat().st_size
        if size < expected:
            raise StoreError(
                f"the series database {self.path} is damaged: it ends at {size} bytes, before the data its tables "
                f"hold (up to {expected} bytes): it was truncated. Nothing was changed; restore it from a backup"
            )

    def _connect_schema(self, db: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
        try:
            db.execute("SET enable_progress_bar = false")  # a long read must not draw on the user's terminal
            db.execute(_SCHEMA)
        except duckdb.Error as exc:
            raise StoreError(f"cannot open the series database {self.path}: {_first_line(exc)}") from exc
        return db


class _Locked(Exception):
    """Another process holds the DuckDB file (DuckDB's own message)."""


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


class SeriesStore:
    """Values of time series, keyed by the ``et:seriesKey`` the graph records."""

    def __init__(self, path: Path | None, *, read_only: bool = False, create: bool = True) -> None:
        """Use the DuckDB file at ``path`` (``None``: in memory); a missing file is created unless ``create`` is off."""
        self._file = SeriesFile(path, read_only=read_only, create=create)
        self.path = path

    @property
    def absent(self) -> bool:
        """Whether the store's series file is gone (then every read of a series is missing evidence)."""
        return self._file.missing

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """A connection held until :meth:`close` (it keeps other processes out): for tests and tools."""
        with self._file.session(hold=True) as db:
            return db

    _db = connection

    def session(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        """One connection for several operations in a row (released at the end)."""
        return self._file.session()

    def close(self) -> None:
        """Close the DuckDB connection."""
        self._file.close()

    def cached_leaves(self) -> bytes | None:
        """The ledger's cached Merkle leaves, if any (``None`` also when the series file is missing)."""
        if self._file.missing:
            return None
        with self._file.session() as db:
            row = db.execute("SELECT leaves FROM ledger_leaf_cache LIMIT 1").fetchone()
        return bytes(row[0]) if row is not None else None

    def cache_leaves(self, size: int, leaves: bytes) -> None:
        """Replace the leaf cache; skipped when the file is read-only or missing (it is only a cache)."""
        if self._file.missing or self._file.read_only:
            return
        with self._file.session() as db:
            db.execute("BEGIN TRANSACTION")
            db.execute("DELETE FROM ledger_leaf_cache")
            db.execute("INSERT INTO ledger_leaf_cache VALUES (?, ?)", [size, leaves])
            db.execute("COMMIT")

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
        with self._file.session() as db:
            db.execute("BEGIN TRANSACTION")
            try:
                db.execute("DELETE FROM series_staged WHERE version = ?", [version])
                db.execute("DELETE FROM series_staging WHERE version = ?", [version])
                db.execute("INSERT INTO series_staging VALUES (?, ?)", [version, prefix])
                if len(frame.columns):
                    db.register("incoming_series", wide)
                    db.execute(
                        "INSERT INTO series_staged SELECT ?, series_key, step, value FROM "
                        "(UNPIVOT incoming_series ON COLUMNS(* EXCLUDE (step)) INTO NAME series_key VALUE value) "
                        "WHERE value IS NOT NULL",
                        [version],
                    )
                    db.unregister("incoming_series")
                db.execute("COMMIT")
            except duckdb.Error as exc:
                db.execute("ROLLBACK")
                raise StoreError(f"cannot write series {prefix!r}: {exc}") from exc

    def promote(self, version: str) -> int:
        """Make the series staged for ``version`` the live ones under their prefix, in one transaction.

        Returns the values now stored under the prefix (0 if nothing was staged for ``version``).
        """
        with self._file.session() as db:
            db.execute("BEGIN TRANSACTION")
            try:
                rows = db.execute("SELECT prefix FROM series_staging WHERE version = ?", [version]).fetchall()
                written = 0
                for (prefix,) in rows:
                    db.execute("DELETE FROM series_values WHERE starts_with(series_key, ?)", [prefix])
                    db.execute(
                        "INSERT INTO series_values SELECT series_key, step, value FROM series_staged WHERE version = ?",
                        [version],
                    )
                    counted = db.execute(
                        "SELECT count(*) FROM series_values WHERE starts_with(series_key, ?)", [prefix]
                    ).fetchall()
                    written = int(counted[0][0])
                db.execute("DELETE FROM series_staged WHERE version = ?", [version])
                db.execute("DELETE FROM series_staging WHERE version = ?", [version])
                db.execute("COMMIT")
            except duckdb.Error as exc:
                db.execute("ROLLBACK")
                raise StoreError(f"cannot make the series of <{version}> live: {exc}") from exc
        return written

    def discard(self, version: str) -> None:
        """Forget the series staged for ``version`` (its graph never became live)."""
        with self._file.session() as db:
            db.execute("BEGIN TRANSACTION")
            db.execute("DELETE FROM series_staged WHERE version = ?", [version])
            db.execute("DELETE FROM series_staging WHERE version = ?", [version])
            db.execute("COMMIT")

    def staged(self) -> dict[str, int]:
        """Graph version → number of values staged for it and not yet promoted or discarded."""
        with self._file.session() as db:
            rows = db.execute(
                "SELECT s.version, count(v.version) FROM series_staging s "
                "LEFT JOIN series_staged v ON v.version = s.version GROUP BY s.version ORDER BY s.version"
            ).fetchall()
        return {str(version): int(n) for version, n in rows}

    def delete(self, prefix: str) -> None:
        """Remove every series whose key starts with ``prefix``."""
        with self._file.session() as db:
            db.execute("DELETE FROM series_values WHERE starts_with(series_key, ?)", [prefix])

    def read(self, key: str, start: int = 0, count: int | None = None) -> np.ndarray:
        """Values of series ``key`` for steps ``start`` … ``start + count - 1`` as a float array."""
        stop = np.iinfo(np.int32).max if count is None else start + count
        with self._file.session() as db:
            rows = db.execute(
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
        with self._file.session() as db:
            frame = db.execute(
                "SELECT series_key, step, value FROM series_values "
                "WHERE series_key IN (SELECT unnest(?)) AND step >= ? AND step < ? ORDER BY series_key, step",
                [wanted, start, stop],
            ).df()
        found = {key: group["value"].to_numpy(dtype=float) for key, group in frame.groupby("series_key")}
        missing = [k for k in wanted if k not in found]
        if missing:
            raise InputError(f"no time series with key(s) {missing[:5]} in {self._where()}")
        return found

    def read_stored(self, keys: Iterable[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Key → (steps, values) as stored, in step order, for checking them; a key with no values is left out.

        One query for all keys, joined as small integers so that millions of rows come back as arrays,
        and put in step order here (DuckDB's ORDER BY takes 3 times longer on 15 M values).
        """
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        with self._file.session() as db:
            db.register("wanted_keys", pd.DataFrame({"series_key": wanted, "k": range(len(wanted))}))
            try:
                rows = db.execute(
                    "SELECT w.k, v.step, v.value FROM series_values v JOIN wanted_keys w USING (series_key)"
                ).fetchnumpy()
            finally:
                db.unregister("wanted_keys")
        k, steps, values = np.asarray(rows["k"]), np.asarray(rows["step"], dtype=np.int64), np.asarray(rows["value"])
        placed = _placed_by_step(wanted, k, steps, values)
        return placed if placed is not None else _sorted_by_step(wanted, k, steps, values)

    def has(self, key: str) -> bool:
        """Whether any value is stored under ``key``."""
        with self._file.session() as db:
            rows = db.execute("SELECT 1 FROM series_values WHERE series_key = ? LIMIT 1", [key]).fetchall()
        return bool(rows)

    def missing(self, keys: Iterable[str]) -> list[str]:
        """The keys among ``keys`` that have no stored values."""
        wanted = sorted(set(keys))
        if not wanted:
            return []
        with self._file.session() as db:
            rows = db.execute(
                "SELECT DISTINCT series_key FROM series_values WHERE series_key IN (SELECT unnest(?))", [wanted]
            ).fetchall()
        present = {row[0] for row in rows}
        return [k for k in wanted if k not in present]

    def keys(self) -> dict[str, int]:
        """Every live series key → its number of values."""
        with self._file.session() as db:
            rows = db.execute("SELECT series_key, count(*) FROM series_values GROUP BY series_key").fetchall()
        return {str(key): int(n) for key, n in rows}

    def count(self) -> int:
        """Number of stored values."""
        with self._file.session() as db:
            rows = db.execute("SELECT count(*) FROM series_values").fetchall()
        return int(rows[0][0])

    def has_snapshot(self, digest: str) -> bool:
        """Whether a series snapshot is kept under ``digest``."""
        with self._file.session() as db:
            return bool(db.execute("SELECT 1 FROM series_snapshots WHERE snapshot = ? LIMIT 1", [digest]).fetchall())

    def save_snapshot(self, rows: pd.DataFrame) -> None:
        """Keep snapshot rows (columns snapshot, series_key, start, count, step, value)."""
        with self._file.session() as db:
            db.register("incoming_snapshot", rows)
            try:
                db.execute("INSERT INTO series_snapshots SELECT * FROM incoming_snapshot")
            finally:
                db.unregister("incoming_snapshot")

    def snapshot(self, digest: str) -> pd.DataFrame:
        """The rows of snapshot ``digest`` (empty if there is none)."""
        with self._file.session() as db:
            return db.execute(
                "SELECT series_key, start, count, value FROM series_snapshots WHERE snapshot = ? "
                "ORDER BY series_key, start, count, step",
                [digest],
            ).df()

    @property
    def location(self) -> str:
        """The file (or memory), for messages."""
        return self._where()

    def serialised(self) -> AbstractContextManager[None]:
        """Nothing to hold: an embedded store serialises its own updates, and a per-client file cannot."""
        return nullcontext()

    def _where(self) -> str:
        return str(self.path) if self.path is not None else "the in-memory series store"


def _placed_by_step(
    wanted: list[str], k: np.ndarray, steps: np.ndarray, values: np.ndarray
) -> dict[str, tuple[np.ndarray, np.ndarray]] | None:
    """Rows put in step order by placing each at its step (no sort); ``None`` if a step is negative or twice."""
    if len(k) == 0 or steps.min() < 0:
        return None if len(k) else {}
    span = np.zeros(len(wanted), dtype=np.int64)
    np.maximum.at(span, k, steps + 1)
    start = np.concatenate(([0], np.cumsum(span)))
    at = start[k] + steps
    dense, filled = np.zeros(int(start[-1])), np.zeros(int(start[-1]), dtype=bool)
    dense[at], filled[at] = values, True
    if int(filled.sum()) != len(k):
        return None  # a step stored twice under one key
    out = {}
    for i, key in enumerate(wanted):
        mask = filled[start[i] : start[i + 1]]
        if mask.any():
            out[key] = (np.flatnonzero(mask), dense[start[i] : start[i + 1]][mask])
    return out


def _sorted_by_step(
    wanted: list[str], k: np.ndarray, steps: np.ndarray, values: np.ndarray
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Rows in step order by sorting: every row kept, a step stored twice too (a damaged store)."""
    order = np.lexsort((steps, k))
    k, steps, values = k[order], steps[order], values[order]
    cuts = [0, *(np.flatnonzero(np.diff(k)) + 1), len(k)]
    return {wanted[int(k[a])]: (steps[a:b], values[a:b].astype(float)) for a, b in pairwise(cuts) if b > a}
