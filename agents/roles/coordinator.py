"""The coordinator: one round per interval, every exchange under a deadline, every outcome recorded.

A stage that misses its deadline ends the round with a timeout incident escalated to a person
and the safe plan, so a stalled agent can neither hang the loop (deadlock) nor make it retry
for ever (livelock). Conflicts between proposals for one interval are settled by fixed rules
(:func:`choose`). Actions above the approval threshold wait for a person until their
deadline; on timeout (and whenever a round has nothing it may release) the safe plan of
:mod:`enertwin.agents.control.safe_plan` runs: the last schedule a person approved, else the
agents' last plan that passed the policies, else a conservative plan.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from enertwin.agents.control.safe_plan import SafePlan, conservative_plan
from enertwin.agents.events import Incident, Proposal, Setpoint, Verdict
from enertwin.agents.roles.contracts import ApprovalDesk, PolicyGate, SwitchBoard
from enertwin.agents.roles.identity import AgentIdentity
from enertwin.agents.roles.optimizer import Plan
from enertwin.agents.roles.state import PlantState
from enertwin.kg import namespaces as ns
from enertwin.reasoning.problem import DispatchProblem

T = TypeVar("T")
SafePlanner = Callable[[DispatchProblem, int, Sequence[Setpoint]], SafePlan]
"""The safe plan of a step given each asset's last setpoint (``safe_plan`` on a twin, or ``conservative_plan``)."""


@dataclass(frozen=True, slots=True)
class Deadlines:
    """Wall-clock seconds each exchange may take, and how long an approval may wait (plant time).

    No defaults here: the values live in the graph (``agents/settings``, read by ``Twin.agent_settings``).
    """

    telemetry: float
    proposal: float
    verdict: float
    approval_wait: float
    approval_window: timedelta

    def as_config(self) -> dict[str, object]:
        """The deadlines as the coordinator's configuration."""
        return {
            "telemetry_s": self.telemetry,
            "proposal_s": self.proposal,
            "verdict_s": self.verdict,
            "approval_wait_s": self.approval_wait,
            "approval_window_min": self.approval_window / timedelta(minutes=1),
        }


@dataclass(slots=True)
class Decision:
    """What a round decided: the setpoints released (if any), why, and what went wrong on the way."""

    setpoints: tuple[Setpoint, ...] = ()
    proposal: Proposal | None = None
    verdict: Verdict | None = None
    fallback: str | None = None  # "approved-schedule" (a person's), "last-approved" (the agents') or "conservative"
    reason: str = ""
    incidents: list[Incident] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        """Whether the policy engine blocked the round's proposal."""
        return self.verdict is not None and self.verdict.outcome == "blocked"


SOURCE_PRIORITY = ("person", "optimizer")  # earlier wins; then lower cost impact, then lower id


def choose(candidates: Sequence[Proposal]) -> Proposal:
    """The one proposal of an interval: by source priority, then lower cost impact, then the smaller id."""

    def rank(p: Proposal) -> tuple[int, float, str]:
        name = p.source.rsplit("/", 1)[-1]
        priority = SOURCE_PRIORITY.index(name) if name in SOURCE_PRIORITY else len(SOURCE_PRIORITY)
        return priority, p.cost_impact_eur, p.id

    return min(candidates, key=rank)


