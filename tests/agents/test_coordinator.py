"""The coordinator: deadlines end stalled rounds with an escalation, conflicts are settled by fixed rules,
and a blocked action never reaches the actuator (a property over random proposals)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from enertwin.agents.events import Actuation, Proposal, Setpoint
from enertwin.agents.roles.actuator import Actuator
from enertwin.agents.roles.coordinator import Coordinator, Decision, choose
from enertwin.agents.roles.optimizer import Plan
from enertwin.agents.settings.values import shipped_settings
from enertwin.agents.sim.stand_ins import EnvelopePolicy, MemoryApprovals, MemorySwitches, power_limit

AT = datetime(2016, 1, 14, tzinfo=UTC)
ASSETS = [f"https://example.org/unit/{i}" for i in range(4)]
LIMITS = dict.fromkeys(ASSETS, 10.0)


class Taken:
    def __init__(self) -> None:
        self.setpoints: list[Setpoint] = []

    def take(self, setpoints: dict[str, Setpoint]) -> None:
        self.setpoints += setpoints.values()


def coordinator(approval_eur: float | None = None) -> Coordinator:
    policy = EnvelopePolicy(None, [power_limit(LIMITS)], approval_eur)
    return Coordinator(
        policy,
        MemorySwitches(),
        MemoryApprovals(),
        replace(shipped_settings().deadlines, verdict=1.0, approval_wait=0.0),
    )


def test_a_stalled_stage_ends_the_round_and_escalates() -> None:
    out = Decision()
    result = asyncio.run(coordinator().within("proposal", asyncio.sleep(5, "late"), 0.05, AT, out))
    assert result is None
    [incident] = out.incidents
    assert incident.kind == "timeout" and incident.severity == "critical" and "escalated" in incident.message


def test_conflicts_are_settled_deterministically() -> None:
    def proposal(name: str, cost: float, pid: str) -> Proposal:
        return Proposal(id=pid, source=f"https://example.org/agent/{name}", setpoints=(), cost_impact_eur=cost)

    candidates = [proposal("optimizer", 5.0, "b"), proposal("optimizer", 5.0, "a"), proposal("other", 0.0, "c")]
    assert choose(candidates).id == "a"
    assert choose([*candidates, proposal("person", 99.0, "z")]).id == "z"
    assert choose(list(reversed(candidates))).id == "a"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.floats(-30, 30, allow_nan=False), min_size=4, max_size=4), min_size=1, max_size=6))
def test_a_blocked_action_never_reaches_the_actuator(rounds: list[list[float]]) -> None:
    coord, taken = coordinator(), Taken()
    actuator = Actuator(taken, coord.switches)

    async def run() -> None:
        for n, values in enumerate(rounds):
            setpoints = tuple(Setpoint(asset=a, at=AT, p_mw=v) for a, v in zip(ASSETS, values, strict=True))
            proposal = Proposal(id=f"p{n}", source="https://example.org/agent/optimizer", time=AT, setpoints=setpoints)
            out = Decision()
            await coord.judge(proposal, Plan(n, (setpoints,), 0.0), AT, out)
            if out.setpoints:
                event = Actuation(id=f"a{n}", source="x", time=AT, proposal=proposal.id, setpoints=out.setpoints)
                actuator.apply(event)
            assert out.blocked == any(abs(v) > 10.0 for v in values)

    asyncio.run(run())
    assert all(abs(s.p_mw) <= 10.0 for s in taken.setpoints)


def test_an_actuation_is_applied_once_and_not_past_a_kill_switch() -> None:
    switches, taken = MemorySwitches(), Taken()
    actuator = Actuator(taken, switches)
    event = Actuation(
        id="a1", source="x", time=AT, proposal="p", setpoints=(Setpoint(asset=ASSETS[0], at=AT, p_mw=1.0),)
    )
    assert actuator.apply(event)[0] is not None and actuator.apply(event)[0] is None
    switches.pull("asset", ASSETS[1], "maintenance")
    held = Actuation(
        id="a2", source="x", time=AT, proposal="p", setpoints=(Setpoint(asset=ASSETS[1], at=AT, p_mw=1.0),)
    )
    applied, incidents = actuator.apply(held)
    assert applied is None and [i.kind for i in incidents] == ["kill-switch"] and len(taken.setpoints) == 1
