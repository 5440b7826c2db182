"""Canned compliance reports over the hand-written provenance sample, loaded graph by graph."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyoxigraph import NamedNode, RdfFormat, parse, serialize

from enertwin.kg.errors import InputError, ValidationError
from enertwin.kg.reports import ReportTable, Value, list_reports, run_report, to_csv, to_html, to_json
from enertwin.kg.store import Store

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "provenance" / "sample_records.trig"
ID = "https://w3id.org/enertwin/id/"
D3 = ID + "decision/d3"
HASH = {n: str(n) * 64 for n in (2, 4, 5, 6)}
# The decision's own graph (as reasoning/decision_writer.py writes it): record 3 alone breaks
# ets:DecisionShape (no et:dispatchedGrid, et:horizonStart, et:stepCount), so it goes in first.
DECISION_GRAPH = f"""
@prefix et: <https://w3id.org/enertwin/ontology#> . @prefix prov: <http://www.w3.org/ns/prov#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<{D3}> a et:Decision ; et:dispatchedGrid <{ID}simbench/1-HV-mixed--0-sw/grid> ;
    prov:startedAtTime "2026-11-25T11:00:00+00:00"^^xsd:dateTime ;
    prov:endedAtTime "2026-11-25T11:00:40+00:00"^^xsd:dateTime ;
    et:horizonStart "2016-01-14T00:00:00+00:00"^^xsd:dateTime ; et:stepCount 96 ;
    et:solverName "OR-Tools CP-SAT 9.15.6755" ; et:solverStatus "OPTIMAL" ; et:objectiveValue 123456.5E0 .
<{ID}simbench/1-HV-mixed--0-sw/grid> a et:Grid .
"""
SCRIPT_RECORD = """
etg:record\\/7 {
  etid:record\\/7 a et:ProvenanceRecord ; et:sequenceNumber 7 ; et:recordsActivity etid:activity\\/o7 ;
      et:previousRecordHash "0000000000000000000000000000000000000000000000000000000000000000" ;
      prov:generatedAtTime "2026-11-25T13:00:00Z"^^xsd:dateTime .
  etid:activity\\/o7 a et:Override , prov:Activity ; prov:startedAtTime "2026-11-25T13:00:00Z"^^xsd:dateTime ;
      et:concerns etid:decision\\/d3 ; et:reason "<script>alert('x')</script> & \\"more\\"" ;
      prov:wasAssociatedWith etid:person\\/mallory .
  etid:person\\/mallory a prov:Person , prov:Agent ; rdfs:label "mallory" .
}
"""


def sample_text(extra: str = "") -> str:
    """The sample with the '/' in prefixed names escaped, as TriG requires (a no-op once the file does it)."""
    text = SAMPLE.read_text(encoding="utf-8")
    return re.sub(r"\b(etg:|etid:)([\w-]+(?:/[\w-]+)+)", lambda m: m[1] + m[2].replace("/", "\\/"), text) + extra


def sample_graphs(extra: str = "") -> dict[NamedNode, bytes]:
    """Each record's graph -> its N-Triples."""
    per_graph = defaultdict(list)
    for quad in parse(sample_text(extra), format=RdfFormat.TRIG):
        per_graph[quad.graph_name].append(quad.triple)
    return {graph: serialize(triples, format=RdfFormat.N_TRIPLES) or b"" for graph, triples in per_graph.items()}


def load_records(store: Store, extra: str = "") -> None:
    """The decision's graph, then one named graph per record, each written (and validated) by the store."""
    store.replace_graph(NamedNode("https://w3id.org/enertwin/graph/decision/d3"), DECISION_GRAPH)
    for graph, data in sample_graphs(extra).items():
        store.replace_graph(graph, data, RdfFormat.N_TRIPLES)


@pytest.fixture(scope="module")
def records() -> Iterator[Store]:
    with Store.open(None) as store:
        load_records(store)
        yield store


def rows(store: Store, name: str, **params: str) -> list[dict[str, Value]]:
    return run_report(store, name, **params).records()


