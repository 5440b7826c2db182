"""A shared store's series in PostgreSQL: one twin for every client, whatever URL it uses, no password shown."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import numpy as np
import pandas as pd
import pytest
from pyoxigraph import NamedNode

from enertwin.kg import namespaces as ns
from enertwin.kg.errors import InputError, StoreError
from enertwin.kg.locations import endpoint_key, masked
from enertwin.kg.locations import series_database as parse_series_url
from enertwin.kg.series_postgres import PostgresSeries
from enertwin.kg.series_snapshot import RecordingSeries, SnapshotSeries
from enertwin.kg.store import Store

DATA = Path(__file__).resolve().parent.parent / "data"
PORTFOLIO = NamedNode(ns.GRAPH_BASE + "test/portfolio")


def _spellings(url: str) -> tuple[str, str]:
    """``http://127.0.0.1:PORT`` as ``http://localhost:PORT`` and ``http://127.0.0.1:PORT/``."""
    port = urlsplit(url).port
    return f"http://localhost:{port}", f"http://127.0.0.1:{port}/"


def _without_password(url: str) -> tuple[str, str]:
    """The series URL without its password, and the password."""
    parts = urlsplit(url)
    assert parts.password is not None
    return url.replace(f":{parts.password}@", "@"), parts.password


def _write_portfolio(store: Store, pv: float) -> None:
    store.series.replace(pd.DataFrame({"prices/day-ahead": np.full(24, 40.0)}), "prices/")
    store.replace_graph(
        PORTFOLIO,
        (DATA / "good_portfolio.ttl").read_bytes() + f"\n# pv {pv}\n".encode(),
        series=pd.DataFrame({"profile/PV1": np.full(96, pv)}),
        series_prefix="profile/",
    )


def test_postgres_series_stage_promote_read_like_duckdb(series_database: str) -> None:
    series = PostgresSeries(parse_series_url(series_database))
    frame = pd.DataFrame({"p/a": [1.0, 2.0, 0.1 + 0.2], "p/b": [np.nan, 5.0, 1e-300], 'p/c,"odd"\tkey': [7.0, 8, 9]})
    series.stage("urn:v1", frame, "p/")
    assert series.staged() == {"urn:v1": 8} and series.count() == 0  # staged values are read by no one
    assert series.promote("urn:v1") == 8 and series.staged() == {}
    assert series.read("p/a").tolist() == [1.0, 2.0, 0.1 + 0.2]  # floats exactly
    assert series.read("p/b").tolist() == [5.0, 1e-300]  # NaN is no value
    assert series.read("p/a", 1, 1).tolist() == [2.0]
    assert {k: v.tolist() for k, v in series.read_many(["p/a", 'p/c,"odd"\tkey'], 2, 5).items()} == {
        "p/a": [0.1 + 0.2],
        'p/c,"odd"\tkey': [9.0],
    }
    assert series.missing(["p/a", "p/z"]) == ["p/z"] and series.has("p/b") and not series.has("p/z")
    with pytest.raises(InputError, match="no time series with key 'p/z'"):
        series.read("p/z")
    series.stage("urn:v2", pd.DataFrame({"p/a": [4.0]}), "p/")
    series.discard("urn:v2")
    assert series.promote("urn:v2") == 0 and series.read("p/a").tolist() == [1.0, 2.0, 0.1 + 0.2]
    assert series.replace(pd.DataFrame({"p/d": [3.0]}), "p/") == 1 and series.keys() == {"p/d": 1}
    series.delete("p/")
    assert series.count() == 0
    series.cache_leaves(2, b"x" * 64)
    assert series.cached_leaves() == b"x" * 64
    series.close()


def test_series_snapshots_round_trip_through_postgres(series_database: str) -> None:
    series = PostgresSeries(parse_series_url(series_database))
    series.replace(pd.DataFrame({"p/a": np.linspace(0, 1, 7) / 3}), "p/")
    recorder = RecordingSeries(series)
    recorder.read("p/a", 2, 3)
    digest = recorder.save()
    assert recorder.save() == digest and series.has_snapshot(digest)
    replayed = SnapshotSeries(series, digest)  # checks the values still hash to the name
    assert replayed.read("p/a", 2, 3).tolist() == (np.linspace(0, 1, 7) / 3)[2:5].tolist()
    series.close()


