"""A damaged or lost ``series.duckdb``, a malformed proof file: one line, the documented exit code, nothing changed."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pyoxigraph
import pytest
from typer.testing import CliRunner, Result

from enertwin.api.cli import app

runner = CliRunner()
CODE = "1-LV-rural1--0-sw"


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A store with one imported grid and one decision (its schedule series too), and the decision's IRI."""
    store = tmp_path_factory.mktemp("series-file") / "store"
    assert runner.invoke(app, ["import", "simbench", CODE, "--store", str(store)]).exit_code == 0
    ran = runner.invoke(app, ["optimize", "--case", CODE, "--steps", "4", "--store", str(store)])
    assert ran.exit_code == 0, ran.output
    decision = re.search(r"decision:\s+(\S+)", ran.output)
    assert decision is not None, ran.output
    return store, decision.group(1)


def _copy(made: tuple[Path, str], tmp_path: Path) -> Path:
    copy = tmp_path / "store"
    shutil.copytree(made[0], copy)
    return copy


def _graph_hash(store: Path) -> str:
    """SHA-256 of every quad of the graph store, read without the series file."""
    dump = pyoxigraph.Store.read_only(str(store / "graph")).dump(format=pyoxigraph.RdfFormat.N_QUADS) or b""
    return hashlib.sha256(b"\n".join(sorted(dump.splitlines()))).hexdigest()


def _one_line(ran: Result, code: int, *words: str) -> None:
    assert ran.exit_code == code, ran.output
    assert ran.exception is None or isinstance(ran.exception, SystemExit), ran.exception
    lines = ran.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in ran.output, ran.output
    for word in words:
        assert word in lines[0], lines[0]


def _commands(store: Path, decision: str, tmp_path: Path) -> dict[str, list[str]]:
    query = tmp_path / "q.rq"
    query.write_text("SELECT ?g WHERE { ?g a ?t } LIMIT 3", encoding="utf-8")
    at = ["--store", str(store)]
    return {
        "graphs": ["graphs", *at],
        "query": ["query", str(query), *at],
        "validate": ["validate", *at],
        "optimize": ["optimize", "--case", CODE, "--steps", "4", *at],
        "audit verify": ["audit", "verify", *at],
        "audit verify --deep": ["audit", "verify", "--deep", *at],
        "explain": ["explain", decision, *at],
        "replay": ["replay", decision, *at],
        "report": ["report", "decisions", *at],
    }


@pytest.mark.parametrize(
    "command", ["graphs", "query", "validate", "optimize", "audit verify", "explain", "replay", "report"]
)
def test_a_truncated_series_file_cannot_be_opened(command: str, made: tuple[Path, str], tmp_path: Path) -> None:
    store = _copy(made, tmp_path)
    series = store / "series.duckdb"
    with series.open("r+b") as handle:
        handle.truncate(series.stat().st_size // 2)
    before, graph = series.read_bytes(), _graph_hash(store)
    ran = runner.invoke(app, _commands(store, made[1], tmp_path)[command])
    _one_line(ran, 3, "series.duckdb", "truncated")
    assert series.read_bytes() == before and _graph_hash(store) == graph  # nothing changed


@pytest.mark.parametrize("command", ["validate", "optimize", "audit verify --deep", "explain", "replay"])
def test_a_deleted_series_file_is_missing_evidence_and_not_recreated(
    command: str, made: tuple[Path, str], tmp_path: Path
) -> None:
    store = _copy(made, tmp_path)
    (store / "series.duckdb").unlink()
    graph = _graph_hash(store)
    ran = runner.invoke(app, _commands(store, made[1], tmp_path)[command])
    _one_line(ran, 7, "series.duckdb", "missing")
    assert not (store / "series.duckdb").exists()
    assert _graph_hash(store) == graph


@pytest.mark.parametrize("command", ["graphs", "query", "audit verify"])
def test_commands_that_read_only_the_graph_work_without_the_series_file(
    command: str, made: tuple[Path, str], tmp_path: Path
) -> None:
    store = _copy(made, tmp_path)
    (store / "series.duckdb").unlink()
    ran = runner.invoke(app, _commands(store, made[1], tmp_path)[command])
    assert ran.exit_code == 0, ran.output
    assert not (store / "series.duckdb").exists()


@pytest.fixture(scope="module")
def proof(made: tuple[Path, str]) -> dict[str, object]:
    """The inclusion proof of the store's first record, as `audit proof` prints it."""
    record = "https://w3id.org/enertwin/graph/record/1"
    ran = runner.invoke(app, ["audit", "proof", record, "--store", str(made[0])])
    assert ran.exit_code == 0, ran.output
    return dict(json.loads(ran.output))


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("missing", "cannot be read"),
        ("folder", "folder"),
        ("not-json", "not JSON"),
        ("empty", "not JSON"),
        ("binary", "not text"),
        ("a-list", "not a JSON object"),
        ("other-object", "missing field"),
        ("extra-field", "unknown field"),
        ("index-as-text", "'leaf_index' must be an integer"),
        ("path-of-numbers", "'audit_path' must be a list of hex strings"),
        ("key-null", "'public_key' must be a string"),
        ("size-true", "'tree_size' must be an integer"),
    ],
)
def test_check_proof_with_a_malformed_file_is_bad_input(
    name: str, why: str, proof: dict[str, object], tmp_path: Path
) -> None:
    path = tmp_path / name
    contents: dict[str, bytes | object] = {
        "not-json": b"proof: yes\n",
        "empty": b"",
        "binary": bytes(range(255, 0, -1)),
        "a-list": [proof],
        "other-object": {"hello": "world"},
        "extra-field": {**proof, "extra": 1},
        "index-as-text": {**proof, "leaf_index": "0"},
        "path-of-numbers": {**proof, "audit_path": [1, 2]},
        "key-null": {**proof, "public_key": None},
        "size-true": {**proof, "tree_size": True},
    }
    if name == "folder":
        path.mkdir()
    elif name in contents:
        content = contents[name]
        path.write_bytes(content if isinstance(content, bytes) else json.dumps(content).encode())
    ran = runner.invoke(app, ["audit", "check-proof", str(path)])
    _one_line(ran, 2, name, why)


def test_check_proof_still_checks_a_good_proof(proof: dict[str, object], tmp_path: Path) -> None:
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(proof), encoding="utf-8")
    assert runner.invoke(app, ["audit", "check-proof", str(path)]).exit_code == 0
