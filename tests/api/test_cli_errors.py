"""No traceback reaches a user: bad arguments are one line and the documented exit code."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from enertwin.api.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    "command",
    [["explain"], ["replay"], ["approve"], ["override"], ["audit", "proof"], ["audit", "export"]],
)
def test_an_argument_that_is_not_an_iri_is_bad_input(command: list[str], tmp_path: Path) -> None:
    ran = runner.invoke(app, [*command, "not an iri", "--store", str(tmp_path / "store")])
    assert ran.exit_code == 2, ran.output
    assert "is not an IRI" in ran.output
    assert "Traceback" not in ran.output
    assert ran.exception is None or isinstance(ran.exception, SystemExit)
    assert not (tmp_path / "store").exists()  # refused before the store was opened (or created)


def _recording_server() -> tuple[ThreadingHTTPServer, list[str]]:
    """A loopback HTTP server that only records who contacted it."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(500)
            self.end_headers()

        do_POST = do_GET

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


@pytest.mark.parametrize("pattern", ["SERVICE <{url}> {{ ?s ?p ?o }}", "SERVICE ?where {{ ?s ?p ?o }}"])
def test_query_makes_no_outgoing_request(pattern: str, tmp_path: Path) -> None:
    server, seen = _recording_server()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/sparql"
        query = tmp_path / "q.rq"
        query.write_text("SELECT * WHERE { " + pattern.format(url=url) + " }", encoding="utf-8")
        ran = runner.invoke(app, ["query", str(query), "--store", str(tmp_path / "store")])
    finally:
        server.shutdown()
    assert ran.exit_code == 2, ran.output
    assert ("SERVICE" in ran.output and "refused" in ran.output) or "--allow-service" in ran.output
    assert seen == []


def test_an_update_given_to_query_is_named_as_an_update(tmp_path: Path) -> None:
    query = tmp_path / "u.rq"
    query.write_text("INSERT DATA { <urn:a> <urn:b> <urn:c> }", encoding="utf-8")
    ran = runner.invoke(app, ["query", str(query), "--store", str(tmp_path / "store")])
    assert ran.exit_code == 2, ran.output
    assert "update" in ran.output and "CONSTRUCT" not in ran.output


def test_optimize_json_into_a_missing_folder_is_refused_before_solving(tmp_path: Path) -> None:
    store = tmp_path / "store"
    ran = runner.invoke(
        app,
        [
            "optimize",
            "--case",
            "hv-mixed",
            "--steps",
            "4",
            "--json",
            str(tmp_path / "nope" / "out.json"),
            "--store",
            str(store),
        ],
    )
    assert ran.exit_code == 2, ran.output
    assert "does not exist" in ran.output
    assert not store.exists()  # nothing was imported, solved or stored


def test_csv_and_table_output_neutralise_escapes_and_formulas(tmp_path: Path) -> None:
    query = tmp_path / "q.rq"
    query.write_text(
        'SELECT ?formula ?escape WHERE { BIND("=HYPERLINK(\\"http://x\\")" AS ?formula) '
        'BIND("\\u001b[2Jred" AS ?escape) }',
        encoding="utf-8",
    )
    csv_run = runner.invoke(app, ["query", str(query), "--store", str(tmp_path / "store"), "--format", "csv"])
    assert csv_run.exit_code == 0, csv_run.output
    assert "\x1b" not in csv_run.output
    assert "'=HYPERLINK" in csv_run.output and "\\x1b[2Jred" in csv_run.output
    table_run = runner.invoke(app, ["query", str(query), "--store", str(tmp_path / "store")])
    assert table_run.exit_code == 0, table_run.output
    assert "\x1b[2J" not in table_run.output and "\\x1b[2Jred" in table_run.output


def _default_costs(tmp_path: Path) -> str:
    from enertwin.kg.store import default_cost_table

    path = tmp_path / "costs.ttl"
    path.write_bytes(default_cost_table().replace(b"6.0", b"7.0", 1))
    return str(path)


def test_an_empty_cost_file_is_named_as_empty(tmp_path: Path) -> None:
    empty = tmp_path / "empty.ttl"
    empty.write_text("# nothing here\n", encoding="utf-8")
    ran = runner.invoke(app, ["costs", "load", str(empty), "--store", str(tmp_path / "store")])
    assert ran.exit_code == 2, ran.output
    assert "holds no triples" in ran.output and "violation" not in ran.output


@pytest.mark.parametrize(
    ("name", "content"),
    [("ed25519.pem", b"-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n"), ("identity.json", b"{")],
)
def test_a_corrupt_key_or_identity_file_is_bad_input(
    name: str, content: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from enertwin.kg.provenance.keys import IDENTITY_FILE, KEY_FILE, Identity, Signer

    assert name in (KEY_FILE, IDENTITY_FILE)
    home = tmp_path / "home"
    Signer.create(home / "keys", Identity("someone", "somewhere"))
    (home / "keys" / name).write_bytes(content)
    monkeypatch.setenv("ENERTWIN_HOME", str(home))
    ran = runner.invoke(app, ["costs", "load", _default_costs(tmp_path), "--store", str(tmp_path / "store")])
    assert ran.exit_code == 2, ran.output
    assert name in ran.output.replace("\n", "")
    assert ran.exception is None or isinstance(ran.exception, SystemExit)


def test_an_emptied_record_is_named_as_empty(tmp_path: Path) -> None:
    from enertwin.kg.provenance.ledger import record_graph
    from enertwin.kg.store import Store

    store = str(tmp_path / "store")
    assert runner.invoke(app, ["costs", "load", _default_costs(tmp_path), "--store", store]).exit_code == 0
    with Store.open(store) as opened:
        opened.backend.update(f"DELETE WHERE {{ GRAPH {opened.live()[record_graph(2)]} {{ ?s ?p ?o }} }}")
    ran = runner.invoke(app, ["audit", "verify", "--store", store])
    assert ran.exit_code == 7, ran.output
    assert "record 2" in ran.output and "empty" in ran.output and "reordered" not in ran.output


def _interruptible() -> None:
    """In the child before exec: SIGINT delivered and not ignored, whatever the test runner inherited.

    A shell's background job starts with SIGINT ignored, and Python then never raises KeyboardInterrupt.
    """
    import signal

    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait_until_open(pid: int, store: Path) -> None:
    """Until process ``pid`` has files of ``store`` open: a signal before that hits Python's start-up."""
    import time

    import psutil

    deadline = time.monotonic() + 120
    child = psutil.Process(pid)
    while time.monotonic() < deadline:
        try:
            if any(f.path.startswith(str(store)) for f in child.open_files()):
                return
        except psutil.NoSuchProcess:
            return
        time.sleep(0.05)
    pytest.fail(f"the import never opened the store {store}")


def test_ctrl_c_during_an_import_is_one_line_and_leaves_the_store_whole(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    store = tmp_path / "store"
    assert runner.invoke(app, ["costs", "load", _default_costs(tmp_path), "--store", str(store)]).exit_code == 0
    enertwin = str(Path(sys.executable).parent / "enertwin")
    process = subprocess.Popen(
        [enertwin, "import", "simbench", "ehv-mixed", "--store", str(store)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_interruptible,
    )
    _wait_until_open(process.pid, store)  # started up (seconds on a loaded machine), the store opened
    time.sleep(1)  # inside the import of the EHV grid (it takes longer than that)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "interrupted" in stderr
    assert runner.invoke(app, ["audit", "verify", "--store", str(store)]).exit_code == 0
    graphs = runner.invoke(app, ["graphs", "--store", str(store), "--json"])
    assert "simbench" not in graphs.output  # the import did not half land
