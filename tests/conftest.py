"""Shared fixtures: a store on each of the three backends, started and stopped by the tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from pyoxigraph import Literal

from enertwin.kg import namespaces as ns
from enertwin.kg.provenance.keys import Identity, Signer
from enertwin.kg.store import META_GRAPH, STORE_NODE, Store

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session", autouse=True)
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Signer]:
    """Every test signs with one test key in a private ENERTWIN_HOME (never the user's own)."""
    home = tmp_path_factory.mktemp("enertwin-home")
    previous = os.environ.get("ENERTWIN_HOME")
    os.environ["ENERTWIN_HOME"] = str(home)
    yield Signer.create(home / "keys", Identity("test-operator", "enertwin tests"))
    if previous is None:
        os.environ.pop("ENERTWIN_HOME", None)
    else:
        os.environ["ENERTWIN_HOME"] = previous


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def oxigraph_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `oxigraph serve` on a free loopback port, for the remote backend."""
    beside_python = Path(sys.executable).parent / "oxigraph"
    binary = str(beside_python) if beside_python.exists() else shutil.which("oxigraph")
    if binary is None:
        pytest.fail("the `oxigraph` server (PyPI package oxigraph) is not installed")
    port = _free_port()
    location = tmp_path_factory.mktemp("oxigraph-server")
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
    yield url
    process.terminate()
    process.wait(timeout=10)


def _clear_remote(url: str) -> None:
    response = httpx.post(f"{url}/update", data={"update": "DROP ALL"}, timeout=30)
    response.raise_for_status()


@pytest.fixture(params=["memory", "disk", "remote"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh, empty store on each backend; the same tests run on all three."""
    if request.param == "memory":
        opened = Store.open(None)
    elif request.param == "disk":
        opened = Store.open(tmp_path / "store")
    else:
        url = request.getfixturevalue("oxigraph_server")
        _clear_remote(url)
        opened = Store.open(url, series_path=tmp_path / "series.duckdb")
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
