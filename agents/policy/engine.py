"""The policy engine: every proposed action is checked against the active policy set before actuation.

``evaluate`` turns the proposal into RDF (:mod:`~enertwin.agents.policy.action_rdf`), joins in the
assets' facts and the set's thresholds, and runs the set's compiled rules (the project's SHACL
engine, :mod:`enertwin.kg.validation`) over that small graph. A result of severity
``sh:Violation`` blocks the action, ``sh:Warning`` sends it to a person (``pending-approval``).
Rules are compiled once per version; the active version is read again on every call, so an
activation or rollback counts from the next proposal on. Every verdict is recorded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from pyoxigraph import NamedNode, Quad, Store

from enertwin import Twin
from enertwin.agents.events import Proposal, Verdict, Violation
from enertwin.agents.policy.action_rdf import AssetFacts, action_node, action_triples, read_asset_facts
from enertwin.events import CommitEvent
from enertwin.kg import namespaces as ns
from enertwin.kg.provenance.policy import PolicyVerdictRecord
from enertwin.kg.validation.report import Term, ValidationResult
from enertwin.kg.validation.shacl import ShapeValidator

Outcome = Literal["allowed", "blocked", "pending-approval"]
ENGINE_SOURCE = ns.ID_BASE + "agent/policy-engine"
_SH_WARNING = ns.SH_BASE + "Warning"
_SH_INFO = ns.SH_BASE + "Info"
# numbers in filled messages: "12.5"^^xsd:decimal reads 12.5
_TYPED_NUMBER = re.compile(r'"(-?[0-9.eE+-]+)"\^\^xsd:(?:decimal|double|integer|float)')


@dataclass(frozen=True, slots=True)
class _CompiledSet:
    validator: ShapeValidator
    quads: tuple[Quad, ...]


class PolicyEngine:
    """Checks proposals against the twin's active policy set and records each verdict."""

    def __init__(self, twin: Twin, version: str | None = None) -> None:
        """Judge by ``twin``'s active set, or always by the stored set ``version`` (IRI) when it is given.

        A pinned version lets a sandbox run (the demo's, a test's) apply a set of its own without
        changing which set is active for everyone else using the store.
        """
        self._twin = twin
        self._pinned = version
        self._sets: dict[str, _CompiledSet] = {}
        # the assets' facts, read again after any commit that wrote more than its own record (a verdict's does not)
        self._facts: dict[frozenset[str], AssetFacts] = {}
        self._subscription = twin.subscribe(self._on_commit)

    def _on_commit(self, event: CommitEvent) -> None:
        if set(event.graphs) - {event.record_graph}:
            self._facts.clear()

    def _asset_facts(self, assets: frozenset[str]) -> AssetFacts:
        found = self._facts.get(assets)
        if found is None:
            found = self._facts[assets] = read_asset_facts(self._twin, assets)
        return found

    def active_version(self) -> str:
        """The pinned version, else the active set's (the default set is loaded and activated when none is)."""
        return self._pinned or self._twin.active_policy()

    def evaluate(self, proposal: Proposal) -> Verdict:
        """The verdict on ``proposal`` under the active set, recorded before it is returned."""
        verdict = self.check(proposal)
        self._twin.policy_verdicts([_record(proposal, verdict)])
        return verdict

    def evaluate_many(self, proposals: Sequence[Proposal]) -> list[Verdict]:
        """Verdicts on several proposals, recorded together in one commit."""
        verdicts = [self.check(p) for p in proposals]
        self._twin.policy_verdicts([_record(p, v) for p, v in zip(proposals, verdicts, strict=True)])
        return verdicts

    def check(self, proposal: Proposal) -> Verdict:
        """The verdict on ``proposal`` under the active set, not recorded (a dry run)."""
        version = self.active_version()
        compiled = self._compiled(version)
        assets = frozenset(s.asset for s in (*proposal.setpoints, *proposal.previous))
        triples = action_triples(proposal, self._asset_facts(assets))
        data = Store()
        data.bulk_extend([*compiled.quads, *(Quad(t.subject, t.predicate, t.object) for t in triples)])
        asset_of: dict[Term, Term] = {t.subject: t.object for t in triples if t.predicate == ns.SETS_ASSET}
        results = compiled.validator.report(data).results
        violations = tuple(_violation(r, asset_of) for r in results if r.severity.value != _SH_INFO)
        outcome: Outcome = "allowed"
        if any(r.severity.value == _SH_WARNING for r in results):
            outcome = "pending-approval"
        if any(r.severity.value not in (_SH_WARNING, _SH_INFO) for r in results):
            outcome = "blocked"
        return Verdict(
            source=ENGINE_SOURCE, proposal=proposal.id, outcome=outcome, policy_version=version, violations=violations
        )

    def _compiled(self, version: str) -> _CompiledSet:
        found = self._sets.get(version)
        if found is None:
            policy = self._twin.policy_rules(version)
            quads = tuple(Quad(t.subject, t.predicate, t.object) for t in policy.triples)
            found = self._sets[version] = _CompiledSet(ShapeValidator(policy.rules), quads)
        return found


def _violation(result: ValidationResult, asset_of: Mapping[Term, Term]) -> Violation:
    rule = result.source_constraint if isinstance(result.source_constraint, NamedNode) else result.source_shape
    message = result.messages[0].value if result.messages else f"breaks <{rule}>"
    for m in result.messages:
        if m.language == "en":
            message = m.value
    asset = asset_of.get(result.focus)
    return Violation(
        rule=rule.value if isinstance(rule, NamedNode) else str(rule),
        message=_TYPED_NUMBER.sub(r"\1", message),
        asset=asset.value if isinstance(asset, NamedNode) else None,
    )


def _record(proposal: Proposal, verdict: Verdict) -> PolicyVerdictRecord:
    """What the ledger keeps of a verdict: the action, outcome, reason, version and rules."""
    if verdict.violations:
        reason = " | ".join(
            f"{v.rule.removeprefix(ns.POLICY_BASE)}: {v.message}" + (f" (asset <{v.asset}>)" if v.asset else "")
            for v in verdict.violations
        )
    else:
        reason = f"no rule of <{verdict.policy_version}> is broken"
    rules = [NamedNode(v.rule) for v in verdict.violations if v.rule.startswith(("http://", "https://", "urn:"))]
    return action_node(proposal), verdict.outcome, reason, NamedNode(verdict.policy_version), rules


__all__ = ["PolicyEngine"]
