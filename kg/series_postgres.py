"""Time series of a shared (remote) store in a PostgreSQL database every client reaches.

The staging/promotion contract of the embedded DuckDB store (:mod:`enertwin.kg.series`):
a write's series are staged under the graph version that names them and promoted once
that version is live. Here the values are written once, one row per series (its values
an array): each staging is a *batch* of rows in ``series_values``, and promoting it adds
the batch to ``series_live`` and deletes the rows it replaces, in one transaction; readers
see only rows of live batches. (A row per step, copied at promotion as DuckDB does, took
17 s to stage and promote 2 M values; see :func:`_binary_rows`.)
Because many clients share the database, promotion holds an advisory lock (two clients
settling one staged version promote it once), and the database also serialises the
ledger's compare-and-set commits (:meth:`PostgresSeries.serialised`), which ``oxigraph
serve`` cannot do by itself.
"""

from __future__ import annotations

import struct
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
    "CREATE SEQUENCE IF NOT EXISTS series_batches",
    'CREATE TABLE IF NOT EXISTS series_values (batch BIGINT NOT NULL, series_key TEXT COLLATE "C" NOT NULL, '
    "count INTEGER NOT NULL, points DOUBLE PRECISION[] NOT NULL)",
    "CREATE INDEX IF NOT EXISTS series_values_key ON series_values (series_key)",
    'CREATE TABLE IF NOT EXISTS series_staging (version TEXT NOT NULL, prefix TEXT COLLATE "C" NOT NULL, '
    "batch BIGINT NOT NULL, count BIGINT NOT NULL)",
    'CREATE TABLE IF NOT EXISTS series_live (batch BIGINT PRIMARY KEY, prefix TEXT COLLATE "C" NOT NULL)',
    "CREATE TABLE IF NOT EXISTS ledger_leaf_cache (size INTEGER NOT NULL, leaves BYTEA NOT NULL)",
    'CREATE TABLE IF NOT EXISTS series_snapshots (snapshot TEXT NOT NULL, series_key TEXT COLLATE "C" NOT NULL, '
    "start INTEGER NOT NULL, count INTEGER NOT NULL, step INTEGER NOT NULL, value DOUBLE PRECISION NOT NULL)",
    "CREATE INDEX IF NOT EXISTS series_snapshots_name ON series_snapshots (snapshot)",
)
_LIVE = "batch IN (SELECT batch FROM series_live)"
_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, no header extension
_BINARY_TRAILER = b"\xff\xff"
_FLOAT8 = 701  # the element type's oid in a binary array
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
                    self._db.execute(statement)  # constant text, no user input
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
        try:
            with self._db.transaction():
                self._forget(version)
                # a fresh batch even when ``version`` is live already (an unchanged graph, new series)
                batch = int(self._db.execute("SELECT nextval('series_batches')").fetchall()[0][0])
                count = int(frame.notna().to_numpy().sum())
                self._db.execute("INSERT INTO series_staging VALUES (%s, %s, %s, %s)", [version, prefix, batch, count])
                copying = "COPY series_values (batch, series_key, count, points) FROM STDIN (FORMAT binary)"
                with self._db.cursor().copy(copying) as copy:
                    copy.write(_BINARY_HEADER)
                    for chunk in _binary_rows(batch, frame):
                        copy.write(chunk)
                    copy.write(_BINARY_TRAILER)
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
                staged = self._db.execute("SELECT prefix, batch FROM series_staging WHERE version = %s", [version])
                for prefix, batch in staged.fetchall():
                    self._db.execute(f"DELETE FROM series_values WHERE series_key LIKE %s AND {_LIVE}", [_like(prefix)])
                    self._db.execute("DELETE FROM series_live WHERE prefix LIKE %s", [_like(prefix)])
                    self._db.execute("INSERT INTO series_live VALUES (%s, %s)", [batch, prefix])
                    counted = self._db.execute(
                        f"SELECT coalesce(sum(count), 0) FROM series_values WHERE series_key LIKE %s AND {_LIVE}",
                        [_like(prefix)],
                    ).fetchone()
                    written = int(counted[0]) if counted else 0
                self._db.execute("DELETE FROM series_staging WHERE version = %s", [version])
        except psycopg.Error as exc:
            raise self._failed(f"make the series of <{version}> live", exc) from None
        return written

    def discard(self, version: str) -> None:
        """Forget the series staged for ``version`` (its graph never became live)."""
        try:
            with self._db.transaction():
                self._forget(version)
        except psycopg.Error as exc:
            raise self._failed(f"discard the series staged for <{version}>", exc) from None

    def _forget(self, version: str) -> None:
        """Delete what is staged for ``version`` (inside the caller's transaction); a scan only if there is some."""
        batches = [r[0] for r in self._db.execute("SELECT batch FROM series_staging WHERE version = %s", [version])]
        if batches:
            self._db.execute("DELETE FROM series_values WHERE batch = ANY(%s)", [batches])
            self._db.execute("DELETE FROM series_staging WHERE version = %s", [version])

    def staged(self) -> dict[str, int]:
        """Graph version → number of values staged for it and not yet promoted or discarded."""
        rows = self._rows("SELECT version, sum(count) FROM series_staging GROUP BY version ORDER BY version")
        return {str(version): int(n) for version, n in rows}

    def delete(self, prefix: str) -> None:
        """Remove every series whose key starts with ``prefix``."""
        self._rows(f"DELETE FROM series_values WHERE series_key LIKE %s AND {_LIVE}", [_like(prefix)], fetch=False)

    # -- reading ---------------------------------------------------------------------------

    def read(self, key: str, start: int = 0, count: int | None = None) -> np.ndarray:
        """Values of series ``key`` for steps ``start`` … ``start + count - 1`` as a float array."""
        found = self._slices([key], start, count)
        if key not in found:
            raise InputError(f"no time series with key {key!r} in {self.database}")
        return found[key]

    def read_many(self, keys: Iterable[str], start: int = 0, count: int | None = None) -> dict[str, np.ndarray]:
        """Like :meth:`read` for several keys at once (one query)."""
        wanted = sorted(set(keys))
        found = self._slices(wanted, start, count)
        missing = [k for k in wanted if k not in found]
        if missing:
            raise InputError(f"no time series with key(s) {missing[:5]} in {self.database}")
        return found

    def _slices(self, keys: list[str], start: int, count: int | None) -> dict[str, np.ndarray]:
        """Steps ``start`` … of each live series among ``keys`` (a step without a value is left out, as in DuckDB)."""
        stop = _MAX_STEP if count is None else start + count
        rows = self._rows(
            f"SELECT series_key, points[%s:%s] FROM series_values WHERE series_key = ANY(%s) AND {_LIVE}",
            [start + 1, stop, keys],  # arrays count from 1, steps from 0
        )
        found = {str(key): np.asarray(points, dtype=float) for key, points in rows}
        return {key: values[~np.isnan(values)] for key, values in found.items()}

    @property
    def absent(self) -> bool:
        """Never: a database that cannot be reached is an error when it is used, not a lost file."""
        return False

    def read_stored(self, keys: Iterable[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Key → (steps, values) as stored, in step order; a step without a value is left out, as in DuckDB."""
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        rows = self._rows(
            f"SELECT series_key, points FROM series_values WHERE series_key = ANY(%s) AND {_LIVE}", [wanted]
        )
        out = {}
        for key, points in rows:
            values = np.asarray(points, dtype=float)
            steps = np.flatnonzero(~np.isnan(values))
            if steps.size:
                out[str(key)] = (steps, values[steps])
        return out

    def has(self, key: str) -> bool:
        """Whether any value is stored under ``key``."""
        return bool(self._rows(f"SELECT 1 FROM series_values WHERE series_key = %s AND {_LIVE} LIMIT 1", [key]))

    def missing(self, keys: Iterable[str]) -> list[str]:
        """The keys among ``keys`` that have no stored values."""
        wanted = sorted(set(keys))
        if not wanted:
            return []
        rows = self._rows(
            "SELECT k FROM unnest(%s::text[]) AS k WHERE NOT EXISTS "
            f"(SELECT 1 FROM series_values v WHERE v.series_key = k AND {_LIVE})",
            [wanted],
        )
        return sorted(str(r[0]) for r in rows)

    def keys(self) -> dict[str, int]:
        """Every live series key → its number of values."""
        rows = self._rows(f"SELECT series_key, sum(count) FROM series_values WHERE {_LIVE} GROUP BY 1")
        return {str(k): int(n) for k, n in rows}

    def count(self) -> int:
        """Number of stored values."""
        return int(self._rows(f"SELECT coalesce(sum(count), 0) FROM series_values WHERE {_LIVE}")[0][0])

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
                    columns = ", ".join(rows.columns)
                    with self._db.cursor().copy(f"COPY series_snapshots ({columns}) FROM STDIN") as copy:  # our columns
                        copy.write("".join("\t".join(_text(v) for v in row) + "\n" for row in rows.itertuples(False)))
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
            cursor = self._db.execute(query, list(params))  # constant text, no user input
            return cursor.fetchall() if fetch else []
        except psycopg.Error as exc:
            raise self._failed("read series", exc) from None


def _text(value: object) -> str:
    """One field in COPY's text format: floats exactly (``repr``), text with its specials escaped."""
    if isinstance(value, float):
        return repr(value)
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _like(prefix: str) -> str:
    """A LIKE pattern for keys starting with ``prefix`` (a btree index on C-collated text serves it)."""
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _binary_rows(batch: int, frame: pd.DataFrame) -> Iterator[bytes]:
    """COPY binary rows (batch, series_key, count, points) of a wide frame: one row per series, NaN kept in place.

    One row per series, not per step: a write of 2 M values is 60 rows, and numpy lays out
    each array at once (a row per step, indexed, took 6.6 s for 2 M values; this takes 0.2 s).
    A series with no value at all is not stored (as in DuckDB).
    """
    values = frame.to_numpy(dtype=float)
    element = np.dtype([("length", ">i4"), ("value", ">f8")])
    for j, column in enumerate(frame.columns):
        column_values = values[:, j]
        count = int((~np.isnan(column_values)).sum())
        if not count:
            continue
        key = str(column).encode("utf-8")
        points = np.empty(len(column_values), dtype=element)
        points["length"], points["value"] = 8, column_values
        array = struct.pack(">iiiii", 1, 0, _FLOAT8, len(column_values), 1) + points.tobytes()
        yield (struct.pack(">hiqi", 4, 8, batch, len(key)) + key + struct.pack(">iii", 4, count, len(array)) + array)
