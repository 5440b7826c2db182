"""Who an agent is: a ``prov:SoftwareAgent`` with its role, version and configuration, as graph facts.

Every record an agent appends names it, so ``enertwin report`` can say which agent (in which
configuration) proposed, blocked, applied or fell back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from pyoxigraph import NamedNode, Triple

from enertwin.kg import namespaces as ns
from enertwin.kg.provenance.record import ActivityRecord, text

AGENT_VERSION = "1.0"
AGENT_BASE = ns.ID_BASE + "agent/"


def canonical_json(value: object) -> str:
    """JSON with sorted keys and no spaces: equal values give equal text (and equal hashes)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


@dataclass(frozen=True, slots=True)
class AgentIdentity:
    """One running agent: its IRI, its role (an ``et:AgentRole``), version and configuration."""

    name: str
    role: NamedNode
    version: str = AGENT_VERSION
    configuration: Mapping[str, object] = field(default_factory=dict)

    @property
    def iri(self) -> NamedNode:
        """The agent's node: one per name, so a restarted agent is the same agent."""
        return NamedNode(AGENT_BASE + self.name)

    def triples(self) -> list[Triple]:
        """The agent as graph facts."""
        node = self.iri
        return [
            Triple(node, ns.RDF_TYPE, ns.PROV_SOFTWARE_AGENT),
            Triple(node, ns.RDF_TYPE, ns.ET_SOFTWARE_AGENT),
            Triple(node, ns.RDF_TYPE, ns.PROV_AGENT),
            Triple(node, ns.RDFS_LABEL, text(self.name)),
            Triple(node, ns.HAS_ROLE, self.role),
            Triple(node, ns.SOFTWARE_VERSION, text(self.version)),
            Triple(node, ns.AGENT_CONFIGURATION, text(canonical_json(dict(self.configuration)))),
        ]


def registration(agents: Iterable[AgentIdentity], started: datetime, ended: datetime, run: str) -> ActivityRecord:
    """The record that starts a set of agents (each described with its role, version and configuration)."""
    activity = ActivityRecord(NamedNode(f"{ns.ID_BASE}agent-registration/{run}"), ns.AGENT_REGISTRATION, started, ended)
    activity.add(activity.iri, ns.RDFS_LABEL, text(f"agents of run {run}"))
    for agent in agents:
        activity.extend(agent.triples())
        activity.associate(agent.iri, agent.role)
    return activity
