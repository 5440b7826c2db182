"""Time series of a shared (remote) store in a PostgreSQL database every client reaches.

Same tables and the same staging/promotion contract as the embedded DuckDB store
(:mod:`enertwin.kg.series`): a write's series are staged under the graph version that
names them and promoted once that version is live. Because many clients share the
database, promotion holds an advisory lock (two clients settling one staged version
promote it once), and the database also serialises the ledger's compare-and-set commits
(:meth:`PostgresSeries.serialised`), which ``oxigraph serve`` cannot do by itself.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import numpy as np
import pandas as pd
import psycopg

from enertwin.kg.errors import InputError, StoreError
from enertwin.kg.locations import MASK, SeriesDatabase

# advisory lock keys (64-bit), one per thing serialised: b"enertwin" + a tag
_SCHEMA_LOCK = int.from_bytes(b"enertw\x00\x01", "big")
_PROMOTE_LOCK = int.from_bytes(b"enertw\x00\x02", "big")
_COMMIT_LOCK = int.from_bytes(b"enertw\x00\x03", "big")

_SCHEMA = (
    'CREATE TABLE IF NOT EXISTS series_values (series_key TEXT COLLATE "C" NOT NULL, '
    "step INTEGER NOT NULL, value DOUBLE PRECISION NOT NULL)",
    "CREATE INDEX IF NOT EXISTS series_values_key ON series_values (series_key, step)",
    "CREATE TABLE IF NOT EXISTS series_staged (version TEXT NOT NULL, "
    'series_key TEXT COLLATE "C" NOT NULL, step INTEGER NOT NULL, value DOUBLE PRECISION NOT NULL)',
    "CREATE INDEX IF NOT EXISTS series_staged_version ON series_staged (version)",
    'CREATE TABLE IF NOT EXISTS series_staging (version TEXT NOT NULL, prefix TEXT COLLATE "C" NOT NULL)',
    "CREATE TABLE IF NOT EXISTS ledger_leaf_cache (size INTEGER NOT NULL, leaves BYTEA NOT NULL)",
    "CREATE TABLE IF NOT EXISTS series_snapshots (snapshot TEXT NOT NULL, series_key TEXT COLLATE \"C\" NOT NULL, "
    "start INTEGER NOT NULL, count INTEGER NOT NULL, step INTEGER NOT NULL, value DOUBLE PRECISION NOT NULL)",
    "CREATE INDEX IF NOT EXISTS series_snapshots_name ON series_snapshots (snapshot)",
)
_COPY = "COPY {table} ({columns}) FROM STDIN (FORMAT csv)"
_MAX_STEP = int(np.iinfo(np.int32).max)


class PostgresSeries:
    """Values of time series in PostgreSQL, keyed by the ``et:seriesKey`` the graph records."""

    def __init__(self, database: SeriesDatabase) -> None:
        """Connect to ``database`` and create the tables if they are missing (one client at a time)."""
        self.database = database
        try:
            self._db = psycopg.connect(database.location, password=database.password, autocommit=True)
        except psycopg.Error as exc:
            raise StoreError(f"cannot open the series database {database}: {self._clean(exc)}") from None
        try:
            with self._db.transaction():
                self._db.execute("SELECT pg_advisory_xact_lock(%s)", [_SCHEMA_LOCK])
                for statement in _SCHEMA:
                    self._db.execute(statement)  # type: ignore[arg-type]  # constant text, no user input
        except psycopg.Error as exc:
            self._db.close()
            raise StoreError(f"cannot create the series tables in {database}: {self._clean(exc)}") from None

    @property
    def location(self) -> str:
        """The database's URL without its password."""
        return self.database.location

    def _clean(self, exc: BaseException) -> str:
        """An error's text, first line, with the password masked should the driver ever echo it."""
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        secret = self.database.password
        return text.replace(secret, MASK) if secret else text

    def _failed(self, what: str, exc: psycopg.Error) -> StoreError:
        return StoreError(f"cannot {what} in the series database {self.database}: {self._clean(exc)}")

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    # -- writing ---------------------------------------------------------------------------

    def replace(self, frame: pd.DataFrame, prefix: str) -> int:
        """Stage and promote at once (outside a graph write); returns the values under ``prefix``."""
        version = f"direct:{prefix}"
        self.stage(version, frame, prefix)
        return self.promote(version)

    def stage(self, version: str, frame: pd.DataFrame, prefix: str) -> None:
        """Keep ``frame`` (series under ``prefix``) aside for graph version ``version``; nothing reads it yet."""
        bad = [c for c in frame.columns if not str(c).startswith(prefix)]
        if bad:
            raise InputError(f"series keys {bad[:3]} do not start with the prefix {prefix!r}")
        rows = _long(frame)
        rows.insert(0, "version", version)
        try:
            with self._db.transaction():
                self._db.execute("DELETE FROM series_staged WHERE version = %s", [version])
                self._db.execute("DELETE FROM series_staging WHERE version = %s", [version])
                self._db.execute("INSERT INTO series_staging VALUES (%s, %s)", [version, prefix])
                self._copy("series_staged", rows)
        except psycopg.Error as exc:
            raise self._failed(f"write series {prefix!r}", exc) from None

    def promote(self, version: str) -> int:
        """Make the series staged for ``version`` the live ones under their prefix, in one transaction.

        Returns the values now stored under the prefix (0 if nothing was staged for ``version``,
        e.g. because another client promoted it first).
        """
        written = 0
        try:
            with self._db.transaction():
                self._db.execute("SELECT pg_advisory_xact_lock(%s)", [_PROMOTE_LOCK])
                prefixes = self._db.execute("SELECT prefix FROM series_staging WHERE version = %s", [version])
                for (prefix,) in prefixes.fetchall():
                    self._db.execute("DELETE FROM series_values WHERE starts_with(series_key, %s)", [prefix])
                    self._db.execute(
                        "INSERT INTO series_values SELECT series_key, step, value FROM series_staged "
                        "WHERE version = %s",
                        [version],
                    )
                    counted = self._db.execute(
                        "SELECT count(*) FROM series_values WHERE starts_with(series_key, %s)", [prefix]
                    ).fetchone()
                    written = int(counted[0]) if counted else 0
                self._db.execute("DELETE FROM series_staged WHERE version = %s", [version])
                self._db.execute("DELETE FROM series_staging WHERE version = %s", [version])
        except psycopg.Error as exc:
            raise self._failed(f"make the series of <{version}> live", exc) from None
        return written

    def discard(self, version: str) -> None:
        """Forget the series staged for ``version`` (its graph never became live)."""
        try:
            with self._db.transaction():
                self._db.execute("DELETE FROM series_staged WHERE version = %s", [version])
                self._db.execute("DELETE FROM series_staging WHERE version = %s", [version])
        except psycopg.Error as exc:
            raise self._failed(f"discard the series staged for <{version}>", exc) from None

    def staged(self) -> dict[str, int]:
        """Graph version → number of values staged for it and not yet promoted or discarded."""
        rows = self._rows(
            "SELECT s.version, count(v.version) FROM series_staging s "
            "LEFT JOIN series_staged v ON v.version = s.version GROUP BY s.version ORDER BY s.version"
        )
        return {str(version): int(n) for version, n in rows}

    def delete(self, prefix: str) -> None:
        """Remove every series whose key starts with ``prefix``."""
        self._rows("DELETE FROM series_values WHERE starts_with(series_key, %s)", [prefix], fetch=False)

    # -- reading ---------------------------------------------------------------------------

    def read(self, key: str, start: int = 0, count: int | None = None) -> np.ndarray:
        """Values of series ``key`` for steps ``start`` … ``start + count - 1`` as a float array."""
        stop = _MAX_STEP if count is None else start + count
        rows = self._rows(
            "SELECT value FROM series_values WHERE series_key = %s AND step >= %s AND step < %s ORDER BY step",
            [key, start, stop],
        )
        values = np.fromiter((r[0] for r in rows), dtype=float, count=len(rows))
        if values.size == 0 and not self.has(key):
            raise InputError(f"no time series with key {key!r} in {self.database}")
        return values

    def read_many(self, keys: Iterable[str], start: int = 0, count: int | None = None) -> dict[str, np.ndarray]:
        """Like :meth:`read` for several keys at once (one query)."""
        wanted = sorted(set(keys))
        stop = _MAX_STEP if count is None else start + count
        rows = self._rows(
            "SELECT series_key, value FROM series_values WHERE series_key = ANY(%s) AND step >= %s AND step < %s "
            "ORDER BY series_key, step",
            [wanted, start, stop],
        )
        grouped: dict[str, list[float]] = {}
        for key, value in rows:
            grouped.setdefault(str(key), []).append(float(value))
        missing = [k for k in wanted if k not in grouped]
        if missing:
            raise InputError(f"no time series with key(s) {missing[:5]} in {self.database}")
        return {key: np.asarray(values, dtype=float) for key, values in grouped.items()}

    def has(self, key: str) -> bool:
        """Whether any value is stored under ``key``."""
        return bool(self._rows("SELECT 1 FROM series_values WHERE series_key = %s LIMIT 1", [key]))

    def missing(self, keys: Iterable[str]) -> list[str]:
        """The keys among ``keys`` that have no stored values."""
        wanted = sorted(set(keys))
        if not wanted:
            return []
        rows = self._rows(
            "SELECT k FROM unnest(%s::text[]) AS k WHERE NOT EXISTS "
            "(SELECT 1 FROM series_values v WHERE v.series_key = k)",
            [wanted],
        )
        return sorted(str(r[0]) for r in rows)

    def keys(self) -> dict[str, int]:
        """Every live series key → its number of values."""
        return {str(k): int(n) for k, n in self._rows("SELECT series_key, count(*) FROM series_values GROUP BY 1")}

    def count(self) -> int:
        """Number of stored values."""
        return int(self._rows("SELECT count(*) FROM series_values")[0][0])

    # -- beside the series: snapshots, the ledger's leaf cache, commit serialisation --------------

    def has_snapshot(self, digest: str) -> bool:
        """Whether a series snapshot is kept under ``digest``."""
        return bool(self._rows("SELECT 1 FROM series_snapshots WHERE snapshot = %s LIMIT 1", [digest]))

    def save_snapshot(self, rows: pd.DataFrame) -> None:
        """Keep snapshot rows (columns snapshot, series_key, start, count, step, value), once per snapshot."""
        try:
            with self._db.transaction():
                self._db.execute("SELECT pg_advisory_xact_lock(%s)", [_PROMOTE_LOCK])
                digests = sorted(set(rows["snapshot"]))
                taken = self._db.execute("SELECT 1 FROM series_snapshots WHERE snapshot = ANY(%s) LIMIT 1", [digests])
                if not taken.fetchall():  # another client may have saved the same slices since it was checked
                    self._copy("series_snapshots", rows)
        except psycopg.Error as exc:
            raise self._failed("save a series snapshot", exc) from None

    def snapshot(self, digest: str) -> pd.DataFrame:
        """The rows of snapshot ``digest`` (series_key, start, count, value) in key, start, count, step order."""
        rows = self._rows(
            "SELECT series_key, start, count, value FROM series_snapshots WHERE snapshot = %s "
            "ORDER BY series_key, start, count, step",
            [digest],
        )
        return pd.DataFrame(rows, columns=["series_key", "start", "count", "value"])

    def cached_leaves(self) -> bytes | None:
        """The ledger's cached Merkle leaves, if any."""
        rows = self._rows("SELECT leaves FROM ledger_leaf_cache LIMIT 1")
        return bytes(rows[0][0]) if rows else None

    def cache_leaves(self, size: int, leaves: bytes) -> None:
        """Replace the cached Merkle leaves."""
        try:
            with self._db.transaction():
                self._db.execute("DELETE FROM ledger_leaf_cache")
                self._db.execute("INSERT INTO ledger_leaf_cache VALUES (%s, %s)", [size, leaves])
        except psycopg.Error as exc:
            raise self._failed("cache the ledger's leaves", exc) from None

    def serialised(self) -> AbstractContextManager[None]:
        """Hold the database's commit lock: one compare-and-set commit at a time among every client.

        ``oxigraph serve`` runs concurrent updates on snapshots without conflict detection, so
        two guarded updates can both apply; under this lock they run one after the other, and
        each sees the head the one before it wrote. The lock is a transaction-level advisory
        lock, released at the end of the block, or by the server if the client dies.
        """
        return self._commit_lock()

    @contextmanager
    def _commit_lock(self) -> Iterator[None]:
        with self._db.transaction():  # rolled back (lock released) if the block raises
            try:
                self._db.execute("SELECT pg_advisory_xact_lock(%s)", [_COMMIT_LOCK])
            except psycopg.Error as exc:
                raise self._failed("take the commit lock", exc) from None
            yield

    # -- helpers ---------------------------------------------------------------------------

    def _rows(self, query: str, params: Iterable[object] = (), *, fetch: bool = True) -> list[tuple[Any, ...]]:
        try:
            cursor = self._db.execute(query, list(params))  # type: ignore[arg-type]  # constant text, no user input
            return cursor.fetchall() if fetch else []
        except psycopg.Error as exc:
            raise self._failed("read series", exc) from None

    def _copy(self, table: str, rows: pd.DataFrame) -> None:
        """Bulk-load ``rows`` (its columns named as the table's) with COPY; floats written exactly (repr)."""
        if rows.empty:
            return
        text = io.StringIO()
        rows.to_csv(text, index=False, header=False)
        statement = _COPY.format(table=table, columns=", ".join(rows.columns))
        with self._db.cursor().copy(statement) as copy:  # type: ignore[arg-type]  # table and columns are ours
            copy.write(text.getvalue())


def _long(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (series key, step, value) of a wide frame (a column per series, rows steps from 0); no NaN."""
    values = frame.to_numpy(dtype=float)
    steps, columns = values.shape
    long = pd.DataFrame(
        {
            "series_key": np.repeat(np.asarray([str(c) for c in frame.columns], dtype=object), steps),
            "step": np.tile(np.arange(steps, dtype=np.int64), columns),
            "value": values.T.reshape(-1),
        }
    )
    return long[~np.isnan(long["value"].to_numpy())]
