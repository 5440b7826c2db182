"""`enertwin optimize` on the command line: the JSON it writes passes the independent checker; bad options exit 2."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from enertwin.api.cli import app
from enertwin.kg.store import Store


def _reference_module() -> object:
    """tests/reasoning/reference_dispatch.py, the independent checker (tests/ is not a package)."""
    name = "reference_dispatch_for_cli_tests"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "reasoning" / "reference_dispatch.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # its dataclasses look their module up while being built
        spec.loader.exec_module(module)
    return sys.modules[name]


ref = _reference_module()
runner = CliRunner()
COUNT_DECISIONS = """PREFIX et: <https://w3id.org/enertwin/ontology#>
SELECT (COUNT(?d) AS ?n) WHERE { ?d a et:Decision }
"""


@dataclass(frozen=True)
class CliRun:
    store: Path
    json_path: Path
    result: Result


def decisions(location: Path) -> int:
    with Store.open(location) as store:
        return int(next(iter(store.query(COUNT_DECISIONS)))["n"].value)


@pytest.fixture(scope="module")
def hv_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliRun]:
    """`enertwin optimize --case hv-mixed` into a new store: it imports the case and its price grid itself."""
    folder = tmp_path_factory.mktemp("cli-optimize")
    store, json_path = folder / "store", folder / "hv.json"
    result = runner.invoke(app, ["optimize", "--case", "hv-mixed", "--json", str(json_path), "--store", str(store)])
    yield CliRun(store, json_path, result)


def test_optimize_writes_a_schedule_the_checker_accepts(hv_run: CliRun) -> None:
    assert hv_run.result.exit_code == 0, hv_run.result.output
    doc = json.loads(hv_run.json_path.read_text(encoding="utf-8"))
    data = ref.load_reference("hv-mixed", "2016-01-14T00:00", 96)  # the CLI's defaults
    assert doc["case"] == "1-HV-mixed--2-sw"
    assert doc["status"] in ("OPTIMAL", "FEASIBLE")
    assert ref.check_schedule(doc, data) == []
    assert doc["objective_eur"] == pytest.approx(ref.schedule_cost(doc, data), rel=1e-6)
    assert doc["best_bound_eur"] <= doc["objective_eur"]
    assert (doc["objective_eur"] - doc["best_bound_eur"]) / abs(doc["objective_eur"]) <= 1e-4
    assert doc["decision"] in hv_run.result.output
    assert decisions(hv_run.store) == 1


def test_zero_steps_exits_2(hv_run: CliRun) -> None:
    assert hv_run.result.exit_code == 0
    result = runner.invoke(app, ["optimize", "--case", "hv-mixed", "--steps", "0", "--store", str(hv_run.store)])
    assert result.exit_code == 2, result.output
    assert "steps must be a positive number" in result.output
    assert decisions(hv_run.store) == 1


def test_start_outside_the_profiles_exits_2(hv_run: CliRun) -> None:
    assert hv_run.result.exit_code == 0
    result = runner.invoke(
        app, ["optimize", "--case", "hv-mixed", "--start", "2017-06-01T00:00", "--store", str(hv_run.store)]
    )
    assert result.exit_code == 2, result.output
    assert "outside the profiles" in result.output


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (["--case", "hv-mixed", "--start", "garbage"], ["--start", "'garbage'"]),
        (["--case", "nope"], ["unknown SimBench code 'nope'"]),
        (["--case", "hv-mixed", "--time-limit", "-1"], ["--time-limit"]),
        (["--case", "hv-mixed", "--workers", "-2"], ["--workers"]),
        (["--case", "hv-mixed", "--seed", "-1"], ["--seed"]),
        (["--case", "hv-mixed", "--deterministic-time", "0"], ["--deterministic-time"]),
    ],
    ids=["start-garbage", "unknown-case", "negative-time-limit", "negative-workers", "negative-seed", "zero-dtime"],
)
def test_bad_options_exit_2_before_touching_the_store(tmp_path: Path, options: list[str], words: list[str]) -> None:
    store = tmp_path / "store"
    result = runner.invoke(app, ["optimize", *options, "--store", str(store)])
    assert result.exit_code == 2, result.output
    for word in words:
        assert word in result.output, result.output
    assert not store.exists()


def test_gap_of_one_names_the_gap_option(tmp_path: Path) -> None:
    store = tmp_path / "store"
    result = runner.invoke(app, ["optimize", "--case", "hv-mixed", "--gap", "1", "--store", str(store)])
    assert result.exit_code == 2, result.output
    assert not store.exists()
    assert "--gap" in result.output, result.output
