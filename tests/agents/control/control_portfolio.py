"""One small grid (a battery at a bus) that the kill switch and approval tests put in their stores."""

from __future__ import annotations

from pyoxigraph import NamedNode

from enertwin import Twin
from enertwin.kg import namespaces as ns

BATTERY = f"{ns.ID_BASE}control-test/battery"
BUS = f"{ns.ID_BASE}control-test/bus"
AGENT = f"{ns.ID_BASE}agent/optimizer"
GRID_GRAPH = NamedNode(ns.GRAPH_BASE + "control-test")
PORTFOLIO = f"""
@prefix et: <{ns.ET_BASE}> .
@prefix xsd: <{ns.XSD_BASE}> .
@prefix rdfs: <{ns.RDFS_BASE}> .
<{ns.ID_BASE}control-test/grid> a et:Grid ; rdfs:label "control test grid" ; et:sourceName "control test grid" ;
    et:sourceCode "1-MV-control--0-sw" .
<{BUS}> a et:Bus ; rdfs:label "bus" ; et:sourceName "MV Bus 1" ; et:nominalVoltage "20.0"^^xsd:double ;
    et:inGrid <{ns.ID_BASE}control-test/grid> ; et:inService true ; et:voltageLevel 5 ; et:subnet "MV1" .
<{BATTERY}> a et:Storage ; rdfs:label "battery" ; et:sourceName "MV Storage 1" ; et:atBus <{BUS}> ;
    et:roundTripEfficiency "0.9"^^xsd:double ; et:energyCapacity "4.0"^^xsd:double ; et:minEnergy "0.4"^^xsd:double ;
    et:ratedApparentPower "1.0"^^xsd:double ; et:selfDischargePercentPerDay "0.1"^^xsd:double .
"""


def add_portfolio(twin: Twin) -> None:
    """Store the small grid (kg's own write, without a record: what an import would have left)."""
    twin._store.replace_graph(GRID_GRAPH, PORTFOLIO.encode())
