"""`enertwin simulate` on the command line: KPIs, report files; bad options of it and `shadow report` exit 2."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from enertwin.api.cli import app

runner = CliRunner()
SHORT = ["--case", "hv-mixed", "--start", "2016-01-14T00:00", "--days", str(3 / 96), "--horizon", "24"]


def test_simulate_writes_kpis_and_a_report(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    kpis, report = tmp_path / "kpis.json", tmp_path / "report"
    options = [*SHORT, "--noise", "0.02", "--seed", "3", "--json", str(kpis), "--report", str(report)]
    result = runner.invoke(app, ["simulate", *options, "--store", store])
    assert result.exit_code == 0, result.output
    document = json.loads(kpis.read_text())
    assert document["kpis"]["steps"] == 3 and len(document["decision_hashes"]) == 3
    assert document["kpis"]["regret_eur"] is not None
    assert {p.name for p in report.iterdir()} == {
        "index.html",
        "dispatch.png",
        "state_of_charge.png",
        "price.png",
        "timeline.png",
    }
    assert "regret_eur" in (report / "index.html").read_text()


def test_bad_options_exit_2_before_anything_runs(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    for bad in (["--days", "0"], ["--noise", "-1"], ["--dropout", "1.5"]):
        result = runner.invoke(
            app, ["simulate", "--case", "hv-mixed", "--start", "2016-01-14T00:00", *bad, "--store", store]
        )
        assert result.exit_code == 2, (bad, result.output)
    shadow = runner.invoke(app, ["shadow", "report", *SHORT, "--baseline", "coin-toss", "--store", store])
    assert shadow.exit_code == 2 and "unknown baseline" in shadow.output
    assert not Path(store).exists()
