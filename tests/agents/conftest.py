"""A twin holding hv-mixed and its price reference, and the portfolio of a short sandbox run, once per session."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from enertwin import Twin
from enertwin.agents.policy.engine import PolicyEngine
from enertwin.agents.policy.sets import with_default_rules
from enertwin.agents.sim.simulation import Portfolio, SimulationConfig, read_portfolio

START = datetime.fromisoformat("2016-01-14T00:00")
HORIZON = 24


def short_config(steps: int = 4, **options: object) -> SimulationConfig:
    """A run of a few 15-minute steps with a 6-hour horizon (tests stay short)."""
    return SimulationConfig("hv-mixed", START, days=steps / 96, horizon=HORIZON, **options)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def twin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Twin]:
    with Twin.open(tmp_path_factory.mktemp("agents") / "store") as opened:
        opened.prepare_case("hv-mixed")
        yield opened


@pytest.fixture(scope="session")
def portfolio(twin: Twin) -> Portfolio:
    """Enough of hv-mixed for runs of up to 8 steps."""
    return read_portfolio(twin, short_config(8))


EVERY_ACTION_NEEDS_APPROVAL = b"""
@prefix et: <https://w3id.org/enertwin/ontology#> .
@prefix etpol: <https://w3id.org/enertwin/policy/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<https://w3id.org/enertwin/policy/test-approve-all/1> a et:PolicySet ; et:policyVersion "test-approve-all-1" .
etpol:test-approve-all a sh:NodeShape ;
    rdfs:label "test: every action needs a person"@en ;
    sh:severity sh:Warning ;
    sh:targetClass et:ProposedAction ;
    sh:sparql [
        sh:message "The test puts every action before a person."@en ;
        sh:prefixes etpol:prefixes ;
        sh:select "SELECT $this WHERE { $this a et:ProposedAction }"
    ] .
"""


def pinned_policy(twin: Twin, turtle: bytes, name: str) -> PolicyEngine:
    """A policy engine judging by ``turtle`` plus the default rules, loaded into ``twin`` (not activated)."""
    loaded = twin.load_policy(with_default_rules(turtle), name)
    return PolicyEngine(twin, loaded.version)
