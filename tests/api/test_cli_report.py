"""`enertwin report`, run as a user would: formats, period options, exit codes and messages."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from pathlib import Path

import pytest
from pyoxigraph import NamedNode, RdfFormat, parse, serialize
from typer.testing import CliRunner

from enertwin.api.cli import app
from enertwin.api.report_command import register
from enertwin.kg.reports import list_reports
from enertwin.kg.store import Store

if not any(command.name == "report" for command in app.registered_commands):
    register(app)  # until cli.py registers the command itself

runner = CliRunner()
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "provenance" / "sample_records.trig"
D3 = "https://w3id.org/enertwin/id/decision/d3"
# The decision's own graph: without it the sample's record 3 breaks ets:DecisionShape.
DECISION_GRAPH = f"""
@prefix et: <https://w3id.org/enertwin/ontology#> . @prefix prov: <http://www.w3.org/ns/prov#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<{D3}> a et:Decision ; et:dispatchedGrid <https://w3id.org/enertwin/id/grid/g> ;
    et:horizonStart "2016-01-14T00:00:00Z"^^xsd:dateTime ; et:stepCount 96 ; et:objectiveValue 99.5E0 ;
    et:solverName "OR-Tools CP-SAT 9.15.6755" ; et:solverStatus "OPTIMAL" .
<https://w3id.org/enertwin/id/grid/g> a et:Grid .
"""
SCRIPT_RECORD = """
etg:record\\/7 {
  etid:activity\\/o7 a et:Override , prov:Activity ; prov:startedAtTime "2026-11-25T13:00:00Z"^^xsd:dateTime ;
      et:concerns etid:decision\\/d3 ; et:reason "<script>alert(1)</script>" .
}
"""


def load_sample(location: Path, extra: str = "") -> str:
    """A disk store holding the decision's graph and every record of the sample (plus ``extra`` TriG)."""
    text = SAMPLE.read_text(encoding="utf-8")  # '/' in prefixed names escaped, as TriG requires
    text = re.sub(r"\b(etg:|etid:)([\w-]+(?:/[\w-]+)+)", lambda m: m[1] + m[2].replace("/", "\\/"), text)
    per_graph = defaultdict(list)
    for quad in parse(text + extra, format=RdfFormat.TRIG):
        per_graph[quad.graph_name].append(quad.triple)
    with Store.open(location) as store:
        store.replace_graph(NamedNode("https://w3id.org/enertwin/graph/decision/d3"), DECISION_GRAPH)
        for graph, triples in per_graph.items():
            store.replace_graph(graph, serialize(triples, format=RdfFormat.N_TRIPLES) or b"", RdfFormat.N_TRIPLES)
    return str(location)


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    return load_sample(tmp_path_factory.mktemp("reports") / "store")


def report(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["report", *args])
    return result.exit_code, result.output


def test_list_shows_every_report_with_its_title() -> None:
    code, output = report("--list")
    assert code == 0, output
    lines = output.splitlines()
    assert len(lines) == len(list_reports()) == 7
    for info, line in zip(list_reports(), lines, strict=True):
        assert line.split(None, 1) == [info.name, info.title]


def test_approvals_as_csv(sample_store: str) -> None:
    code, output = report("approvals", "--store", sample_store, "--format", "csv")
    assert code == 0, output
    rows = list(csv.DictReader(io.StringIO(output)))
    assert [(r["kind"], r["by"], r["reason"]) for r in rows] == [
        ("approval", "bob", "Checked against the day-ahead position"),
        ("override", "carol", "Unit 4 is in maintenance"),
    ]


def test_period_options_filter_rows(sample_store: str) -> None:
    code, output = report("activities", "--store", sample_store, "--format", "json", "--from", "2026-11-25T11:00Z")
    assert code == 0, output
    assert [r["sequence"] for r in json.loads(output)] == [3, 4, 5, 6]
    code, output = report(
        "activities", "--store", sample_store, "--format", "json", "--from", "2026-11-25", "--to", "2026-11-25T11:00"
    )
    assert [r["type"] for r in json.loads(output)] == ["KeyPublication", "Import"]


def test_decision_inputs_as_json(sample_store: str) -> None:
    code, output = report("decision-inputs", "--decision", D3, "--store", sample_store, "--format", "json")
    assert code == 0, output
    rows = json.loads(output)
    assert sorted(r["content_hash"][0] for r in rows if r["relation"] == "used") == ["2", "4", "5"]
    assert [r["entity"] for r in rows if r["relation"] == "generated"] == [D3 + "/schedule"]


def test_table_shows_the_title_and_the_values(sample_store: str) -> None:
    code, output = report("policy-blocks", "--store", sample_store)
    assert code == 0, output
    assert "Actions blocked by policy" in output
    assert "Ramp" in output and "policy" in output
    assert "…" not in output  # long IRIs wrap, they are not cut


def test_out_writes_the_file(sample_store: str, tmp_path: Path) -> None:
    target = tmp_path / "decisions.csv"
    code, output = report("decisions", "--store", sample_store, "--format", "csv", "--out", str(target))
    assert code == 0, output
    assert output == ""
    [row] = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert (row["decision"], row["objective"], row["agent"], row["on_behalf_of"]) == (D3, "99.5", "enertwin", "alice")


def test_html_escapes_a_script_in_a_reason(tmp_path: Path) -> None:
    location = load_sample(tmp_path / "store", SCRIPT_RECORD)
    code, output = report("approvals", "--store", location, "--format", "html")
    assert code == 0, output
    assert output.startswith("<!DOCTYPE html>")
    assert "<script>" not in output
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in output


def test_markup_in_a_value_is_shown_as_text_in_the_table(tmp_path: Path) -> None:
    location = load_sample(tmp_path / "store", SCRIPT_RECORD.replace("<script>alert(1)</script>", "[/bold] [red]x"))
    code, output = report("approvals", "--store", location, "--out", str(tmp_path / "table.txt"))
    assert code == 0, output
    assert "[/bold] [red]x" in (tmp_path / "table.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no-such-report"], "unknown report 'no-such-report'; the reports are: activities, approvals"),
        (["decision-inputs"], "report decision-inputs needs --decision"),
        (["approvals", "--from", "2026-11-26", "--to", "2026-11-25"], "is after --to"),
        (["approvals", "--from", "last tuesday"], "--from 'last tuesday' is not a date"),
        ([], "give a report name"),
    ],
)
def test_bad_input_exits_2_before_opening_a_store(tmp_path: Path, args: list[str], message: str) -> None:
    location = tmp_path / "store"
    code, output = report(*args, "--store", str(location))
    assert code == 2
    assert message in output
    assert not location.exists()
