"""Readers of an embedded store are not locked out by a writer, and a read-only copy (an archive) still opens."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from enertwin.api.cli import app

runner = CliRunner()
CODE = "1-LV-rural1--0-sw"
ENERTWIN = str(Path(sys.executable).parent / "enertwin")


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A store with one imported grid and one decision, and the decision's IRI."""
    store = tmp_path_factory.mktemp("readers") / "store"
    ran = runner.invoke(app, ["optimize", "--case", CODE, "--steps", "4", "--store", str(store)])
    assert ran.exit_code == 0, ran.output
    decision = re.search(r"decision:\s+(\S+)", ran.output)
    assert decision is not None, ran.output
    return store, decision.group(1)


def _run(*args: str, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*prefix, ENERTWIN, *args], capture_output=True, text=True, timeout=300, env=os.environ)


def test_readers_run_while_an_import_writes_the_store(tmp_path: Path) -> None:
    store = tmp_path / "store"
    assert runner.invoke(app, ["import", "simbench", CODE, "--store", str(store)]).exit_code == 0
    query = tmp_path / "q.rq"
    query.write_text("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", encoding="utf-8")
    writer = subprocess.Popen(
        [ENERTWIN, "import", "simbench", "ehv-mixed", "--store", str(store)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(5)  # the writer has started and holds the graph store open (the import takes longer)
        commands = [
            ["audit", "verify", "--store", str(store)],
            ["graphs", "--store", str(store), "--json"],
            ["query", str(query), "--store", str(store), "--format", "json"],
            ["validate", "--store", str(store), "--json"],
        ]
        started = [
            subprocess.Popen([ENERTWIN, *c], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for c in commands
        ]
        readers = [(r.wait(timeout=300), *r.communicate()) for r in started]
        still_writing = writer.poll() is None
        _, stderr = writer.communicate(timeout=600)
    finally:
        if writer.poll() is None:
            writer.kill()
    assert writer.returncode == 0, stderr
    for code, _, errors in readers:
        assert code == 0, errors
    if not still_writing:
        pytest.skip("the import finished before the readers did; they did not run beside it")
    assert "EHV-mixed" not in readers[1][1]  # a reader sees the store as it was, not a half import
    assert _run("audit", "verify", "--store", str(store)).returncode == 0


HOLD_SERIES = """
import sys, time
from pathlib import Path
from enertwin.kg.series import SeriesStore
series = SeriesStore(Path(sys.argv[1]))
with series.session() as db:
    db.execute("BEGIN TRANSACTION")
    db.execute("DELETE FROM ledger_leaf_cache")
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
    db.execute("ROLLBACK")
"""


def test_a_reader_of_series_waits_for_a_series_write_to_finish(made: tuple[Path, str], tmp_path: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(made[0], store)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_SERIES, str(store / "series.duckdb"), "4"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        reader = _run("explain", made[1], "--store", str(store))
        assert holder.wait(timeout=60) == 0
    finally:
        if holder.poll() is None:
            holder.kill()
    assert reader.returncode == 0, reader.stderr


@pytest.fixture
def archive(made: tuple[Path, str]) -> Iterator[tuple[Path, tuple[str, ...]]]:
    """A copy of the store that cannot be written: ``chmod -R a-w``, and for root a read-only bind mount.

    Yields the copy and the command prefix that runs a command where it cannot be written.
    """
    folder = Path(tempfile.mkdtemp(prefix="enertwin-archive-"))
    copy = folder / "store"
    shutil.copytree(made[0], copy)
    for path in [copy, *copy.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)
    prefix: tuple[str, ...] = ()
    if os.geteuid() == 0:  # chmod does not stop root: mount the copy read-only in a private mount namespace
        unshare = shutil.which("unshare")
        probe = ["sh", "-c", f'mount --bind "{copy}" "{copy}" && mount -o remount,ro,bind "{copy}" && exec "$@"', "-"]
        if unshare is None or subprocess.run([unshare, "-m", *probe, "true"], capture_output=True).returncode != 0:
            _writable_again(copy)
            shutil.rmtree(folder)
            pytest.skip("running as root, where chmod does not restrict, and no private read-only mount is possible")
        prefix = (unshare, "-m", *probe)
    try:
        yield copy, prefix
    finally:
        _writable_again(copy)
        shutil.rmtree(folder)


def _writable_again(copy: Path) -> None:
    for path in [copy, *copy.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)


@pytest.mark.parametrize(
    "command",
    [
        ["graphs"],
        ["query", "QUERY"],
        ["audit", "verify"],
        ["audit", "verify", "--deep"],
        ["audit", "proof", "https://w3id.org/enertwin/graph/record/1"],
        ["report", "decisions"],
        ["report", "decision-inputs", "--decision", "DECISION"],
        ["explain", "DECISION"],
        ["validate"],
        ["costs", "show"],
    ],
)
def test_a_read_only_copy_still_opens_for_reading(
    command: list[str], archive: tuple[Path, tuple[str, ...]], made: tuple[Path, str]
) -> None:
    copy, prefix = archive
    query = copy.parent / "q.rq"
    query.write_text("SELECT ?g WHERE { ?g a ?t } LIMIT 3", encoding="utf-8")
    filled = [{"QUERY": str(query), "DECISION": made[1]}.get(word, word) for word in command]
    ran = _run(*filled, "--store", str(copy), prefix=prefix)
    assert ran.returncode == 0, ran.stderr
    assert "Traceback" not in ran.stderr


def test_a_read_only_copy_refuses_a_write_in_one_line(archive: tuple[Path, tuple[str, ...]]) -> None:
    copy, prefix = archive
    ran = _run("approve", "https://w3id.org/enertwin/id/decision/x", "--store", str(copy), prefix=prefix)
    assert ran.returncode == 3, ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1 and "cannot be written" in ran.stderr
