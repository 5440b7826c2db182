"""Short sandbox runs on hv-mixed through the in-process bus: gaps, kill switch, approvals, blocks, reproducibility.

Every run uses the real policy engine, kill switches and approvals of the twin's store, so what the
sandbox stopped, blocked and expired is read back from the graph's records.
"""

from __future__ import annotations

import asyncio
from importlib.resources import files

import pytest

from enertwin import Twin
from enertwin.agents.bus.memory import MemoryBus
from enertwin.agents.control.approvals import Approvals
from enertwin.agents.control.kill_switch import KillSwitches
from enertwin.agents.events import Event, Forecast
from enertwin.agents.loop import SUBJECT_POLICIES
from enertwin.agents.roles.forecaster import SeasonalNaive
from enertwin.agents.sim.kpis import END_SLACK, foresight_problem, kpis
from enertwin.agents.sim.simulation import SCENARIO, Controls, Portfolio, SimulationConfig, SimulationRun, simulate

from .conftest import EVERY_ACTION_NEEDS_APPROVAL, pinned_policy, short_config

ACTUATOR = "https://w3id.org/enertwin/id/agent/actuator-sandbox"


def run(twin: Twin, portfolio: Portfolio, config: SimulationConfig, controls: Controls | None = None) -> SimulationRun:
    async def go() -> SimulationRun:
        bus = MemoryBus(SUBJECT_POLICIES)
        try:
            return await simulate(twin, config, bus, controls, portfolio)
        finally:
            await bus.close()

    return asyncio.run(go())


def test_a_data_gap_falls_back_to_the_last_approved_plan_and_is_an_incident(twin: Twin, portfolio: Portfolio) -> None:
    result = run(twin, portfolio, short_config(3, faults={1: "gap"}))
    first, gap, after = result.rounds
    assert first.decision.fallback is None and first.applied is not None
    assert gap.decision.fallback == "last-approved" and [i.kind for i in gap.incidents] == ["missing"]
    assert gap.applied is not None and gap.applied.fallback
    assert after.decision.fallback is None
    found = twin.report("data-quality").records()
    assert any(gap.incidents[0].message in str(row["reason"]) for row in found)


def test_the_kill_switch_stops_actuation_from_the_next_event(twin: Twin, portfolio: Portfolio) -> None:
    result = run(twin, portfolio, short_config(4, faults={2: "kill", 3: "release"}))
    applied = [r.applied is not None for r in result.rounds]
    assert applied == [True, True, False, True]
    assert {i.kind for i in result.rounds[2].incidents} == {"kill-switch"}
    assert len(result.plant.outcomes) == 4  # the plant ran on, holding its setpoints
    assert result.switch_events == [(2, "kill"), (3, "release")]
    rows = [r for r in twin.report("kill-switches").records() if result.run in str(r["reason"])]
    assert [(r["action"], r["scope"], r["target"]) for r in rows] == [
        ("pull", "agent", ACTUATOR),
        ("release", "agent", ACTUATOR),
    ]
    assert all(SCENARIO.name in str(r["by"]) or SCENARIO.iri.value in str(r["by"]) for r in rows)


def test_a_kill_left_pulled_is_released_when_the_run_ends(twin: Twin, portfolio: Portfolio) -> None:
    result = run(twin, portfolio, short_config(2, faults={1: "kill"}))
    assert [r.applied is not None for r in result.rounds] == [True, False]
    with KillSwitches(twin) as switches:
        assert switches.blocking("", ACTUATOR) is None
    rows = [r for r in twin.report("kill-switches").records() if result.run in str(r["reason"])]
    assert [r["action"] for r in rows] == ["pull", "release"] and "ended" in str(rows[-1]["reason"])


def test_a_blocked_action_never_reaches_the_actuator(twin: Twin, portfolio: Portfolio) -> None:
    demo = (files("enertwin.policies") / "demo.ttl").read_bytes()  # blocks the second proposal
    controls = Controls(policy=pinned_policy(twin, demo, "demo.ttl"))
    result = run(twin, portfolio, short_config(3), controls)
    blocked = result.rounds[1]
    assert blocked.decision.blocked and blocked.decision.fallback == "last-approved"
    proposal = blocked.decision.proposal
    assert proposal is not None
    assert blocked.applied is not None and blocked.applied.proposal != proposal.id and blocked.applied.fallback
    assert [r.decision.blocked for r in result.rounds] == [False, True, False]
    blocks = twin.report("policy-blocks").records()
    assert any("demo-block-second" in str(row["reason"]) and proposal.id in str(row) for row in blocks)
    assert kpis(result, foresight=False).blocked_actions == 1
    assert twin.active_policy() != "https://w3id.org/enertwin/policy/demo/1"  # pinned for the run, not activated


