"""What the loop needs from the policy engine, the kill switches and the approvals (CONTRACTS.md).

Typing protocols only, so the coordinator is written against the contracts; the real
``PolicyEngine``, ``KillSwitches`` and ``Approvals`` meet them (in the sandbox too).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Literal, Protocol

from enertwin.agents.events import Proposal, Verdict

ApprovalStatus = Literal["pending", "approved", "rejected", "expired"]


class PolicyGate(Protocol):
    """Judges a proposal against the active policy set (and records the verdict)."""

    def evaluate(self, proposal: Proposal) -> Verdict:
        """Allowed, blocked (with violations) or pending-approval."""
        ...

    def active_version(self) -> str:
        """The IRI of the active policy set's version."""
        ...


class SwitchBoard(Protocol):
    """The kill switches: which one, if any, stops an actuation of ``asset`` by ``agent``."""

    def blocking(self, asset: str, agent: str) -> object | None:
        """The switch that stops it, or None."""
        ...


class ApprovalDesk(Protocol):
    """Where actions above the approval threshold wait for a person."""

    def request(self, proposal: Proposal, deadline: datetime) -> object:
        """Put ``proposal`` up for approval until ``deadline``."""
        ...

    def status(self, proposal_id: str) -> ApprovalStatus | None:
        """Where the request stands."""
        ...

    def expire(self, now: datetime, proposal_ids: Collection[str] | None = None) -> Sequence[object]:
        """Mark the requests (of ``proposal_ids``, or all) whose deadline passed by ``now`` as expired."""
        ...
