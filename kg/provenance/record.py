"""What one provenance record says: an activity, its agents and roles, what it used and generated.

Builders return plain triples; the :class:`~enertwin.kg.provenance.ledger.Ledger` adds the
record's header (sequence number, previous hash), signs it and appends it.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from urllib.parse import quote, unquote

from pyoxigraph import BlankNode, Literal, NamedNode, Triple

from enertwin.kg import namespaces as ns
from enertwin.kg.provenance.keys import Identity

Term = NamedNode | Literal | BlankNode
SOFTWARE_AGENT = NamedNode(ns.ID_BASE + "agent/enertwin")


def timestamp(moment: datetime) -> Literal:
    """An ``xsd:dateTime`` literal in UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return Literal(moment.isoformat(), datatype=ns.XSD_DATETIME)


def text(value: str) -> Literal:
    """A plain string literal."""
    return Literal(value)


def integer(value: int) -> Literal:
    """An ``xsd:integer`` literal."""
    return Literal(str(value), datatype=ns.XSD_INTEGER)


def boolean(value: bool) -> Literal:
    """An ``xsd:boolean`` literal."""
    return Literal("true" if value else "false", datatype=ns.XSD_BOOLEAN)


def person_node(name: str) -> NamedNode:
    """The ``prov:Person`` node of a person's name."""
    return NamedNode(f"{ns.ID_BASE}person/{quote(name, safe='')}")


def person_name(node: NamedNode) -> str:
    """The name a :func:`person_node` was made of (the IRI itself for any other node)."""
    base = f"{ns.ID_BASE}person/"
    return unquote(node.value[len(base) :]) if node.value.startswith(base) else node.value


@cache
def _software_version() -> str:
    """The version of enertwin, read once: the lookup costs milliseconds, a change record a few."""
    return importlib.metadata.version("enertwin")


def agent_triples(identity: Identity) -> list[Triple]:
    """The enertwin software agent, acting on behalf of the person (and organisation) it runs for."""
    person = person_node(identity.person)
    out = [
        Triple(SOFTWARE_AGENT, ns.RDF_TYPE, ns.PROV_SOFTWARE_AGENT),
        Triple(SOFTWARE_AGENT, ns.RDF_TYPE, ns.PROV_AGENT),
        Triple(SOFTWARE_AGENT, ns.RDFS_LABEL, text("enertwin")),
        Triple(SOFTWARE_AGENT, ns.SOFTWARE_VERSION, text(_software_version())),
        Triple(SOFTWARE_AGENT, ns.PROV_ACTED_ON_BEHALF_OF, person),
        *person_triples(identity.person),
    ]
    if identity.organisation:
        organisation = NamedNode(f"{ns.ID_BASE}organisation/{quote(identity.organisation, safe='')}")
        out += [
            Triple(person, ns.PROV_ACTED_ON_BEHALF_OF, organisation),
            Triple(organisation, ns.RDF_TYPE, ns.PROV_ORGANIZATION),
            Triple(organisation, ns.RDF_TYPE, ns.PROV_AGENT),
            Triple(organisation, ns.RDFS_LABEL, text(identity.organisation)),
        ]
    return out


def person_triples(name: str) -> list[Triple]:
    """A ``prov:Person`` with its name."""
    person = person_node(name)
    return [
        Triple(person, ns.RDF_TYPE, ns.PROV_PERSON),
        Triple(person, ns.RDF_TYPE, ns.PROV_AGENT),
        Triple(person, ns.RDFS_LABEL, text(name)),
    ]


@dataclass
class ActivityRecord:
    """The triples of one activity, built up fact by fact."""

    iri: NamedNode
    kind: NamedNode
    started: datetime
    ended: datetime
    triples: list[Triple] = field(default_factory=list)

    def __post_init__(self) -> None:
        """Type the activity and give it its times."""
        self.add(self.iri, ns.RDF_TYPE, self.kind)
        self.add(self.iri, ns.RDF_TYPE, ns.PROV_ACTIVITY)
        self.add(self.iri, ns.PROV_STARTED_AT, timestamp(self.started))
        self.add(self.iri, ns.PROV_ENDED_AT, timestamp(self.ended))

    def add(self, subject: NamedNode | BlankNode, predicate: NamedNode, value: Term) -> ActivityRecord:
        """One more fact."""
        self.triples.append(Triple(subject, predicate, value))
        return self

    def extend(self, triples: Iterable[Triple]) -> ActivityRecord:
        """Several more facts (an agent's description, say)."""
        self.triples.extend(triples)
        return self

    def associate(self, agent: NamedNode, role: NamedNode) -> ActivityRecord:
        """``agent`` was associated with the activity in ``role`` (a qualified association)."""
        association = BlankNode()
        self.add(self.iri, ns.PROV_WAS_ASSOCIATED_WITH, agent)
        self.add(self.iri, ns.PROV_QUALIFIED_ASSOCIATION, association)
        self.add(association, ns.RDF_TYPE, ns.PROV_ASSOCIATION)
        self.add(association, ns.PROV_AGENT_PROP, agent)
        return self.add(association, ns.PROV_HAD_ROLE, role)

    def used(self, entity: NamedNode, kind: NamedNode, facts: Mapping[NamedNode, Term]) -> ActivityRecord:
        """The activity used ``entity`` (typed ``kind``, described by ``facts``)."""
        self.add(self.iri, ns.PROV_USED, entity)
        return self._entity(entity, kind, facts)

    def generated(self, entity: NamedNode, kind: NamedNode, facts: Mapping[NamedNode, Term]) -> ActivityRecord:
        """The activity generated ``entity`` (typed ``kind``, described by ``facts``)."""
        self.add(self.iri, ns.PROV_GENERATED, entity)
        self.add(entity, ns.PROV_WAS_GENERATED_BY, self.iri)
        return self._entity(entity, kind, facts)

    def _entity(self, entity: NamedNode, kind: NamedNode, facts: Mapping[NamedNode, Term]) -> ActivityRecord:
        self.add(entity, ns.RDF_TYPE, kind)
        self.add(entity, ns.RDF_TYPE, ns.PROV_ENTITY)
        for predicate, value in facts.items():
            self.add(entity, predicate, value)
        return self