class Coordinator:
    """Runs the exchanges of a round under deadlines and turns verdicts, approvals and switches into a decision."""

    def __init__(
        self,
        policy: PolicyGate,
        switches: SwitchBoard,
        approvals: ApprovalDesk,
        deadlines: Deadlines,
        planner: SafePlanner = conservative_plan,
    ) -> None:
        self.policy = policy
        self.switches = switches
        self.approvals = approvals
        self.deadlines = deadlines
        self.planner = planner
        self.agent = AgentIdentity("coordinator", ns.COORDINATOR_ROLE, configuration=self.deadlines.as_config())
        self.last_approved: Plan | None = None

    async def within(self, stage: str, work: Awaitable[T], seconds: float, at: datetime, out: Decision) -> T | None:
        """``work``'s result, or None and a timeout incident escalated to a person when it takes longer."""
        try:
            return await asyncio.wait_for(work, seconds)
        except TimeoutError:
            out.incidents.append(
                self.incident(
                    at,
                    "timeout",
                    stage,
                    f"the {stage} stage missed its {seconds:g} s deadline; round ended, escalated to the operator",
                    "critical",
                )
            )
            return None

    async def judge(self, proposal: Proposal, plan: Plan, at: datetime, out: Decision) -> None:
        """Ask the policy engine, wait for a person where it says so, and settle the round's setpoints."""
        out.proposal = proposal
        verdict = await self.within(
            "verdict", asyncio.to_thread(self.policy.evaluate, proposal), self.deadlines.verdict, at, out
        )
        out.verdict = verdict
        if verdict is None:
            return
        if verdict.outcome == "blocked":
            rules = "; ".join(f"{v.rule}: {v.message}" for v in verdict.violations) or "blocked"
            out.reason = f"proposal {proposal.id} blocked by policy ({rules})"
            return
        if verdict.outcome == "pending-approval" and not await self._approved(proposal, at, out):
            return
        out.setpoints = proposal.setpoints
        self.last_approved = plan

    async def _approved(self, proposal: Proposal, at: datetime, out: Decision) -> bool:
        deadline = at + self.deadlines.approval_window
        self.approvals.request(proposal, deadline)
        waited = 0.0
        while (status := self.approvals.status(proposal.id)) == "pending" and waited < self.deadlines.approval_wait:
            await asyncio.sleep(0.01)
            waited += 0.01
        if status == "approved":
            return True
        if status == "pending":
            self.approvals.expire(deadline, (proposal.id,))
            out.incidents.append(
                self.incident(
                    at,
                    "approval-timeout",
                    proposal.id,
                    f"no one approved proposal {proposal.id} by {deadline.isoformat()}; the safe plan runs",
                    "warning",
                )
            )
        out.reason = f"proposal {proposal.id} not approved ({status or 'expired'})"
        return False

    def safe_plan(
        self, problem: DispatchProblem, step: int, state: PlantState, at: datetime, out: Decision, why: str
    ) -> None:
        """The safe plan for ``step``: a person's approved schedule, the agents' last approved plan, or conservative."""
        held = [
            Setpoint(asset=u.iri, at=at, p_mw=p, committed=on)
            for u, on, p in zip(problem.thermal, state.on, state.output_mw, strict=True)
        ]
        stored = zip(problem.storage, state.soc_mwh, strict=True)
        held += [Setpoint(asset=s.iri, at=at, p_mw=0.0, soc_mwh=e) for s, e in stored]
        plan = self.planner(problem, step, held)
        planned = self.last_approved.at(step) if self.last_approved is not None else None
        if plan.source == "approved-schedule":
            out.setpoints, out.fallback = plan.setpoints, "approved-schedule"
        elif planned is not None:
            out.setpoints, out.fallback = planned, "last-approved"
        else:
            out.setpoints, out.fallback = plan.setpoints, "conservative"
        out.reason = out.reason or why

    def release(self, setpoints: Sequence[Setpoint], at: datetime, out: Decision) -> tuple[Setpoint, ...]:
        """The setpoints no kill switch stops; each stopped one is an incident."""
        kept = []
        for s in setpoints:
            switch = self.switches.blocking(s.asset, self.agent.iri.value)
            if switch is None:
                kept.append(s)
            else:
                out.incidents.append(
                    self.incident(
                        at, "kill-switch", s.asset, f"actuation of <{s.asset}> stopped by kill switch {switch}", "info"
                    )
                )
        return tuple(kept)

    def incident(self, at: datetime, kind: str, subject: str, message: str, severity: str) -> Incident:
        """An incident the coordinator raises."""
        return Incident(
            id=f"{kind}-{at.strftime('%Y%m%dT%H%M')}-{subject.rsplit('/', 1)[-1]}",
            time=at,
            source=self.agent.iri.value,
            kind=kind,
            subject=subject,
            message=message,
            severity=severity,  # type: ignore[arg-type]
        )
