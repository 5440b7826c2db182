"""The provenance of what agents do: proposals, actuations, fallbacks and incidents as activity records.

Builders only; the coordinator appends a round's records in one burst (``Ledger.append_many``
through the Twin), so a round costs one commit however many records it makes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from pyoxigraph import Literal, NamedNode

from enertwin.agents.events import Actuation, Incident, Proposal, Setpoint
from enertwin.agents.roles.identity import AgentIdentity, canonical_json
from enertwin.kg import namespaces as ns
from enertwin.kg.provenance.record import ActivityRecord, Term, boolean, text, timestamp

PROPOSAL_BASE = ns.ID_BASE + "proposal/"


def setpoints_json(setpoints: Sequence[Setpoint]) -> str:
    """Setpoints as canonical JSON, values rounded to 0.1 kW so that equal decisions hash equal."""
    rows = [
        {"asset": s.asset, "p_mw": round(s.p_mw, 4), "committed": s.committed, "soc_mwh": _round(s.soc_mwh)}
        for s in sorted(setpoints, key=lambda s: s.asset)
    ]
    return canonical_json(rows)


def decision_hash(setpoints: Sequence[Setpoint]) -> str:
    """SHA-256 of :func:`setpoints_json`."""
    return hashlib.sha256(setpoints_json(setpoints).encode()).hexdigest()


def proposal_node(proposal_id: str) -> NamedNode:
    """The ``et:ProposedAction`` node of a proposal event."""
    return NamedNode(PROPOSAL_BASE + proposal_id)


def proposing(agent: AgentIdentity, proposal: Proposal, wall: tuple[datetime, datetime]) -> ActivityRecord:
    """The optimizer proposed ``proposal``: its setpoints, cost and the hash that identifies the decision."""
    activity = ActivityRecord(NamedNode(f"{ns.ID_BASE}proposing/{proposal.id}"), ns.PROPOSING, *wall)
    activity.add(activity.iri, ns.OPERATING_TIME, timestamp(proposal.time))
    activity.generated(
        proposal_node(proposal.id),
        ns.PROPOSED_ACTION,
        {
            ns.EVENT_ID: text(proposal.id),
            ns.DECISION_HASH: text(decision_hash(proposal.setpoints)),
            ns.SETPOINTS_JSON: text(setpoints_json(proposal.setpoints)),
            ns.COST_IMPACT: _double(proposal.cost_impact_eur),
        },
    )
    return activity.associate(agent.iri, agent.role)


def actuation(agent: AgentIdentity, event: Actuation, mode: str, wall: tuple[datetime, datetime]) -> ActivityRecord:
    """The actuator applied ``event`` (in ``mode``: sandbox, live or shadow), using the proposal it carries."""
    activity = ActivityRecord(NamedNode(f"{ns.ID_BASE}actuation/{event.id}"), ns.ACTUATION, *wall)
    activity.add(activity.iri, ns.OPERATING_TIME, timestamp(event.time))
    activity.add(activity.iri, ns.EVENT_ID, text(event.id))
    activity.add(activity.iri, ns.ACTUATION_MODE, text(mode))
    activity.add(activity.iri, ns.IS_FALLBACK, boolean(event.fallback))
    activity.add(activity.iri, ns.SETPOINTS_JSON, text(setpoints_json(event.setpoints)))
    activity.add(activity.iri, ns.PROV_USED, proposal_node(event.proposal))
    return activity.associate(agent.iri, agent.role)


def fallback(
    agent: AgentIdentity, at: datetime, reason: str, plan: str, proposal: str | None, wall: tuple[datetime, datetime]
) -> ActivityRecord:
    """The coordinator ran the safe plan (``plan``: approved-schedule, last-approved, conservative) instead."""
    activity = ActivityRecord(NamedNode(f"{ns.ID_BASE}fallback/{plan}/{_key(at, reason)}"), ns.FALLBACK, *wall)
    activity.add(activity.iri, ns.OPERATING_TIME, timestamp(at))
    activity.add(activity.iri, ns.REASON, text(f"{plan} plan: {reason}"))
    if proposal is not None:
        activity.add(activity.iri, ns.CONCERNS, proposal_node(proposal))
    return activity.associate(agent.iri, agent.role)


def incident(agent: AgentIdentity, event: Incident, wall: tuple[datetime, datetime]) -> ActivityRecord:
    """``agent`` found and handled ``event``; the incident is an ``et:DataQualityIncident`` the reports list."""
    activity = ActivityRecord(NamedNode(f"{ns.ID_BASE}incident-report/{event.id}"), ns.INCIDENT_REPORT, *wall)
    activity.add(activity.iri, ns.OPERATING_TIME, timestamp(event.time))
    activity.add(activity.iri, ns.RDFS_LABEL, text(f"{event.kind} found by {agent.name}"))
    facts: dict[NamedNode, Term] = {
        ns.INCIDENT_KIND: text(event.kind),
        ns.SEVERITY: text(event.severity),
        ns.REASON: text(event.message),
        ns.EVENT_ID: text(event.id),
    }
    if event.subject.startswith(("http://", "https://")):
        facts[ns.CONCERNS] = NamedNode(event.subject)
    activity.generated(NamedNode(f"{ns.ID_BASE}incident/{event.id}"), ns.DATA_QUALITY_INCIDENT, facts)
    return activity.associate(agent.iri, agent.role)


def _key(at: datetime, reason: str) -> str:
    return hashlib.sha256(f"{at.isoformat()}|{reason}".encode()).hexdigest()[:24]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _double(value: float) -> Literal:
    return Literal(repr(float(value)), datatype=ns.XSD_DOUBLE)
