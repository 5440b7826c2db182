"""The Twin over real stores (in memory and on disk): opening, reading, recorded writes, commit events."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pyoxigraph import NamedNode

import enertwin
from enertwin import CommitEvent, InputError, Twin, ValidationError
from enertwin.kg import namespaces as ns
from enertwin.kg.store import COST_GRAPH, Store

SHIPPED = Twin.cost_model_turtle()
CHEAPER_GAS = SHIPPED.replace(b'et:marginalCost "48.0"', b'et:marginalCost "30.0"')


@pytest.fixture(params=["memory", "disk"])
def twin(request: pytest.FixtureRequest, tmp_path: Path) -> Twin:
    location = None if request.param == "memory" else tmp_path / "store"
    with Twin.open(location) as opened:
        yield opened


def _records(twin: Twin) -> int:
    return twin.verify().records


def test_the_package_exports_the_twin() -> None:
    assert enertwin.Twin is Twin
    assert "Twin" in enertwin.__all__


def test_a_new_twin_holds_the_ontology_and_the_cost_model(twin: Twin) -> None:
    assert set(twin.graphs()) == {COST_GRAPH.value, ns.GRAPH_BASE + "ontology"}
    fuels = {row["fuel"] for row in twin.costs().rows}
    assert len(fuels) >= 5


def test_loading_costs_is_recorded_and_told_to_subscribers(twin: Twin) -> None:
    events: list[CommitEvent] = []
    with twin.subscribe(events.append):
        loaded = twin.load_costs(CHEAPER_GAS, "a test cost table")
    assert loaded.receipt is not None
    record = [e for e in events if e.kind == ns.IMPORT_ACTIVITY.value]
    assert len(record) == 1 and record[0].graphs == (COST_GRAPH.value,)
    assert record[0].record_graph == loaded.receipt.graph.value
    gas = [r for r in twin.costs().rows if r["fuel"] == "gas"]
    assert [r["marginal_eur_per_mwh"] for r in gas] == [30.0]
    assert twin.verify(deep=True).ok


def test_the_same_costs_again_record_nothing(twin: Twin) -> None:
    before = _records(twin)
    assert twin.load_costs(SHIPPED, "the shipped table").receipt is None
    assert _records(twin) == before


def test_a_cost_model_the_shapes_reject_changes_nothing(twin: Twin) -> None:
    before, records = twin.graphs(), _records(twin)
    with pytest.raises(ValidationError, match="ramp"):
        twin.load_costs(SHIPPED.replace(b'et:rampShare "0.25"', b'et:rampShare "1.5"'), "a bad table")
    assert twin.graphs() == before and _records(twin) == records


def test_dropping_a_graph_is_a_signed_removal_record(twin: Twin) -> None:
    version = twin.graphs()[COST_GRAPH.value]
    with twin.commits(timeout=0) as stream:
        receipt = twin.drop(COST_GRAPH, reason="replaced by the market's own prices")
        events = stream.pending()
    assert COST_GRAPH.value not in twin.graphs()
    # a twin's first record publishes its signing key; then the removal
    assert [e.kind for e in events] == [ns.KEY_PUBLICATION.value, ns.REMOVAL.value]
    facts = twin.query(
        "PREFIX prov: <http://www.w3.org/ns/prov#> PREFIX et: <https://w3id.org/enertwin/ontology#> "
        "SELECT ?version ?why WHERE { ?removal a et:Removal ; prov:invalidated ?version ; et:reason ?why }"
    )
    assert facts.rows == [{"version": version, "why": "replaced by the market's own prices"}]
    assert receipt.entry.seq == _records(twin)
    assert twin.verify(deep=True).ok


def test_dropping_a_missing_graph_is_bad_input(twin: Twin) -> None:
    records = _records(twin)
    with pytest.raises(InputError, match="no graph"):
        twin.drop(NamedNode(ns.GRAPH_BASE + "nothing-here"))
    assert _records(twin) == records


def test_unrecorded_writes_are_private_to_kg() -> None:
    for name in ("drop_graph", "load_cost_model"):
        assert not hasattr(Store, name), f"Store.{name} writes without a record"
    public = {name for name in dir(Twin) if not name.startswith("_")}
    assert not public & {"store", "backend", "replace_graph", "change", "commit"}


def test_a_read_only_twin_cannot_write(tmp_path: Path) -> None:
    Twin.open(tmp_path / "store").close()
    with Twin.open(tmp_path / "store", read_only=True) as twin:
        assert COST_GRAPH.value in twin.graphs()
        with pytest.raises(enertwin.StoreError, match="read-only"):
            twin.load_costs(CHEAPER_GAS, "a test cost table")


def test_a_twin_on_disk_keeps_what_was_recorded(tmp_path: Path) -> None:
    with Twin.open(tmp_path / "store") as twin:
        twin.load_costs(CHEAPER_GAS, "a test cost table")
        records = _records(twin)
    with Twin.open(tmp_path / "store") as again:
        assert _records(again) == records
        assert [r["marginal_eur_per_mwh"] for r in again.costs().rows if r["fuel"] == "gas"] == [30.0]


def test_a_user_query_may_not_call_a_service(twin: Twin) -> None:
    with pytest.raises(InputError, match="SERVICE"):
        twin.query("SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }")


@pytest.mark.remote
def test_a_twin_on_a_remote_endpoint_records_its_writes(empty_remote: str) -> None:
    price = 30 + (time.time_ns() % 997) / 1000  # a table this server has not seen
    table = SHIPPED.replace(b'et:marginalCost "48.0"', f'et:marginalCost "{price}"'.encode())
    with Twin.open(empty_remote) as twin:
        loaded = twin.load_costs(table, "a remote test cost table")
        assert loaded.receipt is not None
        assert [r["marginal_eur_per_mwh"] for r in twin.costs().rows if r["fuel"] == "gas"] == [price]
        assert twin.verify().ok


def test_a_failing_subscriber_does_not_fail_the_write(twin: Twin, caplog: pytest.LogCaptureFixture) -> None:
    def broken(_event: CommitEvent) -> None:
        raise RuntimeError("subscriber bug")

    heard: list[CommitEvent] = []
    with twin.subscribe(broken), twin.subscribe(heard.append):
        loaded = twin.load_costs(CHEAPER_GAS, "a test cost table")
    assert loaded.receipt is not None and heard[-1].seq == loaded.receipt.entry.seq
    assert "a commit subscriber failed" in caplog.text


def test_a_commit_stream_yields_events_in_order(twin: Twin) -> None:
    with twin.commits(timeout=0.5) as stream:
        twin.load_costs(CHEAPER_GAS, "a test cost table")
        twin.load_costs(SHIPPED, "the shipped table")
        seqs = [event.seq for event in stream]
    assert seqs == sorted(seqs) and len(seqs) >= 2
