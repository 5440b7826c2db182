"""Agent records held in bursts by the Twin: appended together, flushed at release and close, kept on a refusal."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pyoxigraph import BlankNode, NamedNode

from enertwin import InputError, Twin, ValidationError
from enertwin.kg import namespaces as ns
from enertwin.kg.provenance.record import ActivityRecord
from enertwin.kg.queries import load_query
from enertwin.kg.store import META_GRAPH

ACTION = NamedNode(ns.ID_BASE + "proposal/burst-test")


def action(name: str) -> ActivityRecord:
    now = datetime.now(UTC)
    activity = ActivityRecord(NamedNode(f"{ns.ID_BASE}activity/burst/{name}"), ns.AGENT_ACTION, now, now)
    return activity.associate(NamedNode(ns.ID_BASE + "agent/burst-test"), ns.OPTIMIZER_ROLE)


def records(twin: Twin) -> int:
    return twin.verify().records


def test_held_rounds_are_appended_in_one_commit_every_n_rounds(tmp_path: Path) -> None:
    with Twin.open(tmp_path / "store") as twin:
        twin.record_activities([action("before")])  # publishes the key and records outside a burst
        start = records(twin)
        burst = twin.hold_records(rounds=3, seconds=3600.0)
        for i in range(2):
            twin.policy_verdicts([(ACTION, "allowed", f"round {i} within the limits", None, [])])
            assert twin.record_activities([action(f"round-{i}")]) == []
        assert records(twin) == start and burst.held == 4  # two rounds: nothing appended yet
        twin.record_activities([action("round-2")])
        assert records(twin) == start + 5 and burst.held == 0 and burst.commits == 1
        twin.record_activities([action("round-3")])
        receipts = twin.release_records(burst)
        assert [r.entry.seq for r in receipts] == [start + 6]
        twin.record_activities([action("after")])  # released: appended at once again
        assert records(twin) == start + 7
        assert twin.verify().ok


def test_closing_the_twin_stores_what_is_still_held(tmp_path: Path) -> None:
    with Twin.open(tmp_path / "store") as twin:
        twin.record_activities([action("before")])
        start = records(twin)
        twin.hold_records(rounds=100, seconds=3600.0)
        twin.record_activities([action("held")])
    with Twin.open(tmp_path / "store") as again:
        assert records(again) == start + 1


def test_a_burst_is_flushed_once_its_time_is_up(tmp_path: Path) -> None:
    with Twin.open(tmp_path / "store") as twin:
        twin.record_activities([action("before")])
        start = records(twin)
        burst = twin.hold_records(rounds=100, seconds=1e-9)  # every round is already past its time
        twin.record_activities([action("late")])
        assert records(twin) == start + 1 and burst.held == 0
        twin.release_records(burst)


def test_bad_burst_settings_and_a_second_burst_are_refused(tmp_path: Path) -> None:
    with Twin.open(tmp_path / "store") as twin:
        with pytest.raises(InputError, match="rounds ≥ 1"):
            twin.hold_records(rounds=0, seconds=1.0)
        burst = twin.hold_records(rounds=2, seconds=1.0)
        with pytest.raises(InputError, match="already held"):
            twin.hold_records(rounds=2, seconds=1.0)
        twin.release_records(burst)


def test_a_refused_burst_keeps_its_records_for_the_next_flush(tmp_path: Path) -> None:
    with Twin.open(tmp_path / "store") as twin:
        twin.record_activities([action("before")])
        start = records(twin)
        burst = twin.hold_records(rounds=100, seconds=3600.0)
        twin.record_activities([action("kept")])
        now = datetime.now(UTC)
        roleless = ActivityRecord(NamedNode(f"{ns.ID_BASE}activity/burst/roleless"), ns.AGENT_ACTION, now, now)
        association = BlankNode()
        roleless.add(roleless.iri, ns.PROV_QUALIFIED_ASSOCIATION, association)
        roleless.add(association, ns.RDF_TYPE, ns.PROV_ASSOCIATION).add(association, ns.PROV_AGENT_PROP, ACTION)
        twin.record_activities([roleless])  # an association without a role: the shapes refuse the burst
        with pytest.raises(ValidationError, match="hadRole"):
            twin.release_records(burst)
        assert burst.held == 2 and records(twin) == start and twin.verify().ok  # nothing half written, kept


def test_portfolio_reads_leave_the_ledger_records_out(tmp_path: Path) -> None:
    with Twin.open(tmp_path / "store") as twin:
        twin.record_activities([action(f"r{i}") for i in range(3)])
        store = twin._store
        data = set(store.data_graphs())
        records_live = {p for g, p in store.live().items() if g.value.startswith(ns.GRAPH_BASE + "record/")}
        assert records_live and not data & records_live
        assert META_GRAPH in data and store.live()[NamedNode(ns.GRAPH_BASE + "costs")] in data
        fuels = {row["fuel"] for row in twin.costs().rows}  # a shipped query over the data graphs
        assert len(fuels) >= 5


def test_rows_read_again_are_new_after_a_write(tmp_path: Path) -> None:
    query = load_query("enertwin.kg", "cost_table.rq")
    with Twin.open(tmp_path / "store") as twin:
        store = twin._store

        def gas() -> set[float]:
            return {float(r["marginal_eur_per_mwh"].value) for r in store.data_rows(query) if "gas" in str(r["fuel"])}

        assert gas() == gas() == {48.0}
        shipped = Twin.cost_model_turtle()
        twin.load_costs(shipped.replace(b'et:marginalCost "48.0"', b'et:marginalCost "30.0"'), "cheaper gas")
        assert gas() == {30.0}
