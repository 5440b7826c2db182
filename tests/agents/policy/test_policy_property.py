"""Property: every random proposal that breaks a rule of the default set is blocked, never allowed.

"Breaks a rule" is computed here from the proposal's numbers, the portfolio's facts and the
thresholds read from policies/default.ttl, independently of the engine's SPARQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from policy_proposals import AT, BATTERY, GAS, LIGNITE, PORTFOLIO, SOURCE, reserve_hours, threshold
from pyoxigraph import NamedNode

from enertwin import Twin
from enertwin.agents.events import Proposal, Setpoint
from enertwin.agents.policy.engine import PolicyEngine
from enertwin.kg.store import Store

RATING = {LIGNITE: 100.0, GAS: 50.0, BATTERY: 10.0}
OWN_RAMP = {LIGNITE: 0.25 * 100.0, GAS: 1.0 * 50.0}  # the reference cost model's ramp share × maximum power
CAPACITY = {BATTERY: 40.0}
EPS = 1e-6
MARGIN = 1e-3  # proposals this close to a limit are left out of the "never blocked" direction


@pytest.fixture(scope="module")
def engine() -> Iterator[PolicyEngine]:
    store = Store.open(None)
    store.replace_graph(NamedNode("https://w3id.org/enertwin/graph/policy-test"), PORTFOLIO)
    with Twin(store) as twin:
        twin.init()
        yield PolicyEngine(twin)


@st.composite
def proposals(draw: st.DrawFn) -> Proposal:
    hour = draw(st.integers(14, 21))
    at = AT.replace(hour=hour)
    assets = draw(
        st.lists(
            st.sampled_from([LIGNITE, GAS, BATTERY, "https://example.org/ghost"]), min_size=1, max_size=4, unique=True
        )
    )
    setpoints, previous = [], []
    for asset in assets:
        if draw(st.booleans()):
            previous.append(Setpoint(asset=asset, at=at - timedelta(minutes=15), p_mw=draw(st.floats(-10, 100))))
        soc = draw(st.one_of(st.none(), st.floats(0, 40))) if asset == BATTERY else None
        setpoints.append(Setpoint(asset=asset, at=at, p_mw=draw(st.floats(-15, 110)), soc_mwh=soc))
    return Proposal(
        source=SOURCE,
        setpoints=tuple(setpoints),
        previous=tuple(previous),
        market_position_mw=draw(st.floats(-1500, 1500)),
        cost_impact_eur=draw(st.floats(-80_000, 80_000)),
        day_emissions_t=draw(st.floats(0, 7000)),
        unserved_mwh=draw(st.floats(0, 20)),
    )


def excess(p: Proposal) -> list[float]:
    """How far each blocking check is beyond its limit (> 0: the rule is broken)."""
    out = []
    before = {s.asset: s for s in p.previous}
    for s in p.setpoints:
        if s.asset not in RATING:
            out.append(1.0)  # no asset of the graph
            continue
        out.append(abs(s.p_mw) - RATING[s.asset])
        if s.asset in OWN_RAMP and s.asset in before:
            out.append(
                abs(s.p_mw - before[s.asset].p_mw) - threshold("ramp-limit", "shareOfUnitRamp") * OWN_RAMP[s.asset]
            )
        if s.asset in CAPACITY and s.soc_mwh is not None and s.at.hour in reserve_hours():
            out.append(threshold("storage-reserve", "reserveShare") * CAPACITY[s.asset] - s.soc_mwh)
    out.append(abs(p.market_position_mw) - threshold("market-position", "maxMarketPosition"))
    out.append(p.day_emissions_t - threshold("emission-cap", "dayEmissionCap"))
    out.append(p.unserved_mwh - threshold("unserved-energy", "maxUnservedEnergy"))
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(p=proposals())
def test_a_proposal_that_breaks_a_rule_is_never_allowed(engine: PolicyEngine, p: Proposal) -> None:
    verdict = engine.check(p)
    beyond = excess(p)
    if max(beyond) > EPS:
        assert verdict.outcome == "blocked", (beyond, verdict)
    elif max(beyond) < -MARGIN:
        assert verdict.outcome != "blocked", (beyond, verdict)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(p=proposals())
def test_recorded_verdicts_of_broken_proposals_are_blocks(engine: PolicyEngine, p: Proposal) -> None:
    verdict = engine.evaluate(p)  # recorded, as the agents call it
    if max(excess(p)) > EPS:
        assert verdict.outcome == "blocked"