def test_an_approval_timeout_runs_the_safe_plan(twin: Twin, portfolio: Portfolio) -> None:
    controls = Controls(policy=pinned_policy(twin, EVERY_ACTION_NEEDS_APPROVAL, "approve-all.ttl"))
    result = run(twin, portfolio, short_config(2), controls)
    assert [r.decision.fallback for r in result.rounds] == ["conservative", "conservative"]
    assert all("approval-timeout" in {i.kind for i in r.incidents} for r in result.rounds)
    ids = {r.decision.proposal.id for r in result.rounds if r.decision.proposal is not None}
    requests = [p for p in Approvals(twin).requests() if p.proposal_id in ids]
    assert len(requests) == 2 and {p.status for p in requests} == {"expired"}
    for request, r in zip(sorted(requests, key=lambda p: p.deadline), result.rounds, strict=True):
        assert request.deadline == r.at + twin.agent_settings().deadlines.approval_window  # in plant time
    expiries = [row for row in twin.report("approvals").records() if row["kind"] == "expiry" and row["action"] in ids]
    assert len(expiries) == 2


def test_the_same_seed_reproduces_the_same_run(twin: Twin, portfolio: Portfolio) -> None:
    config = short_config(4, noise=0.05, dropout=0.2, seed=7)
    first, second = run(twin, portfolio, config), run(twin, portfolio, config)
    assert first.decision_hashes == second.decision_hashes
    assert kpis(first, foresight=False).reproducible() == kpis(second, foresight=False).reproducible()
    other = run(twin, portfolio, short_config(4, noise=0.05, dropout=0.2, seed=8))
    assert other.decision_hashes != first.decision_hashes


def test_shadow_mode_actuates_only_the_baseline_and_compares(twin: Twin, portfolio: Portfolio) -> None:
    from enertwin.agents.sim.shadow import kpi_rows, step_rows

    result = run(twin, portfolio, short_config(3, shadow="merit-order"))
    assert all(r.applied is not None for r in result.rounds)  # the agents' actuator ran, in shadow mode
    assert len(result.shadow) == 3
    for step in result.shadow:  # the plant did what the baseline said
        assert step.baseline == result.plant.outcomes[step.offset]
    rows = step_rows(result)
    assert [r["step"] for r in rows] == [0, 1, 2]
    totals = {r["kpi"]: r for r in kpi_rows(result)}
    assert totals["cost_eur"]["baseline"] == round(sum(o.cost_eur for o in result.plant.outcomes), 2)


def test_each_round_publishes_the_forecasts_it_planned_on(twin: Twin, portfolio: Portfolio) -> None:
    async def go() -> tuple[SimulationRun, list[Event]]:
        bus = MemoryBus(SUBJECT_POLICIES)
        try:
            observer = await bus.subscribe("forecast", "test-observer")
            result = await simulate(twin, short_config(2), bus, None, portfolio)
            heard = []
            while (delivery := await observer.next(timeout=0.2)) is not None:
                heard.append(delivery.event)
                await delivery.ack()
            return result, heard
        finally:
            await bus.close()

    result, heard = asyncio.run(go())
    assert all(isinstance(e, Forecast) for e in heard)
    forecasts = [e for e in heard if isinstance(e, Forecast)]
    assert [f.start for f in forecasts] == [r.at for r in result.rounds]
    base = portfolio.base
    season = twin.agent_settings().season_steps
    same = SeasonalNaive(portfolio.facts.profiled, twin.read_series_many, base.horizon.first_step, base.steps, season)
    for offset, forecast in enumerate(forecasts):
        assert forecast.step_minutes == 15 and forecast.model == "seasonal-naive/1.0"
        assert forecast.source == same.agent.iri.value
        expected = same.forecast(base.horizon.first_step + offset, result.config.horizon)
        assert forecast.values.keys() == expected.keys() and forecast.values
        assert all(forecast.values[a] == pytest.approx(list(v)) for a, v in expected.items())


def test_regret_compares_runs_that_end_with_the_same_stored_energy(twin: Twin, portfolio: Portfolio) -> None:
    result = run(twin, portfolio, short_config(4))
    ends = result.plant.state.soc_mwh
    problem = foresight_problem(result)
    assert problem.steps == 4 and len(problem.storage) == len(ends) > 0
    for store, end in zip(problem.storage, ends, strict=True):
        assert end - END_SLACK * store.capacity_mwh - 1e-9 <= store.final_mwh <= end + 1e-9
    figures = kpis(result)
    assert figures.regret_eur is not None and figures.perfect_foresight_eur is not None
    assert figures.end_storage_mwh == pytest.approx(sum(ends), abs=1e-3)
    # the agents' own run is a schedule the foresight run may take: it can only do better (within the gap)
    assert figures.regret_eur >= -0.01 * abs(figures.cost_eur) - 1.0