def test_two_spellings_of_one_remote_store_see_one_twins_series(
    oxigraph_server: str, series_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpx.post(f"{oxigraph_server}/update", data={"update": "DROP ALL"}, timeout=30).raise_for_status()
    first, second = _spellings(oxigraph_server)
    location, password = _without_password(series_database)
    monkeypatch.setenv("ENERTWIN_SERIES", series_database)  # the first client names the series database
    with Store.open(first) as store:
        _write_portfolio(store, 0.5)
    monkeypatch.delenv("ENERTWIN_SERIES")
    monkeypatch.setenv("PGPASSWORD", password)  # a later client finds it in the store; libpq has its password
    with Store.open(second) as other:
        assert other.series.location == location
        assert other.series.read("profile/PV1").tolist() == [0.5] * 96
        _write_portfolio(other, 0.7)
    with Store.open(first) as store:
        assert store.series.read("profile/PV1").tolist() == [0.7] * 96
        assert store.check_all() == []


def test_a_store_keeps_the_series_database_it_was_created_with(
    oxigraph_server: str, series_database: str, postgres_server: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    httpx.post(f"{oxigraph_server}/update", data={"update": "DROP ALL"}, timeout=30).raise_for_status()
    Store.open(oxigraph_server, series_database=series_database).close()
    other = series_database.rsplit("/", 1)[0] + "/postgres"
    with pytest.raises(InputError, match=r"keeps its series in postgresql://enertwin@127\.0\.0\.1") as refused:
        Store.open(oxigraph_server, series_database=other)
    assert postgres_server["password"] not in str(refused.value)
    respelt = series_database.replace("postgresql://", "postgres://").replace("127.0.0.1", "localhost")
    Store.open(oxigraph_server + "/", series_database=respelt).close()  # the same database, spelt otherwise
    httpx.post(f"{oxigraph_server}/update", data={"update": "DROP ALL"}, timeout=30).raise_for_status()
    monkeypatch.setenv("ENERTWIN_HOME", str(Path(os.environ["ENERTWIN_HOME"]) / "kept"))
    Store.open(oxigraph_server).close()  # created without one: series per client
    with pytest.raises(InputError, match="created without a series database"):
        Store.open(oxigraph_server, series_database=series_database)


def test_credentials_are_never_in_file_names_or_messages(
    oxigraph_server: str, series_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpx.post(f"{oxigraph_server}/update", data={"update": "DROP ALL"}, timeout=30).raise_for_status()
    home = tmp_path / "home"
    monkeypatch.setenv("ENERTWIN_HOME", str(home))
    port = urlsplit(oxigraph_server).port
    with Store.open(f"http://ada:s3cret-http@127.0.0.1:{port}/") as store:  # a store without a series database
        _write_portfolio(store, 0.5)
    with Store.open(f"http://LOCALHOST:{port}") as same:  # another spelling: the same per-client file
        assert same.series.read("profile/PV1").tolist() == [0.5] * 96
    names = [p.name for p in (home / "series").iterdir()]
    assert len(names) == 1 and "s3cret" not in names[0] and "ada" not in names[0]
    with pytest.raises(StoreError) as unreachable:
        Store.open(f"http://ada:s3cret-http@127.0.0.1:{_closed_port()}")
    assert "s3cret" not in str(unreachable.value) and "ada:***@127.0.0.1" in str(unreachable.value)

    httpx.post(f"{oxigraph_server}/update", data={"update": "DROP ALL"}, timeout=30).raise_for_status()
    location, password = _without_password(series_database)
    with Store.open(oxigraph_server, series_database=series_database) as store:
        assert password not in store.canonical_dump().decode()  # the store records where, not the password
        assert f'"{location}"' in store.canonical_dump().decode()
    wrong = series_database.replace(f":{password}@", ":not-the-password@")
    with pytest.raises(StoreError) as refused:
        Store.open(oxigraph_server, series_database=wrong)
    assert "not-the-password" not in str(refused.value) and location in str(refused.value)
    cli = subprocess.run(
        [sys.executable, "-m", "enertwin.api.cli", "graphs", "--store", oxigraph_server],
        env={**os.environ, "ENERTWIN_SERIES": wrong},
        capture_output=True,
        text=True,
    )
    assert cli.returncode == 3 and "not-the-password" not in cli.stderr + cli.stdout and "Traceback" not in cli.stderr


def test_url_normal_forms() -> None:
    assert endpoint_key("http://localhost:7878") == endpoint_key("http://127.0.0.1:7878/") == "http://127.0.0.1:7878"
    assert endpoint_key("HTTP://u:p@Example.org:80/sparql/") == "http://example.org/sparql"
    assert masked("https://u:p%40ss@host/x") == "https://u:***@host/x" and masked("http://h:1") == "http://h:1"
    parsed = parse_series_url("postgres://Ada:pw@LocalHost/twin?sslmode=disable")
    assert (parsed.location, parsed.password) == ("postgresql://Ada@127.0.0.1/twin?sslmode=disable", "pw")
    assert parse_series_url("postgresql://ada@127.0.0.1:5432/twin?password=x").location == (
        "postgresql://ada@127.0.0.1/twin"
    )
    for bad in ("mysql://h/db", "postgresql://h", "postgresql:///db", "postgresql://h/a/b"):
        with pytest.raises(InputError, match="series database"):
            parse_series_url(bad)


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
