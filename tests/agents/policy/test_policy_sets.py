"""Versioned policy sets: a bad file is refused whole, activation and rollback are recorded, diff names changes."""

from __future__ import annotations

import pytest
from policy_proposals import GAS, POL, proposal

from enertwin import Twin
from enertwin.agents.policy.engine import PolicyEngine
from enertwin.agents.policy.sets import default_policy_turtle
from enertwin.kg.errors import InputError

DEFAULT = "https://w3id.org/enertwin/policy/default/1"
STRICT = "https://w3id.org/enertwin/policy/strict/1"


def strict_set(share: str = '"0.5"^^xsd:double') -> bytes:
    """The default set as a new version whose ramp share is ``share``."""
    text = default_policy_turtle().decode()
    text = text.replace("<https://w3id.org/enertwin/policy/default/1>", f"<{STRICT}>")
    text = text.replace('et:policyVersion "default-1"', 'et:policyVersion "strict-1"')
    return text.replace('et:shareOfUnitRamp "0.8"^^xsd:double', f"et:shareOfUnitRamp {share}").encode()


BAD = {
    "not Turtle": (b"this is { not turtle", "is not Turtle"),
    "unknown property": (strict_set().replace(b"et:shareOfUnitRamp", b"et:shareOfUnitRmap"), "shareOfUnitRmap"),
    "unknown SHACL term": (strict_set().replace(b"sh:message", b"sh:messsage", 1), "messsage"),
    "not evaluable": (strict_set().replace(b"sh:select", b"sh:ask", 1), "ask"),
    "sh:minLength": (
        strict_set().replace(
            b"    sh:targetClass et:ProposedAction ;",
            b"    sh:targetClass et:ProposedAction ; sh:path et:marketPosition ; sh:minLength 2 ;",
            1,
        ),
        "minLength",
    ),
    "a threshold that is no number": (strict_set('"half"'), "must be a number typed xsd:double"),
    "a misspelt term in the SPARQL": (
        strict_set().replace(b"et:setpointPower ?p0", b"et:setpointPowr ?p0"),
        "setpointPowr",
    ),
    "no policy set": (
        b"@prefix et: <https://w3id.org/enertwin/ontology#> . <urn:x> et:reason 'x' .",
        "exactly one policy set",
    ),
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_a_bad_policy_file_is_refused_whole(twin: Twin, kind: str) -> None:
    data, named = BAD[kind]
    active = twin.active_policy()
    before = twin.policy_versions()
    with pytest.raises(InputError) as raised:
        twin.load_policy(data, "policy file bad.ttl")
    assert named in str(raised.value) and "bad.ttl" in str(raised.value)
    assert twin.active_policy() == active and twin.policy_versions() == before


def test_the_default_set_is_loaded_and_active_when_none_is(twin: Twin) -> None:
    assert twin.policy_versions() == []
    assert twin.active_policy() == DEFAULT
    [info] = twin.policy_versions()
    assert (info.label, info.active, info.rules) == ("default-1", True, 9)
    assert twin.active_policy() == DEFAULT  # once
    assert len(twin.policy_versions()) == 1


def test_activate_rollback_and_what_the_engine_applies(twin: Twin) -> None:
    engine = PolicyEngine(twin)
    ramp_30 = proposal([(GAS, 30.0)], [(GAS, 0.0)])  # 30 MW: within 0.8 of 50, beyond 0.5 of 50
    assert engine.evaluate(ramp_30).outcome == "allowed"
    loaded = twin.load_policy(strict_set(), "policy file strict.ttl")
    assert (loaded.version, loaded.label) == (STRICT, "strict-1") and loaded.receipt is not None
    assert twin.load_policy(strict_set(), "policy file strict.ttl").receipt is None  # the same version again
    assert engine.active_version() == DEFAULT  # loading does not activate
    done = twin.activate_policy("strict-1", "tighter ramps for the winter")
    assert (done.version, done.replaced) == (STRICT, DEFAULT)
    verdict = engine.evaluate(ramp_30)
    assert (verdict.outcome, verdict.policy_version) == ("blocked", STRICT)
    assert {v.rule for v in verdict.violations} == {POL + "ramp-limit"}
    back = twin.rollback_policy("winter is over")
    assert (back.version, back.replaced) == (DEFAULT, STRICT)
    assert engine.evaluate(ramp_30).outcome == "allowed"
    with pytest.raises(InputError, match="no earlier active policy set"):
        twin.rollback_policy("again")
    records = twin.query(
        "PREFIX et: <https://w3id.org/enertwin/ontology#> PREFIX prov: <http://www.w3.org/ns/prov#> "
        "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
        "SELECT ?kind ?set ?why ?who WHERE { ?a a et:PolicyActivation , ?kind ; prov:used ?set ; et:reason ?why ; "
        "prov:wasAssociatedWith ?p . ?p rdfs:label ?who . FILTER (?kind IN (et:PolicyActivation, et:PolicyRollback)) }"
    ).rows
    found = {(r["kind"].rsplit("#")[1], r["set"], r["why"], r["who"]) for r in records}
    assert ("PolicyActivation", STRICT, "tighter ramps for the winter", "test-operator") in found
    assert ("PolicyRollback", DEFAULT, "winter is over", "test-operator") in found


def test_a_changed_version_under_the_same_iri_or_label_is_refused(twin: Twin) -> None:
    twin.load_policy(strict_set(), "policy file strict.ttl")
    with pytest.raises(InputError, match="already loaded with other rules"):
        twin.load_policy(strict_set('"0.4"^^xsd:double'), "policy file strict2.ttl")
    other = strict_set().replace(STRICT.encode(), b"https://w3id.org/enertwin/policy/strict/2")
    with pytest.raises(InputError, match="already names"):
        twin.load_policy(other, "policy file strict3.ttl")
    with pytest.raises(InputError, match="already the active one"):
        twin.activate_policy("default-1", "again")
    with pytest.raises(InputError, match="no policy set version 'nope'"):
        twin.activate_policy("nope", "why not")
    with pytest.raises(InputError, match="why"):
        twin.activate_policy("strict-1", "  ")


def test_diff_names_the_changed_rule_and_triple(twin: Twin) -> None:
    twin.active_policy()
    twin.load_policy(strict_set(), "policy file strict.ttl")
    d = twin.diff_policies("default-1", "strict-1")
    assert (d.rules_added, d.rules_removed, d.rules_changed) == ((), (), (POL + "ramp-limit",))
    assert any("shareOfUnitRamp" in t and "0.5" in t for t in d.triples_added)
    assert any("shareOfUnitRamp" in t and "0.8" in t for t in d.triples_removed)
    assert any("strict-1" in t for t in d.triples_added)
    assert 'shareOfUnitRamp "0.5"^^xsd:double' in twin.show_policy("strict-1")


def test_verdicts_are_recorded_and_blocks_show_in_the_report(twin: Twin) -> None:
    engine = PolicyEngine(twin)
    blocked = engine.evaluate(proposal([(GAS, 45.0)], [(GAS, 0.0)], market_position_mw=3000.0))
    engine.evaluate_many([proposal([(GAS, 10.0)], [(GAS, 10.0)]), proposal([(GAS, 10.0)], [(GAS, 10.0)])])
    engine.evaluate(proposal([(GAS, 10.0)], [(GAS, 10.0)], cost_impact_eur=1e6))
    [row] = twin.report("policy-blocks").records()
    assert row["action"] == f"https://w3id.org/enertwin/id/proposal/{blocked.proposal}"
    assert "ramp-limit" in str(row["reason"]) and "market-position" in str(row["reason"])
    assert GAS in str(row["reason"])
    assert set(str(row["rules"]).split(" ")) == {POL + "ramp-limit", POL + "market-position"}
    assert row["policy"] == DEFAULT
    outcomes = twin.query(
        "PREFIX et: <https://w3id.org/enertwin/ontology#> SELECT ?v WHERE { ?a a et:PolicyVerdict ; et:verdict ?v }"
    ).rows
    assert sorted(r["v"] for r in outcomes) == ["allowed", "allowed", "blocked", "pending-approval"]
