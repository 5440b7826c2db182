"""Proposals for the policy tests, and the default set's thresholds read from policies/default.ttl."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pyoxigraph import NamedNode, RdfFormat, parse

from enertwin.agents.events import Proposal, Setpoint
from enertwin.agents.policy.sets import default_policy_turtle

AT = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
ID = "https://w3id.org/enertwin/id/policy-test/"
LIGNITE = ID + "lignite-1"  # 100 MW, the reference cost model's lignite ramp share 0.25: its own ramp 25 MW / 15 min
GAS = ID + "gas-1"  # 50 MW, gas ramp share 1.0: 50 MW / 15 min
BATTERY = ID + "battery-1"  # 40 MWh, 10 MVA
PORTFOLIO = f"""
@prefix et: <https://w3id.org/enertwin/ontology#> . @prefix etid: <https://w3id.org/enertwin/id/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<{ID}grid> a et:Grid ; et:sourceName "policy test grid" ; et:timeZone "UTC" .
<{ID}bus> a et:Bus ; et:sourceName "bus 1" ; et:nominalVoltage "110.0"^^xsd:double ; et:inGrid <{ID}grid> ;
    et:inService true ; et:voltageLevel 3 ; et:subnet "HV1" .
<{LIGNITE}> a et:ThermalUnit ; et:sourceName "lignite 1" ; et:atBus <{ID}bus> ; et:inGrid <{ID}grid> ;
    et:minActivePower "0.0"^^xsd:double ; et:maxActivePower "100.0"^^xsd:double ;
    et:hasFuelType <https://w3id.org/enertwin/id/fuel/lignite> .
<{GAS}> a et:ThermalUnit ; et:sourceName "gas 1" ; et:atBus <{ID}bus> ; et:inGrid <{ID}grid> ;
    et:minActivePower "0.0"^^xsd:double ; et:maxActivePower "50.0"^^xsd:double ;
    et:hasFuelType <https://w3id.org/enertwin/id/fuel/gas> .
<{BATTERY}> a et:Storage ; et:sourceName "battery 1" ; et:atBus <{ID}bus> ; et:inGrid <{ID}grid> ;
    et:roundTripEfficiency "0.9"^^xsd:double ; et:energyCapacity "40.0"^^xsd:double ;
    et:minEnergy "0.0"^^xsd:double ; et:ratedApparentPower "10.0"^^xsd:double ;
    et:selfDischargePercentPerDay "0.0"^^xsd:double .
"""
SOURCE = "https://w3id.org/enertwin/id/agent/test-optimizer"
ET = "https://w3id.org/enertwin/ontology#"
POL = "https://w3id.org/enertwin/policy/"


def threshold(rule: str, prop: str) -> float:
    """A number the default set gives on one of its rules."""
    for t in parse(default_policy_turtle(), format=RdfFormat.TURTLE):
        if t.subject == NamedNode(POL + rule) and t.predicate == NamedNode(ET + prop):
            return float(t.object.value)
    raise KeyError((rule, prop))


def reserve_hours() -> set[int]:
    rule, prop = NamedNode(POL + "storage-reserve"), NamedNode(ET + "reserveHour")
    return {
        int(t.object.value)
        for t in parse(default_policy_turtle(), format=RdfFormat.TURTLE)
        if t.subject == rule and t.predicate == prop
    }


def proposal(
    setpoints: list[tuple[str, float]] = (),
    previous: list[tuple[str, float]] = (),
    *,
    at: datetime = AT,
    soc: dict[str, float] | None = None,
    **totals: float,
) -> Proposal:
    """A proposal for one step at ``at``, after applied setpoints 15 minutes before."""
    soc = soc or {}
    return Proposal(
        source=SOURCE,
        setpoints=tuple(Setpoint(asset=a, at=at, p_mw=p, soc_mwh=soc.get(a)) for a, p in setpoints),
        previous=tuple(Setpoint(asset=a, at=at - timedelta(minutes=15), p_mw=p) for a, p in previous),
        **totals,
    )
