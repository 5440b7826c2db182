"""``audit verify --deep``: what records vouch for outside themselves, each changed behind the store's back.

Imported profile values (in DuckDB), an imported graph no decision has read (in Oxigraph) and a
decision's input snapshot (in DuckDB) are each changed directly; ``--deep`` names the record and
what differs, and an untouched store passes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from pyoxigraph import Literal, NamedNode, RdfFormat

from enertwin.kg import namespaces as ns
from enertwin.kg.importers.simbench import grid_graph, grid_node, import_simbench, series_prefix
from enertwin.kg.provenance.ledger import Ledger, record_graph
from enertwin.kg.provenance.recorded_write import Source, replace_recorded
from enertwin.kg.provenance.verify import verify
from enertwin.kg.store import Store
from enertwin.reasoning.dispatch import DispatchRun, optimize

HV = "1-HV-mixed--2-sw"
EHV = "1-EHV-mixed--2-sw"
UNREAD = "1-HV-mixed--0-sw"  # imported after the decision: no decision has read it


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, DispatchRun]]:
    """A disk store: hv-mixed and ehv-mixed imported, one decision on them, then one more grid imported."""
    store = Store.open(tmp_path_factory.mktemp("deep") / "store")
    import_simbench(store, HV)
    import_simbench(store, EHV)
    run = optimize(store, grid_node(HV).value, HV, datetime(2016, 1, 14, 6), 8)
    import_simbench(store, UNREAD)
    yield store, run
    store.close()


def record_of_import(store: Store, code: str) -> str:
    """The record graph of the import of ``code`` (the one that generated its live version)."""
    rows = store.query(
        f"SELECT DISTINCT ?version ?record WHERE {{ ?record {ns.RECORDS_ACTIVITY} ?import . "
        f"?import {ns.PROV_GENERATED} ?version }}",
        {"version": store.live()[grid_graph(code)]},
    )
    seq = [r["record"].value.rsplit("/", 1)[1] for r in rows]  # type: ignore[union-attr]
    assert len(seq) == 1
    return record_graph(int(seq[0])).value


@contextmanager
def restored(store: Store, table: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """The series database, with ``table`` put back exactly as it was afterwards (floats do not divide back)."""
    db = store.series.connection
    db.execute(f"CREATE TEMP TABLE kept AS SELECT * FROM {table}")
    try:
        yield db
    finally:
        db.execute(f"DELETE FROM {table}")
        db.execute(f"INSERT INTO {table} SELECT * FROM kept")
        db.execute("DROP TABLE kept")


def stored_keys(store: Store) -> list[str]:
    """Every live series key."""
    return sorted(store.series.keys())


def test_an_untouched_store_passes(twin: tuple[Store, DispatchRun]) -> None:
    store, _ = twin
    verdict = verify(store, deep=True)
    assert verdict.ok, verdict.first_bad
    assert verdict.records == 5  # key, three imports, the decision


def test_an_import_record_carries_the_hashes_of_its_version_and_series(twin: tuple[Store, DispatchRun]) -> None:
    store, _ = twin
    version = store.live()[grid_graph(HV)]
    hashes = list(
        store.query(f"SELECT DISTINCT ?version ?h WHERE {{ ?version {ns.CONTENT_HASH} ?h }}", {"version": version})
    )
    assert [r["h"].value for r in hashes] == [store.version_hash(version, fresh=True)]  # type: ignore[union-attr]
    written = store.query(
        f"SELECT DISTINCT ?version ?key WHERE {{ ?import {ns.PROV_GENERATED} ?version , ?values . "
        f"?values a {ns.SERIES_VALUES} ; {ns.VALUES_KEY} ?key ; {ns.CONTENT_HASH} ?h }}",
        {"version": version},
    )
    keys = {r["key"].value for r in written}  # type: ignore[union-attr]
    assert keys == {k for k in stored_keys(store) if k.startswith(series_prefix(HV))}
    assert len(keys) > 10


def test_imported_profile_values_times_ten_are_found(twin: tuple[Store, DispatchRun]) -> None:
    store, _ = twin
    key = sorted(k for k in stored_keys(store) if k.startswith(series_prefix(HV)))[0]
    with restored(store, "series_values") as db:
        db.execute("UPDATE series_values SET value = value * 10 WHERE series_key = ?", [key])
        assert verify(store).ok  # the records themselves are untouched
        bad = verify(store, deep=True).first_bad
        assert bad is not None and bad.graph == record_of_import(store, HV)
        assert f"the values of series {key!r}" in bad.problem and "its import recorded" in bad.problem
    assert verify(store, deep=True).ok


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE series_values SET step = -1 WHERE series_key = $key AND step = 0",
        "INSERT INTO series_values SELECT * FROM series_values WHERE series_key = $key AND step = 0",
        "INSERT INTO series_values VALUES ($key, 1000000, 0.5)",
    ],
    ids=["moved", "twice", "added"],
)
def test_a_value_moved_stored_twice_or_added_is_found(twin: tuple[Store, DispatchRun], change: str) -> None:
    store, _ = twin
    key = sorted(k for k in stored_keys(store) if k.startswith(series_prefix(UNREAD)))[-1]
    with restored(store, "series_values") as db:
        db.execute(change, {"key": key})
        bad = verify(store, deep=True).first_bad
        assert bad is not None and bad.graph == record_of_import(store, UNREAD) and repr(key) in bad.problem
    assert verify(store, deep=True).ok


def test_a_changed_triple_of_a_graph_no_decision_read_is_found(twin: tuple[Store, DispatchRun]) -> None:
    store, _ = twin
    version = store.live()[grid_graph(UNREAD)]
    node = NamedNode(f"{ns.ID_BASE}simbench/{UNREAD}/tampered")
    extra = f"{node} {ns.RDFS_LABEL} {Literal('added behind the store')}"
    store.backend.update(f"INSERT DATA {{ GRAPH {version} {{ {extra} }} }}")
    try:
        assert verify(store).ok
        bad = verify(store, deep=True).first_bad
        assert bad is not None and bad.graph == record_of_import(store, UNREAD)
        assert f"<{version.value}> it generated (the live version of <{grid_graph(UNREAD).value}>)" in bad.problem
    finally:
        store.backend.update(f"DELETE DATA {{ GRAPH {version} {{ {extra} }} }}")
    assert verify(store, deep=True).ok


def test_a_changed_input_snapshot_is_found(twin: tuple[Store, DispatchRun]) -> None:
    store, run = twin
    with restored(store, "series_snapshots") as db:
        rows = db.execute("SELECT snapshot, series_key FROM series_snapshots WHERE step = 0 ORDER BY series_key")
        snapshot, key = rows.fetchall()[0]
        db.execute(
            "UPDATE series_snapshots SET value = value * 10 + 1 WHERE snapshot = ? AND series_key = ? AND step = 0",
            [snapshot, key],
        )
        assert verify(store).ok
        bad = verify(store, deep=True).first_bad
        assert bad is not None and bad.graph == run.record.graph.value
        assert f"the series snapshot <{ns.ID_BASE}snapshot/{snapshot}> it read does not hold" in bad.problem
        assert "its values were changed" in bad.problem
    assert verify(store, deep=True).ok


def test_a_removed_input_snapshot_is_found(twin: tuple[Store, DispatchRun]) -> None:
    store, run = twin
    with restored(store, "series_snapshots") as db:
        db.execute("DELETE FROM series_snapshots")
        bad = verify(store, deep=True).first_bad
        assert bad is not None and bad.graph == run.record.graph.value and "there is no series snapshot" in bad.problem
    assert verify(store, deep=True).ok


# -- the same on a small graph of one's own, written through replace_recorded ------------------------

GRAPH = NamedNode(ns.GRAPH_BASE + "test/profiles")


def _profiles(scale: float) -> pd.DataFrame:
    steps = np.arange(96, dtype=float)
    frame = pd.DataFrame({"test/a": steps * scale, "test/b": np.sin(steps) * scale})
    frame.loc[5, "test/b"] = np.nan  # a missing value is not stored, and not hashed
    return frame


def _write(store: Store, scale: float) -> None:
    data = f"<{ns.ID_BASE}test/source> {ns.RDFS_LABEL} {Literal(f'profiles at scale {scale}')} .\n"
    replace_recorded(
        Ledger(store),
        GRAPH,
        data.encode(),
        RdfFormat.N_TRIPLES,
        Source("test"),
        series=_profiles(scale),
        series_prefix="test/",
    )


def _times_ten(store: Store, key: str) -> None:
    """Tamper with the stored values of ``key`` in whichever database holds them."""
    from enertwin.kg.series_postgres import PostgresSeries

    if isinstance(store.series, PostgresSeries):
        store.series._db.execute(
            "UPDATE series_values SET points = ARRAY(SELECT v * 10 FROM unnest(points) WITH ORDINALITY AS u(v, i) "
            "ORDER BY i) WHERE series_key = %s",
            [key],
        )
    else:
        store.series.connection.execute("UPDATE series_values SET value = value * 10 WHERE series_key = ?", [key])


def test_a_replaced_import_is_checked_by_its_successor_only(store: Store) -> None:
    """The first import's series and version are gone after a second import: only the second's hashes hold."""
    _write(store, 1.0)
    first = store.live()[GRAPH]
    _write(store, 2.0)
    assert store.live()[GRAPH] != first
    assert verify(store, deep=True).ok
    _times_ten(store, "test/b")
    bad = verify(store, deep=True).first_bad
    assert bad is not None and bad.graph == record_graph(3).value and "'test/b'" in bad.problem


def test_the_hash_taken_at_import_is_the_stored_versions(store: Store, tmp_path: Path) -> None:
    """On every backend: literals the store puts in canonical form ("10.0"^^xsd:double) hash the same."""
    data = (
        f'<{ns.ID_BASE}test/a> {ns.ACTIVE_POWER} "10.0"^^<{ns.XSD_DOUBLE.value}> .\n'
        f'<{ns.ID_BASE}test/a> {ns.RDFS_LABEL} "caf\\u00e9 \\"quoted\\""@fr .\n'
    )
    replace_recorded(Ledger(store), GRAPH, data.encode(), RdfFormat.N_TRIPLES, Source("test"))
    version = store.live()[GRAPH]
    rows = list(
        store.query(f"SELECT DISTINCT ?version ?h WHERE {{ ?version {ns.CONTENT_HASH} ?h }}", {"version": version})
    )
    assert [r["h"].value for r in rows] == [store.version_hash(version, fresh=True)]  # type: ignore[union-attr]
    assert verify(store, deep=True).ok
