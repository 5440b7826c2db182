"""Deciding through the Twin on a real disk store: optimise (whole and as a job), explain, replay, verdicts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from enertwin import Cancelled, CommitEvent, InputError, OptimiseRequest, Twin
from enertwin.kg import namespaces as ns
from enertwin.reasoning.dispatch import DispatchRun
from enertwin.reasoning.solver import SolverSettings

HV = "1-HV-mixed--2-sw"
DAY = OptimiseRequest(case="hv-mixed", start=datetime(2016, 1, 14, 6), steps=24)


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Twin]:
    with Twin.open(tmp_path_factory.mktemp("twin") / "store") as opened:
        yield opened


@pytest.fixture(scope="module")
def run(twin: Twin) -> DispatchRun:
    return twin.optimise(DAY)


def test_optimise_imports_what_it_needs_and_records_the_decision(twin: Twin, run: DispatchRun) -> None:
    assert run.result.schedule is not None
    graphs = twin.graphs()
    assert any(g.endswith("simbench/1-HV-mixed--2-sw") for g in graphs)
    assert any(g.endswith("simbench/1-EHV-mixed--2-sw") for g in graphs)  # prices the market
    seq, _, _ = twin.record_of(run.record.decision.value)
    assert seq == twin.verify().records


def test_explain_reads_the_recorded_inputs_not_todays_graph(twin: Twin, run: DispatchRun) -> None:
    before = twin.explain(run.record.schedule.value).as_dict()
    dearer = Twin.cost_model_turtle().replace(b'et:marginalCost "48.0"', b'et:marginalCost "95.0"')
    twin.load_costs(dearer, "gas at 95 EUR/MWh, after the decision")
    try:
        after = twin.explain(run.record.decision.value).as_dict()
        assert after == before
        today = twin.optimise(DAY)  # today's graph does give another answer
        assert twin.explain(today.record.decision.value).as_dict() != before
    finally:
        twin.load_costs(Twin.cost_model_turtle(), "the shipped cost table again")


def test_replay_is_identical_and_recorded(twin: Twin, run: DispatchRun) -> None:
    events: list[CommitEvent] = []
    with twin.subscribe(events.append):
        outcome = twin.replay(run.record.decision.value)
    assert outcome.identical
    assert [e.kind for e in events] == [ns.REPLAY.value]
    assert twin.verify(deep=True).ok


def test_approval_and_override_are_signed_records(twin: Twin, run: DispatchRun) -> None:
    approved = twin.approve(run.record.schedule.value, "looks right")
    assert approved.decision == run.record.decision.value
    with pytest.raises(InputError, match="reason"):
        twin.override(run.record.decision.value, " ")
    overridden = twin.override(run.record.decision.value, "storm warning")
    assert overridden.receipt.entry.seq == approved.receipt.entry.seq + 1
    approvals = twin.report("approvals")
    kinds = {(r["kind"], r["reason"]) for r in approvals.records() if r["concerns"] == run.record.decision.value}
    assert kinds == {("approval", "looks right"), ("override", "storm warning")}


def test_a_policy_verdict_is_recorded(twin: Twin, run: DispatchRun) -> None:
    receipt = twin.policy_verdict(run.record.decision.value, "blocked", "exceeds the import limit")
    assert receipt.entry.seq == twin.verify().records
    with pytest.raises(InputError, match="allowed, blocked"):
        twin.policy_verdict(run.record.decision.value, "maybe", "unsure")


def test_a_job_reports_progress_and_gives_its_decision(twin: Twin) -> None:
    stages: list[str] = []
    job = twin.optimise_job(DAY.model_copy(update={"steps": 8}))
    while not job.wait(0.01):
        stages.append(job.progress.stage)
    run = job.result()
    assert job.done and job.progress.stage == "done" and job.progress.fraction == 1.0
    assert run.result.schedule is not None
    assert twin.record_of(run.record.decision.value)[0] == twin.verify().records


def test_a_cancelled_job_records_nothing(twin: Twin) -> None:
    records = twin.verify().records
    settings = SolverSettings(time_limit=120, relative_gap=0, absolute_gap=0)
    long = OptimiseRequest(case="ehv-mixed", start=datetime(2016, 1, 14), steps=288, window=288, settings=settings)
    job = twin.optimise_job(long)
    while job.progress.stage != "solving" and not job.done:
        time.sleep(0.01)
    asked = time.perf_counter()
    job.cancel()
    with pytest.raises(Cancelled):
        job.result(timeout=60)
    assert time.perf_counter() - asked < 30  # the search stopped, it did not run to its limit
    assert job.progress.stage == "cancelled"
    assert twin.verify().records == records


def test_a_bad_request_names_the_field() -> None:
    with pytest.raises(InputError, match="overlap"):
        OptimiseRequest.of(case="hv-mixed", overlap=-1)


def test_twin_closes_running_jobs(tmp_path: Path) -> None:
    twin = Twin.open(tmp_path / "store")
    twin.prepare_case("hv-mixed")
    job = twin.optimise_job(DAY.model_copy(update={"settings": SolverSettings(time_limit=120, relative_gap=0)}))
    twin.close()
    assert job.done
