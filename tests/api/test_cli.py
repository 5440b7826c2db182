"""The `enertwin` command line, run as a user would: exit codes, formats, errors."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from enertwin.api.cli import app
from enertwin.kg.store import Store

runner = CliRunner()
COUNT_LOADS = """PREFIX et: <https://w3id.org/enertwin/ontology#>
SELECT (COUNT(?l) AS ?loads) WHERE { ?l a et:Load }
"""


def test_demo_imports_and_summarises() -> None:
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    assert "1-HV-mixed--2-sw" in result.output
    assert "Portfolio by kind" in result.output
    assert "renewable" in result.output and "124" in result.output


def test_import_query_and_formats(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    imported = runner.invoke(app, ["import", "simbench", "hv-mixed", "--store", store, "--json"])
    assert imported.exit_code == 0, imported.output
    summary = json.loads(imported.output)
    assert summary["counts"]["load"] == 58
    query = tmp_path / "loads.rq"
    query.write_text(COUNT_LOADS)
    as_json = runner.invoke(app, ["query", str(query), "--store", store, "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output) == [{"loads": 58}]
    as_csv = runner.invoke(app, ["query", str(query), "--store", store, "--format", "csv"])
    assert as_csv.output.splitlines() == ["loads", "58"]
    as_table = runner.invoke(app, ["query", str(query), "--store", store])
    assert "58" in as_table.output


def test_unknown_code_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    store = tmp_path / "store"
    result = runner.invoke(app, ["import", "simbench", "no-such-grid", "--store", str(store)])
    assert result.exit_code == 2
    assert "unknown SimBench code 'no-such-grid'" in result.output
    assert not store.exists()


def test_unreadable_store_path_exits_3(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = runner.invoke(app, ["import", "simbench", "hv-mixed", "--store", str(blocker)])
    assert result.exit_code == 3
    assert "is a file" in result.output


def test_store_of_another_version_exits_4(tmp_path: Path, stamp_version) -> None:
    location = tmp_path / "store"
    stamp_version(location, "9.9.9")
    result = runner.invoke(app, ["import", "simbench", "hv-mixed", "--store", str(location)])
    assert result.exit_code == 4
    assert "9.9.9" in result.output


def test_bad_cost_model_exits_5_and_names_the_rule(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    table = (Path(__file__).resolve().parents[2] / "kg" / "cost_table.ttl").read_text()
    bad = tmp_path / "costs.ttl"
    bad.write_text(table.replace('et:minUpTime "8.0"', 'et:minUpTime "-8.0"'))
    result = runner.invoke(app, ["costs", "load", str(bad), "--store", store])
    assert result.exit_code == 5, result.output
    assert "costs/reference/lignite" in result.output
    shown = runner.invoke(app, ["costs", "show", "--store", store, "--json"])
    assert {row["fuel"]: row["min_up_h"] for row in json.loads(shown.output)}["lignite"] == 8.0


def test_missing_query_file_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["query", str(tmp_path / "nope.rq"), "--store", str(tmp_path / "s")])
    assert result.exit_code == 2
    assert "cannot read the query file" in result.output


def test_list_codes() -> None:
    result = runner.invoke(app, ["import", "simbench", "--list"])
    assert result.exit_code == 0
    assert "1-complete_data-mixed-all-2-sw" in result.output.splitlines()


def test_import_into_a_remote_oxigraph_server(oxigraph_server: str, tmp_path: Path, monkeypatch) -> None:
    import httpx

    httpx.post(f"{oxigraph_server}/update", data={"update": "DROP ALL"}, timeout=30).raise_for_status()
    monkeypatch.setenv("ENERTWIN_HOME", str(tmp_path / "home"))
    refused = runner.invoke(app, ["import", "simbench", "hv-mixed", "--store", oxigraph_server])
    assert refused.exit_code == 2 and "enertwin init" in refused.output  # no key: nothing imported unsigned
    initialised = runner.invoke(app, ["init", "--store", oxigraph_server, "--person", "remote tester"])
    assert initialised.exit_code == 0, initialised.output
    imported = runner.invoke(app, ["import", "simbench", "hv-mixed", "--store", oxigraph_server, "--json"])
    assert imported.exit_code == 0, imported.output
    query = tmp_path / "loads.rq"
    query.write_text(COUNT_LOADS)
    counted = runner.invoke(app, ["query", str(query), "--store", oxigraph_server, "--format", "json"])
    assert json.loads(counted.output) == [{"loads": 58}]
    assert list((tmp_path / "home" / "series").glob("*.duckdb"))  # the profiles outlive the process


def test_validate_a_clean_store_exits_0(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    assert runner.invoke(app, ["import", "simbench", "hv-mixed", "--store", store]).exit_code == 0
    result = runner.invoke(app, ["validate", "--store", store, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == []


def test_validate_finds_series_whose_values_are_gone(tmp_path: Path) -> None:
    location = tmp_path / "store"
    with Store.open(location) as store:
        from enertwin.kg.importers.simbench import import_simbench, series_prefix

        import_simbench(store, "hv-mixed")
        store.series.delete(series_prefix("1-HV-mixed--2-sw") + "load/")  # someone edits DuckDB behind our back
    result = runner.invoke(app, ["validate", "--store", str(location), "--json"])
    assert result.exit_code == 5
    findings = json.loads(result.output)
    assert findings and all(f["rule"].endswith("SeriesReferenceCheck") for f in findings)


def test_query_that_is_not_select_or_not_sparql_exits_2(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    ask = tmp_path / "ask.rq"
    ask.write_text("ASK { ?s ?p ?o }")
    result = runner.invoke(app, ["query", str(ask), "--store", store])
    assert result.exit_code == 2
    assert "not a SELECT query" in result.output
    broken = tmp_path / "broken.rq"
    broken.write_text("SELEKT ?s WHERE { ?s ?p ?o }")
    result = runner.invoke(app, ["query", str(broken), "--store", store])
    assert result.exit_code == 2
    assert "not valid SPARQL" in result.output
