"""Sandbox stand-ins for the policy engine, kill switches and approvals, on the CONTRACTS.md interfaces.

The simulation takes the real ``PolicyEngine``, ``KillSwitches`` and ``Approvals`` when they are
given; these keep the sandbox (and its tests) runnable without them: a physical-envelope policy
(setpoints within the assets' limits, an approval threshold on cost impact) whose verdicts are
recorded through the Twin, and switches and approvals held in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from enertwin import Twin
from enertwin.agents.events import Proposal, Verdict, Violation
from enertwin.agents.roles.contracts import ApprovalStatus
from enertwin.agents.roles.records import proposal_node
from enertwin.kg import namespaces as ns

ENVELOPE_VERSION = ns.ID_BASE + "policy-set/sandbox-envelope/1"
Rule = Callable[[Proposal], Sequence[Violation]]


class EnvelopePolicy:
    """Blocks a proposal that breaks any rule; above ``approval_eur`` of cost impact it needs a person."""

    def __init__(self, twin: Twin | None, rules: Sequence[Rule] = (), approval_eur: float | None = None) -> None:
        self.twin = twin
        self.rules = tuple(rules)
        self.approval_eur = approval_eur
        self.verdicts: list[Verdict] = []

    def active_version(self) -> str:
        """The stand-in's one version."""
        return ENVELOPE_VERSION

    def evaluate(self, proposal: Proposal) -> Verdict:
        """Every rule's violations; none and under the threshold: allowed."""
        violations = tuple(v for rule in self.rules for v in rule(proposal))
        if violations:
            outcome = "blocked"
        elif self.approval_eur is not None and abs(proposal.cost_impact_eur) > self.approval_eur:
            outcome = "pending-approval"
        else:
            outcome = "allowed"
        verdict = Verdict(
            id=f"verdict-{proposal.id}",
            time=proposal.time,
            source=ns.ID_BASE + "agent/sandbox-policy",
            proposal=proposal.id,
            outcome=outcome,  # type: ignore[arg-type]
            policy_version=ENVELOPE_VERSION,
            violations=violations,
        )
        self.verdicts.append(verdict)
        if self.twin is not None and outcome != "pending-approval":
            reason = "; ".join(f"{v.rule}: {v.message}" for v in violations) or "within the sandbox envelope"
            self.twin.policy_verdict(proposal_node(proposal.id).value, outcome, reason, ENVELOPE_VERSION)
        return verdict


def power_limit(limits: dict[str, float], rule: str = ns.ID_BASE + "policy/sandbox-max-power") -> Rule:
    """A rule: no setpoint above its asset's limit (MW)."""

    def check(proposal: Proposal) -> list[Violation]:
        return [
            Violation(rule=rule, message=f"{s.p_mw:g} MW exceeds the limit {limits[s.asset]:g} MW", asset=s.asset)
            for s in proposal.setpoints
            if s.asset in limits and abs(s.p_mw) > limits[s.asset] + 1e-6
        ]

    return check


@dataclass(frozen=True, slots=True)
class Switch:
    """A pulled switch: its scope (global, asset, agent), target (None for global) and reason."""

    scope: str
    target: str | None
    reason: str

    def __str__(self) -> str:
        """How incidents name it."""
        return f"{self.scope}:{self.target} ({self.reason})"


class MemorySwitches:
    """Kill switches in memory (the real ones live in the graph)."""

    def __init__(self) -> None:
        self.pulled: dict[tuple[str, str | None], Switch] = {}

    def pull(self, scope: str, target: str | None, reason: str) -> None:
        """Stop every actuation the switch covers, from the next one on."""
        self.pulled[(scope, target)] = Switch(scope, target, reason)

    def release(self, scope: str, target: str | None, reason: str) -> None:
        """Let actuations pass again."""
        self.pulled.pop((scope, target), None)

    def blocking(self, asset: str, agent: str) -> Switch | None:
        """The switch that stops this actuation, if any."""
        keys: tuple[tuple[str, str | None], ...] = (("global", None), ("asset", asset), ("agent", agent))
        for key in keys:
            if key in self.pulled:
                return self.pulled[key]
        return None


class MemoryApprovals:
    """Pending approvals in memory; ``decide`` is what a person's command does."""

    def __init__(self) -> None:
        self.deadlines: dict[str, datetime] = {}
        self.statuses: dict[str, ApprovalStatus] = {}

    def request(self, proposal: Proposal, deadline: datetime) -> str:
        """Put ``proposal`` up for approval until ``deadline``."""
        self.deadlines[proposal.id] = deadline
        self.statuses[proposal.id] = "pending"
        return proposal.id

    def decide(self, proposal_id: str, approve: bool, reason: str) -> None:
        """A person approved or rejected it."""
        if self.statuses.get(proposal_id) == "pending":
            self.statuses[proposal_id] = "approved" if approve else "rejected"

    def status(self, proposal_id: str) -> ApprovalStatus | None:
        """Where the request stands."""
        return self.statuses.get(proposal_id)

    def expire(self, now: datetime) -> list[str]:
        """Those whose deadline passed, now expired."""
        gone = [p for p, d in self.deadlines.items() if self.statuses[p] == "pending" and d <= now]
        for p in gone:
            self.statuses[p] = "expired"
        return gone
