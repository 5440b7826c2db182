"""Approvals: an action above the approval threshold waits for a person until its deadline.

Each request lives in the approvals graph (``etg:approvals``, checked by ``shapes/control.ttl``)
with its status: pending, then approved or rejected by a person (the holder of the signing key,
as :mod:`enertwin.kg.provenance.human` records it, with the reason), or expired when its deadline
passed first. The caller of :meth:`Approvals.expire` then runs the safe plan
(:mod:`enertwin.agents.control.safe_plan`). Every step is a signed record committed with the
state it made, so ``enertwin report approvals`` shows who decided what, when and why.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, get_args
from urllib.parse import quote

from pyoxigraph import NamedNode, Triple

from enertwin.agents.control.instants import instant
from enertwin.agents.events import EventRefused, Proposal, decode, encode
from enertwin.kg import namespaces as ns
from enertwin.kg.errors import InputError
from enertwin.kg.provenance.human import verdict_activity
from enertwin.kg.provenance.keys import Identity
from enertwin.kg.provenance.record import (
    SOFTWARE_AGENT,
    ActivityRecord,
    Term,
    agent_triples,
    person_name,
    person_node,
    text,
    timestamp,
)
from enertwin.kg.terms import to_python
from enertwin.twin import Twin

Status = Literal["pending", "approved", "rejected", "expired"]
STATUSES: tuple[str, ...] = get_args(Status)
_PACKAGE = "enertwin.agents.control"
_REQUEST_BASE = f"{ns.ID_BASE}approval-request/"


@dataclass(frozen=True, slots=True)
class Pending:
    """An approval request: the proposal, its deadline and where it stands (who decided, when, why)."""

    proposal: Proposal
    deadline: datetime
    status: Status
    request: str
    requested_by: str
    decided_by: str | None = None
    decided_at: datetime | None = None
    reason: str | None = None

    @property
    def proposal_id(self) -> str:
        """The id of the proposal (what ``enertwin approve`` and ``reject`` name)."""
        return self.proposal.id


def request_node(proposal_id: str) -> NamedNode:
    """The node of the approval request of proposal ``proposal_id``."""
    return NamedNode(_REQUEST_BASE + quote(proposal_id, safe=""))


class Approvals:
    """The approval requests of one twin: file them, decide them, expire them."""

    def __init__(self, twin: Twin) -> None:
        """Work on ``twin``'s approvals graph (read afresh on each call: requests are few and rare)."""
        self._twin = twin

    # -- reading ---------------------------------------------------------------------------

    def requests(self) -> list[Pending]:
        """Every request, by deadline."""
        return self._read()[1]

    def pending(self) -> list[Pending]:
        """The requests still waiting for a person, by deadline."""
        return [p for p in self.requests() if p.status == "pending"]

    def find(self, proposal_id: str) -> Pending | None:
        """The request of proposal ``proposal_id`` (or named by its request IRI), if any."""
        for found in self.requests():
            if proposal_id in (found.proposal_id, found.request):
                return found
        return None

    def status(self, proposal_id: str) -> Status | None:
        """Where the request of ``proposal_id`` stands (``None``: there is none)."""
        found = self.find(proposal_id)
        return found.status if found is not None else None

    def _read(self) -> tuple[str | None, list[Pending]]:
        version, rows = self._twin.state_rows(ns.APPROVAL_GRAPH, _PACKAGE, "approval_requests.rq")
        found = []
        for row in rows:
            values = {key: to_python(term) for key, term in row.items()}
            try:
                proposal = decode(str(values["document"]).encode())
            except EventRefused as exc:
                raise InputError(
                    f"the approval request <{values['request']}> holds no readable proposal: {exc}"
                ) from exc
            if not isinstance(proposal, Proposal) or str(values["status"]) not in STATUSES:
                raise InputError(f"the approval request <{values['request']}> does not hold a proposal")
            decider = row["decider"]
            found.append(
                Pending(
                    proposal=proposal,
                    deadline=instant(values["deadline"]),
                    status=str(values["status"]),  # type: ignore[arg-type]
                    request=str(values["request"]),
                    requested_by=str(values["requester"]),
                    decided_by=person_name(decider) if isinstance(decider, NamedNode) else None,
                    decided_at=None if values["decided"] is None else instant(values["decided"]),
                    reason=None if values["reason"] is None else str(values["reason"]),
                )
            )
        return version, found

    # -- writing ---------------------------------------------------------------------------

    def request(self, proposal: Proposal, deadline: datetime) -> Pending:
        """Put ``proposal`` before a person until ``deadline`` (an instant); recorded. A second request is bad input."""
        if deadline.tzinfo is None:
            raise InputError("an approval deadline must be an instant (give its UTC offset)")
        try:
            requester = NamedNode(proposal.source)
        except ValueError as exc:
            raise InputError(f"the proposal's source {proposal.source!r} is not an agent IRI: {exc}") from exc
        version, known = self._read()
        if any(p.proposal_id == proposal.id for p in known):
            raise InputError(f"proposal {proposal.id} already has an approval request; it is decided once")
        node = request_node(proposal.id)
        now = datetime.now(UTC)
        activity = ActivityRecord(NamedNode(f"{ns.ID_BASE}escalation/{uuid.uuid4().hex}"), ns.ESCALATION, now, now)
        activity.add(activity.iri, ns.RDFS_LABEL, text(f"Escalation of proposal {proposal.id} to a person"))
        if proposal.decision is not None:
            activity.add(activity.iri, ns.CONCERNS, NamedNode(proposal.decision))
        activity.associate(SOFTWARE_AGENT, ns.OPERATOR_ROLE).extend(agent_triples(self._twin.signer.identity))
        facts: dict[NamedNode, Term] = {
            ns.PROPOSAL_ID: text(proposal.id),
            ns.APPROVAL_STATUS: text("pending"),
            ns.DEADLINE: timestamp(deadline),
            ns.PROPOSAL_DOCUMENT: text(encode(proposal).decode()),
            ns.REQUESTED_BY: requester,
        }
        # the record names what was asked, not the status: that changes, in the approvals graph only
        activity.add(activity.iri, ns.PROV_GENERATED, node)
        activity.extend(Triple(node, p, o) for p, o in facts.items() if p != ns.APPROVAL_STATUS)
        self._write(node, facts, activity, version)
        return self._found(proposal.id)

    def decide(
        self, proposal_id: str, approve: bool, reason: str, now: datetime | None = None, by: str | None = None
    ) -> Pending:
        """Approve or reject the pending request of ``proposal_id`` with ``reason``; recorded.

        ``by`` names the person (a command a runtime relays); ``None`` is the key's holder. An
        unknown, already decided or expired request, one past its deadline, or an empty reason
        is bad input and changes nothing.
        """
        if not reason.strip():
            word = "an approval" if approve else "a rejection"
            raise InputError(f"{word} of a pending action needs a reason (--reason): the record must say why")
        version, known = self._read()
        found = next((p for p in known if proposal_id in (p.proposal_id, p.request)), None)
        if found is None:
            raise InputError(f"no action {proposal_id!r} waits for approval (see `enertwin approvals list`)")
        if found.status != "pending":
            raise InputError(f"action {found.proposal_id} is {found.status}, not pending: it can be decided only once")
        moment = now or datetime.now(UTC)
        if moment >= found.deadline:
            raise InputError(
                f"action {found.proposal_id} passed its deadline ({found.deadline.isoformat(timespec='seconds')}): "
                "it can no longer be decided; it expires and the safe plan runs"
            )
        identity = self._twin.signer.identity
        if by is not None:
            if not by.strip():
                raise InputError("who decides a pending action must be named (a person's name)")
            identity = Identity(by.strip())
        used = NamedNode(found.proposal.decision) if found.proposal.decision is not None else None
        kind = ns.APPROVAL if approve else ns.REJECTION
        node = NamedNode(found.request)
        activity = verdict_activity(identity, kind, node, used, reason)
        facts = _facts(found) | {
            ns.APPROVAL_STATUS: text("approved" if approve else "rejected"),
            ns.DECIDED_BY: person_node(identity.person),
            ns.DECIDED_AT: timestamp(moment),
            ns.REASON: text(reason.strip()),
        }
        self._write(node, facts, activity, version)
        return self._found(found.proposal_id)

    def expire(self, now: datetime, proposal_ids: Collection[str] | None = None) -> list[Pending]:
        """Mark expired every pending request whose deadline is at or before ``now`` (one record); those requests.

        ``proposal_ids`` limits it to those proposals' requests: a sandbox run's clock is its own
        plant time, which says nothing of the deadlines of another run's requests.
        """
        if now.tzinfo is None:
            raise InputError("the time requests expire at must be an instant (give its UTC offset)")
        version, known = self._read()
        due = [p for p in known if p.status == "pending" and p.deadline <= now]
        if proposal_ids is not None:
            due = [p for p in due if p.proposal_id in proposal_ids]
        if not due:
            return []
        began = datetime.now(UTC)
        activity = ActivityRecord(
            NamedNode(f"{ns.ID_BASE}approval-expiry/{uuid.uuid4().hex}"), ns.APPROVAL_EXPIRY, began, began
        )
        activity.add(activity.iri, ns.RDFS_LABEL, text(f"Expiry of {len(due)} pending action(s) at {now.isoformat()}"))
        activity.add(
            activity.iri, ns.REASON, text("the deadline passed without a person's decision: the safe plan runs")
        )
        activity.associate(SOFTWARE_AGENT, ns.OPERATOR_ROLE).extend(agent_triples(self._twin.signer.identity))
        described = {}
        for pending in due:
            node = NamedNode(pending.request)
            activity.add(activity.iri, ns.CONCERNS, node)
            facts = _facts(pending) | {ns.APPROVAL_STATUS: text("expired"), ns.DECIDED_AT: timestamp(now)}
            described[node] = _state(node, facts, activity.iri)
        self._twin.record_state(ns.APPROVAL_GRAPH, described, activity, version)
        expired = {p.proposal_id for p in due}
        return [p for p in self.requests() if p.proposal_id in expired]

    def _write(
        self, node: NamedNode, facts: dict[NamedNode, Term], activity: ActivityRecord, version: str | None
    ) -> None:
        self._twin.record_state(ns.APPROVAL_GRAPH, {node: _state(node, facts, activity.iri)}, activity, version)

    def _found(self, proposal_id: str) -> Pending:
        found = self.find(proposal_id)
        assert found is not None, "a committed request is read back"
        return found


def _facts(pending: Pending) -> dict[NamedNode, Term]:
    """The request's facts that stay when its status changes."""
    return {
        ns.PROPOSAL_ID: text(pending.proposal_id),
        ns.DEADLINE: timestamp(pending.deadline),
        ns.PROPOSAL_DOCUMENT: text(encode(pending.proposal).decode()),
        ns.REQUESTED_BY: NamedNode(pending.requested_by),
    }


def _state(node: NamedNode, facts: dict[NamedNode, Term], activity: NamedNode) -> list[Triple]:
    """The request's triples in the approvals graph, naming the activity that last changed it."""
    return [
        Triple(node, ns.RDF_TYPE, ns.APPROVAL_REQUEST),
        Triple(node, ns.PROV_WAS_GENERATED_BY, activity),
        *(Triple(node, p, o) for p, o in facts.items()),
    ]
