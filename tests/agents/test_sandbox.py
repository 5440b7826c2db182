"""Short sandbox runs on hv-mixed through the in-process bus: gaps, kill switch, approvals, blocks, reproducibility."""

from __future__ import annotations

import asyncio

from enertwin import Twin
from enertwin.agents.bus.memory import MemoryBus
from enertwin.agents.events import Proposal, Violation
from enertwin.agents.loop import SUBJECT_POLICIES
from enertwin.agents.sim.kpis import kpis
from enertwin.agents.sim.simulation import Controls, Portfolio, SimulationConfig, SimulationRun, simulate
from enertwin.agents.sim.stand_ins import EnvelopePolicy, MemoryApprovals

from .conftest import short_config


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


def test_a_blocked_action_never_reaches_the_actuator(twin: Twin, portfolio: Portfolio) -> None:
    def block_second(proposal: Proposal) -> list[Violation]:
        if proposal.id.endswith("-p1"):
            return [Violation(rule="https://example.org/rule/no-second", message="blocked for the test")]
        return []

    controls = Controls(policy=EnvelopePolicy(twin, [block_second]))
    result = run(twin, portfolio, short_config(3), controls)
    blocked = result.rounds[1]
    assert blocked.decision.blocked and blocked.decision.fallback == "last-approved"
    proposal = blocked.decision.proposal
    assert proposal is not None
    assert all(a.proposal != proposal.id for a in (result.rounds[1].applied and [result.rounds[1].applied]) or [])
    blocks = twin.report("policy-blocks").records()
    assert any("blocked for the test" in str(row["reason"]) for row in blocks)
    assert kpis(result, foresight=False).blocked_actions == 1


def test_an_approval_timeout_runs_the_safe_plan(twin: Twin, portfolio: Portfolio) -> None:
    approvals = MemoryApprovals()
    controls = Controls(policy=EnvelopePolicy(twin, approval_eur=-1.0), approvals=approvals)
    result = run(twin, portfolio, short_config(2), controls)
    assert [r.decision.fallback for r in result.rounds] == ["conservative", "conservative"]
    assert all("approval-timeout" in {i.kind for i in r.incidents} for r in result.rounds)
    assert set(approvals.statuses.values()) == {"expired"}


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