def test_list_reports_reads_title_and_params() -> None:
    reports = {info.name: info for info in list_reports()}
    assert set(reports) == {
        "activities",
        "approvals",
        "data-quality",
        "decision-inputs",
        "decisions",
        "kill-switches",
        "policy-blocks",
    }
    assert reports["decisions"].title == "Decisions by agent and period"
    assert reports["decisions"].params == ("from", "to")
    assert reports["decision-inputs"].params == ("decision",)


def test_sample_record_of_the_decision_alone_breaks_the_decision_shape() -> None:
    record = NamedNode("https://w3id.org/enertwin/graph/record/3")
    with Store.open(None) as store, pytest.raises(ValidationError) as raised:
        store.replace_graph(record, sample_graphs()[record], RdfFormat.N_TRIPLES)
    broken = {v.shape.rsplit("-", 1)[-1] for v in raised.value.violations}
    assert broken == {"dispatchedGrid", "horizonStart", "stepCount"}


def test_approvals_list_bob_and_carol_with_reasons(records: Store) -> None:
    found = rows(records, "approvals")
    assert [(r["kind"], r["by"], r["reason"]) for r in found] == [
        ("approval", "bob", "Checked against the day-ahead position"),
        ("override", "carol", "Unit 4 is in maintenance"),
    ]
    assert {r["concerns"] for r in found} == {D3}
    assert {r["role"] for r in found} == {"ApproverRole"}
    assert found[0]["started"] == "2026-11-25T11:10:00Z"


def test_policy_blocks_give_the_ramp_reason(records: Store) -> None:
    assert rows(records, "policy-blocks") == [
        {
            "verdict": ID + "activity/p6",
            "started": "2026-11-25T12:30:00Z",
            "action": ID + "action/trade-17",
            "reason": "Ramp of 120 MW/15 min exceeds the envelope's 80 MW/15 min",
            "by": "policy engine",
            "rules": None,
            "policy": None,
        }
    ]


def test_decisions_one_row_with_objective_from_the_decision_graph(records: Store) -> None:
    [row] = rows(records, "decisions")  # described in two graphs, reported once
    assert row["decision"] == D3
    assert str(row["label"]).startswith("Dispatch of hv-mixed")
    assert (row["status"], row["objective"]) == ("OPTIMAL", 123456.5)
    assert (row["agent"], row["on_behalf_of"], row["role"]) == ("enertwin", "alice", "OptimizerRole")
    assert str(row["started"]).startswith("2026-11-25T11:00:00") and str(row["ended"]).startswith("2026-11-25T11:00:40")


def test_decision_inputs_list_the_used_versions_and_the_schedule(records: Store) -> None:
    found = rows(records, "decision-inputs", decision=D3)
    used = {r["entity"]: r for r in found if r["relation"] == "used"}
    assert {e: (r["kind"], r["version_of"], r["content_hash"]) for e, r in used.items()} == {
        "https://w3id.org/enertwin/graph/simbench/1-HV-mixed--0-sw/version/ab12": (
            "GraphVersion",
            "https://w3id.org/enertwin/graph/simbench/1-HV-mixed--0-sw",
            HASH[2],
        ),
        "https://w3id.org/enertwin/graph/costs/version/cc01": (
            "GraphVersion",
            "https://w3id.org/enertwin/graph/costs",
            HASH[4],
        ),
        ID + "snapshot/5555": ("SeriesSnapshot", None, HASH[5]),
    }
    [generated] = [r for r in found if r["relation"] == "generated"]
    assert (generated["entity"], generated["kind"], generated["content_hash"]) == (
        D3 + "/schedule",
        "Schedule",
        HASH[6],
    )
    assert "decision" not in found[0]  # the bound parameter is not a column


def test_decision_inputs_of_an_unknown_decision_are_empty(records: Store) -> None:
    assert rows(records, "decision-inputs", decision=ID + "decision/none") == []


def test_data_quality_names_the_node_and_the_import(records: Store) -> None:
    [row] = rows(records, "data-quality")
    assert row["reason"] == "Load profile value -0.56 is below 0"
    assert row["node"] == ID + "simbench/1-HV-mixed--0-sw/load/7"
    assert (row["activity"], row["started"]) == (ID + "activity/i2", "2026-11-25T10:04:00Z")
    assert row["activity_name"] == "Import of SimBench 1-HV-mixed--0-sw"


