"""A proposed action as RDF: the data graph the policies' shapes and SPARQL constraints read.

The proposal's numbers become an ``et:ProposedAction`` with one ``et:ProposedSetpoint`` per
setpoint, each linked to the setpoint of its asset just before it (``et:follows``, a proposed
one or the last applied one) with the minutes between them, so that a rule on change (a ramp)
is one join. The assets' own facts (ratings, capacity, fuel and its cost entries' ramp share)
are read from the twin and joined in, so a rule can compare a setpoint with its unit. What
counts as too much stays in the policy set; this module only states facts.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pyoxigraph import Literal, NamedNode, Triple

from enertwin import Twin
from enertwin.agents.events import Proposal, Setpoint
from enertwin.kg import namespaces as ns
from enertwin.kg.provenance.record import boolean, integer, timestamp

UNKNOWN_ASSET_BASE = ns.ID_BASE + "unknown-asset/"
_FACTS = (("maxP", ns.MAX_ACTIVE_POWER), ("rated", ns.RATED_APPARENT_POWER), ("capacity", ns.ENERGY_CAPACITY))


def number(value: float) -> Literal:
    """An ``xsd:double`` literal."""
    return Literal(repr(float(value)), datatype=ns.XSD_DOUBLE)


def asset_node(asset: str) -> NamedNode:
    """The asset's IRI; a text that is no IRI names an asset no graph holds (so the known-asset rule sees it)."""
    try:
        return NamedNode(asset)
    except ValueError:
        return NamedNode(UNKNOWN_ASSET_BASE + quote(asset, safe=""))


def action_node(proposal: Proposal) -> NamedNode:
    """The IRI of a proposal's action: what its verdict's record concerns."""
    return NamedNode(f"{ns.ID_BASE}proposal/{quote(proposal.id, safe='')}")


@dataclass(frozen=True, slots=True)
class AssetFacts:
    """What the graph says of some assets that policies read, as triples, and each asset's time zone."""

    triples: frozenset[Triple]
    zones: dict[str, ZoneInfo]


def read_asset_facts(twin: Twin, assets: Collection[str]) -> AssetFacts:
    """The facts of ``assets`` (IRIs) from the twin's live graphs (``asset_facts.rq``)."""
    nodes = sorted({asset_node(a) for a in assets}, key=lambda n: n.value)
    if not nodes:
        return AssetFacts(frozenset(), {})
    table = twin.policy_asset_facts(nodes)
    triples: set[Triple] = set()
    zones: dict[str, ZoneInfo] = {}
    for row in table.rows:
        asset = NamedNode(str(row["asset"]))
        triples.add(Triple(asset, ns.RDF_TYPE, ns.ASSET))
        for column, predicate in _FACTS:
            if isinstance(row[column], int | float):
                triples.add(Triple(asset, predicate, number(float(row[column]))))  # type: ignore[arg-type]
        if row["fuel"] is not None:
            fuel = NamedNode(str(row["fuel"]))
            triples.add(Triple(asset, ns.HAS_FUEL_TYPE, fuel))
            if row["entry"] is not None and isinstance(row["rampShare"], int | float):
                entry = NamedNode(str(row["entry"]))
                triples.add(Triple(entry, ns.FOR_FUEL_TYPE, fuel))
                triples.add(Triple(entry, ns.RAMP_SHARE, number(float(row["rampShare"]))))
        if isinstance(row["zone"], str):
            # an unknown zone name: the hour is read in UTC, as for a grid that names none
            with suppress(ZoneInfoNotFoundError, ValueError):
                zones[asset.value] = ZoneInfo(row["zone"])
    return AssetFacts(frozenset(triples), zones)


def action_triples(proposal: Proposal, facts: AssetFacts) -> list[Triple]:
    """The proposal's RDF form with the assets' facts joined in."""
    action = action_node(proposal)
    out = [
        Triple(action, ns.RDF_TYPE, ns.PROPOSED_ACTION),
        Triple(action, ns.PROV_WAS_ATTRIBUTED_TO, asset_node(proposal.source)),
        Triple(action, ns.MARKET_POSITION, number(proposal.market_position_mw)),
        Triple(action, ns.PROPOSED_COST, number(proposal.cost_eur)),
        Triple(action, ns.COST_IMPACT, number(proposal.cost_impact_eur)),
        Triple(action, ns.DAY_EMISSIONS, number(proposal.day_emissions_t)),
        Triple(action, ns.UNSERVED_ENERGY, number(proposal.unserved_mwh)),
    ]
    nodes: list[tuple[NamedNode, Setpoint, bool]] = [
        (NamedNode(f"{action.value}/previous/{i}"), s, False) for i, s in enumerate(proposal.previous)
    ]
    nodes += [(NamedNode(f"{action.value}/setpoint/{i}"), s, True) for i, s in enumerate(proposal.setpoints)]
    for node, setpoint, proposed in nodes:
        out += _setpoint_triples(node, setpoint, proposed, action, facts)
    change = 0.0
    for node, setpoint, before in _predecessors(nodes):
        _, earlier = before
        minutes = (setpoint.at - earlier.at).total_seconds() / 60.0
        out += [Triple(node, ns.FOLLOWS, before[0]), Triple(node, ns.MINUTES_AFTER, number(minutes))]
        change += abs(setpoint.p_mw - earlier.p_mw)
    out.append(Triple(action, ns.SETPOINT_CHANGE, number(change)))
    out.extend(facts.triples)
    return out


def _setpoint_triples(
    node: NamedNode, setpoint: Setpoint, proposed: bool, action: NamedNode, facts: AssetFacts
) -> Iterable[Triple]:
    asset = asset_node(setpoint.asset)
    zone = facts.zones.get(asset.value)
    hour = setpoint.at.astimezone(zone).hour if zone is not None else setpoint.at.hour
    yield Triple(node, ns.RDF_TYPE, ns.PROPOSED_SETPOINT if proposed else ns.APPLIED_SETPOINT)
    if proposed:
        yield Triple(node, ns.OF_ACTION, action)
    yield Triple(node, ns.SETS_ASSET, asset)
    yield Triple(node, ns.SETPOINT_TIME, timestamp(setpoint.at))
    yield Triple(node, ns.LOCAL_HOUR, integer(hour))
    yield Triple(node, ns.SETPOINT_POWER, number(setpoint.p_mw))
    if setpoint.soc_mwh is not None:
        yield Triple(node, ns.SETPOINT_STORED_ENERGY, number(setpoint.soc_mwh))
    if setpoint.committed is not None:
        yield Triple(node, ns.SETPOINT_COMMITTED, boolean(setpoint.committed))


def _predecessors(
    nodes: list[tuple[NamedNode, Setpoint, bool]],
) -> Iterable[tuple[NamedNode, Setpoint, tuple[NamedNode, Setpoint]]]:
    """Each proposed setpoint with the latest earlier setpoint of its asset (applied or proposed), if any."""
    by_asset: dict[str, list[tuple[datetime, int, NamedNode, Setpoint]]] = {}
    for order, (node, setpoint, _) in enumerate(nodes):
        by_asset.setdefault(setpoint.asset, []).append((setpoint.at, order, node, setpoint))
    for node, setpoint, proposed in nodes:
        if not proposed:
            continue
        earlier = [e for e in by_asset[setpoint.asset] if e[0] < setpoint.at]
        if earlier:
            _, _, before, previous = max(earlier, key=lambda e: (e[0], e[1]))
            yield node, setpoint, (before, previous)
