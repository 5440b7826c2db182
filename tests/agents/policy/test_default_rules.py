"""Each rule of the default set blocks (or sends to a person) what it should, and lets the rest pass."""

from __future__ import annotations

from datetime import timedelta

import pytest
from policy_proposals import AT, BATTERY, GAS, LIGNITE, POL, proposal
from pyoxigraph import NamedNode, RdfFormat, Store, parse

from enertwin import Twin
from enertwin.agents.policy.action_rdf import action_triples, read_asset_facts
from enertwin.agents.policy.engine import PolicyEngine
from enertwin.agents.policy.sets import default_policy_turtle
from enertwin.kg.validation.conformant import ConformantShapes


def rules_of(verdict) -> set[str]:
    return {v.rule.removeprefix(POL) for v in verdict.violations}


def test_a_proposal_within_the_envelope_is_allowed(twin: Twin) -> None:
    verdict = PolicyEngine(twin).evaluate(proposal([(LIGNITE, 60.0), (GAS, 20.0)], [(LIGNITE, 50.0), (GAS, 0.0)]))
    assert (verdict.outcome, verdict.violations) == ("allowed", ())
    assert verdict.policy_version == "https://w3id.org/enertwin/policy/default/1"


@pytest.mark.parametrize(
    ("setpoints", "previous", "outcome"),
    [
        ([(LIGNITE, 70.0)], [(LIGNITE, 50.0)], "allowed"),  # 20 MW: 0.8 of lignite's 25 MW / 15 min
        ([(LIGNITE, 70.5)], [(LIGNITE, 50.0)], "blocked"),
        ([(LIGNITE, 29.5)], [(LIGNITE, 50.0)], "blocked"),  # down as well as up
        ([(GAS, 40.0)], [(GAS, 0.0)], "allowed"),  # gas ramps 50 MW / 15 min: 40 allowed
        ([(GAS, 41.0)], [(GAS, 0.0)], "blocked"),
    ],
)
def test_ramp_limit_is_a_share_of_the_units_own_ramp(twin: Twin, setpoints, previous, outcome) -> None:
    verdict = PolicyEngine(twin).evaluate(proposal(setpoints, previous))
    assert verdict.outcome == outcome
    if outcome == "blocked":
        [violation] = verdict.violations
        assert violation.rule == POL + "ramp-limit"
        assert violation.asset == setpoints[0][0]
        assert "exceeds the envelope" in violation.message


def test_a_ramp_across_two_proposed_steps_is_checked_step_by_step(twin: Twin) -> None:
    first = proposal([(LIGNITE, 70.0)], [(LIGNITE, 50.0)])
    later = first.setpoints[0].model_copy(update={"at": AT + timedelta(minutes=15), "p_mw": 95.0})
    verdict = PolicyEngine(twin).evaluate(first.model_copy(update={"setpoints": (*first.setpoints, later)}))
    assert rules_of(verdict) == {"ramp-limit"}  # 70 → 95 is 25 MW in 15 minutes


def test_rating_and_unknown_asset(twin: Twin) -> None:
    engine = PolicyEngine(twin)
    assert rules_of(engine.evaluate(proposal([(GAS, 55.0)], [(GAS, 50.0)]))) == {"within-rating"}
    assert rules_of(engine.evaluate(proposal([(BATTERY, -11.0)], [(BATTERY, -5.0)]))) == {"within-rating"}
    unknown = engine.evaluate(proposal([("https://example.org/no-such-unit", 1.0)]))
    assert (unknown.outcome, rules_of(unknown)) == ("blocked", {"known-asset"})
    assert engine.evaluate(proposal([("not an iri", 1.0)])).outcome == "blocked"


@pytest.mark.parametrize(("hour", "soc", "outcome"), [(18, 7.9, "blocked"), (18, 8.0, "allowed"), (12, 1.0, "allowed")])
def test_storage_reserve_at_the_set_hours(twin: Twin, hour: int, soc: float, outcome: str) -> None:
    at = AT.replace(hour=hour)
    verdict = PolicyEngine(twin).evaluate(proposal([(BATTERY, 5.0)], [(BATTERY, 5.0)], at=at, soc={BATTERY: soc}))
    assert verdict.outcome == outcome
    if outcome == "blocked":
        assert rules_of(verdict) == {"storage-reserve"} and verdict.violations[0].asset == BATTERY


@pytest.mark.parametrize(
    ("totals", "rule"),
    [
        ({"market_position_mw": 1000.5}, "market-position"),
        ({"market_position_mw": -1000.5}, "market-position"),
        ({"day_emissions_t": 5000.1}, "emission-cap"),
        ({"unserved_mwh": 10.5}, "unserved-energy"),
    ],
)
def test_totals_beyond_their_limits_are_blocked(twin: Twin, totals: dict[str, float], rule: str) -> None:
    engine = PolicyEngine(twin)
    verdict = engine.evaluate(proposal([(GAS, 10.0)], [(GAS, 10.0)], **totals))
    assert (verdict.outcome, rules_of(verdict)) == ("blocked", {rule})
    assert verdict.violations[0].asset is None
    within = {k: v - 1.0 if v > 0 else v + 1.0 for k, v in totals.items()}
    assert engine.evaluate(proposal([(GAS, 10.0)], [(GAS, 10.0)], **within)).outcome == "allowed"


def test_large_or_costly_actions_wait_for_a_person(twin: Twin) -> None:
    engine = PolicyEngine(twin)
    costly = engine.evaluate(proposal([(GAS, 10.0)], [(GAS, 10.0)], cost_impact_eur=50_001.0))
    assert (costly.outcome, rules_of(costly)) == ("pending-approval", {"approval-cost"})
    # 5 units' worth of moves: 5 × 40 MW = 200 MW is the threshold, every single move within its ramp
    many = [(f"{GAS}", 40.0)]
    assert engine.evaluate(proposal(many, [(GAS, 0.0)])).outcome == "allowed"
    size = proposal([(LIGNITE, 70.0), (GAS, 40.0)], [(LIGNITE, 50.0), (GAS, 0.0)], cost_impact_eur=10.0)
    assert engine.evaluate(size).outcome == "allowed"  # 60 MW in total


def test_a_blocking_rule_beats_the_approval_rule(twin: Twin) -> None:
    verdict = PolicyEngine(twin).evaluate(proposal([(GAS, 45.0)], [(GAS, 0.0)], cost_impact_eur=1e6))
    assert verdict.outcome == "blocked" and rules_of(verdict) == {"ramp-limit", "approval-cost"}


def test_the_conformant_engine_agrees_on_the_action_graph(twin: Twin) -> None:
    """pyshacl-turbo (kg/validation/conformant.py) finds the same rules broken on the same RDF."""
    p = proposal(
        [(GAS, 45.0), (BATTERY, 3.0)],
        [(GAS, 0.0)],
        at=AT.replace(hour=17),
        soc={BATTERY: 1.0},
        market_position_mw=2000.0,
    )
    ours = rules_of(PolicyEngine(twin).check(p))
    data = Store()
    for t in parse(default_policy_turtle(), format=RdfFormat.TURTLE):
        data.add(_quad(t))
    for t in action_triples(p, read_asset_facts(twin, {GAS, BATTERY})):
        data.add(_quad(t))
    report = ConformantShapes([default_policy_turtle().decode()]).report(data)
    theirs = {r.source_shape.value.removeprefix(POL) for r in report.results if isinstance(r.source_shape, NamedNode)}
    assert ours == theirs == {"ramp-limit", "storage-reserve", "market-position"}


def _quad(t):
    from pyoxigraph import Quad

    return Quad(t.subject, t.predicate, t.object)