def test_activities_are_the_ledger_in_order(records: Store) -> None:
    found = rows(records, "activities")
    assert [(r["sequence"], r["type"], r["agent"]) for r in found] == [
        (1, "KeyPublication", "alice"),
        (2, "Import", "enertwin"),
        (3, "Decision", "enertwin"),
        (4, "Approval", "bob"),
        (5, "Override", "carol"),
        (6, "PolicyVerdict", "policy engine"),
    ]


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2026-11-25T11:00:00Z", "2026-11-25T12:00:00Z", [3, 4]),  # from inclusive, to exclusive
        ("2026-11-25", "2026-11-26", [1, 2, 3, 4, 5, 6]),  # dates are midnight UTC
        ("2026-11-26", None, []),
        (None, "2026-11-25", []),
        (None, "2026-11-25T10:04:00Z", [1]),
        ("2026-11-25T12:30:00+01:00", None, [5, 6]),  # 11:30 UTC
        ("2026-11-25T12:30", None, [6]),  # no zone: UTC
    ],
)
def test_period_filters_on_the_start(records: Store, start: str | None, end: str | None, expected: list[int]) -> None:
    found = run_report(records, "activities", start=start, end=end)
    assert [r["sequence"] for r in found.records()] == expected


def test_period_filters_approvals_and_blocks(records: Store) -> None:
    assert [r["by"] for r in rows(records, "approvals", start="2026-11-25T11:30:00Z")] == ["carol"]
    assert rows(records, "policy-blocks", end="2026-11-25T12:30:00Z") == []
    assert rows(records, "decisions", start="2026-11-25T11:00:01Z") == []
    assert rows(records, "data-quality", start="2026-11-25T10:04:00Z", end="2026-11-25T10:04:01Z") != []


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("nope", {}, r"unknown report 'nope'; the reports are: activities, approvals, .*policy-blocks"),
        ("decision-inputs", {}, r"report decision-inputs needs --decision"),
        ("decision-inputs", {"decision": "not an iri"}, r"--decision 'not an iri' is not an IRI"),
        ("approvals", {"start": "2026-11-26", "end": "2026-11-25"}, r"report approvals: --from .* is after --to"),
        ("approvals", {"start": "yesterday"}, r"--from 'yesterday' is not a date"),
        ("approvals", {"end": "2026-13-01"}, r"--to '2026-13-01' is not a date"),
        ("approvals", {"decision": D3}, r"report approvals takes no --decision"),
        ("decision-inputs", {"decision": D3, "start": "2026-11-25"}, r"report decision-inputs takes no --from"),
    ],
)
def test_bad_requests_name_the_report_and_the_rule(
    records: Store, name: str, params: dict[str, str], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        run_report(records, name, **params)


@pytest.fixture(scope="module")
def with_script() -> ReportTable:
    with Store.open(None) as store:
        load_records(store, SCRIPT_RECORD)
        return run_report(store, "approvals")


def test_csv_parses_back(records: Store) -> None:
    table = run_report(records, "approvals")
    parsed = list(csv.DictReader(io.StringIO(to_csv(table))))
    assert [r["reason"] for r in parsed] == [r["reason"] for r in table.records()]
    assert list(parsed[0]) == table.columns


def test_json_parses_back(with_script: ReportTable) -> None:
    assert json.loads(to_json(with_script)) == with_script.records()


def test_html_escapes_every_value(with_script: ReportTable) -> None:
    page = to_html(with_script)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;more&quot;" in page
    assert page.count("<tr>") == 1 + 3  # header and three rows
    assert "<td>mallory</td>" in page


def test_reports_agree_on_every_backend(store: Store) -> None:
    load_records(store)
    assert [r["sequence"] for r in rows(store, "activities", start="2026-11-25T11:00:00Z")] == [3, 4, 5, 6]
    assert len(rows(store, "decisions")) == 1
    assert len(rows(store, "decision-inputs", decision=D3)) == 4
