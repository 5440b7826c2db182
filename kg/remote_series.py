"""Which series database a remote store uses, so that every client of one twin reads the same series.

The store records it: a remote store created with a series database (``$ENERTWIN_SERIES``,
``postgresql://USER@HOST:PORT/DATABASE``) keeps ``et:seriesDatabase`` in its meta graph, without
the password, from its first open on; every later client reads it there, whatever spelling of
the endpoint URL it uses, and connects with its own password (in ``$ENERTWIN_SERIES``, or
libpq's ``PGPASSWORD`` or ``~/.pgpass``). A remote store created without one keeps its series
per client, in a DuckDB file keyed by the endpoint's normal URL (one client only; kept for
stores made before the series database existed).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from pyoxigraph import NamedNode

from enertwin.kg.backend import GraphBackend
from enertwin.kg.errors import InputError
from enertwin.kg.locations import SeriesDatabase, endpoint_key, masked, series_database
from enertwin.kg.queries import load_query
from enertwin.kg.series import SeriesStore
from enertwin.kg.series_base import Series
from enertwin.kg.series_postgres import PostgresSeries

SERIES_ENV = "ENERTWIN_SERIES"


@dataclass(frozen=True, slots=True)
class RemoteSeries:
    """The series a remote store opened with, and the location its first open must record (if any)."""

    series: Series
    record: str | None


def open_remote_series(
    backend: GraphBackend,
    url: str,
    meta: NamedNode,
    store_node: NamedNode,
    given: str | None = None,
    series_path: Path | None = None,
) -> RemoteSeries:
    """Open the series of the remote store behind ``backend``: the database it records, else the one given.

    ``given`` (default ``$ENERTWIN_SERIES``) must name the recorded database when the store
    records one, and can only be set on a new store; ``series_path`` (a per-client DuckDB file)
    only on a store that records none.
    """
    text = given if given is not None else os.environ.get(SERIES_ENV) or None
    wanted = series_database(text) if text else None
    rows = list(backend.select(load_query("enertwin.kg", "store_series.rq"), {"store": store_node}, [meta]))
    initialised = bool(rows)
    recorded = next((str(r["series"].value) for r in rows if r["series"] is not None), None)
    if recorded is not None:
        if series_path is not None:
            raise InputError(f"the store at {masked(url)} keeps its series in {recorded}; a series file does not apply")
        if wanted is not None and wanted.location != series_database(recorded).location:
            raise InputError(
                f"the store at {masked(url)} keeps its series in {recorded} (recorded at its first open), "
                f"not in {wanted}; unset {SERIES_ENV} or give that database"
            )
        password = wanted.password if wanted is not None else None
        return RemoteSeries(PostgresSeries(SeriesDatabase(recorded, password)), None)
    if wanted is not None:
        if initialised:
            raise InputError(
                f"the store at {masked(url)} was created without a series database (its series are kept per "
                f"client); {SERIES_ENV} can only be set for a new store"
            )
        return RemoteSeries(PostgresSeries(wanted), wanted.location)
    return RemoteSeries(SeriesStore(series_path or local_series_path(url)), None)


def local_series_path(url: str) -> Path:
    """Where a store without a series database keeps its series on this machine: keyed by the normal URL."""
    home = Path(os.environ.get("ENERTWIN_HOME", Path.home() / ".enertwin"))
    folder = home / "series"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{quote(endpoint_key(url), safe='')}.duckdb"
