"""The policy engine's verdict on a proposed action, recorded with the policy set version it applied."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from pyoxigraph import NamedNode

from enertwin.kg import namespaces as ns
from enertwin.kg.errors import InputError
from enertwin.kg.provenance.keys import Identity
from enertwin.kg.provenance.ledger import Ledger, Receipt
from enertwin.kg.provenance.record import SOFTWARE_AGENT, ActivityRecord, agent_triples, text

VERDICTS = ("allowed", "blocked", "pending-approval")


def policy_verdict_activity(
    identity: Identity,
    action: NamedNode,
    verdict: str,
    reason: str,
    policy_version: NamedNode | None = None,
    rules: Sequence[NamedNode] = (),
) -> ActivityRecord:
    """The activity of one verdict (``Ledger.append_many`` records a burst of them in one commit)."""
    if verdict not in VERDICTS:
        raise InputError(f"a policy verdict is one of {', '.join(VERDICTS)}, not {verdict!r}")
    if not reason.strip():
        raise InputError("a policy verdict must give its reason (the rule that allowed or blocked the action)")
    now = datetime.now(UTC)
    activity = ActivityRecord(NamedNode(f"{ns.ID_BASE}policy-verdict/{uuid.uuid4().hex}"), ns.POLICY_VERDICT, now, now)
    activity.add(activity.iri, ns.CONCERNS, action).add(activity.iri, ns.VERDICT, text(verdict))
    activity.add(activity.iri, ns.REASON, text(reason.strip()))
    if policy_version is not None:
        activity.add(activity.iri, ns.PROV_USED, policy_version)
    for rule in dict.fromkeys(rules):
        activity.add(activity.iri, ns.BROKE_RULE, rule)
    return activity.associate(SOFTWARE_AGENT, ns.POLICY_ENGINE_ROLE).extend(agent_triples(identity))


def record_policy_verdict(
    ledger: Ledger,
    action: NamedNode,
    verdict: str,
    reason: str,
    policy_version: NamedNode | None = None,
    *,
    rules: Sequence[NamedNode] = (),
) -> Receipt:
    """Append the verdict on ``action`` (allowed, blocked or pending-approval), its reason, rules and policy version."""
    activity = policy_verdict_activity(ledger.signer.identity, action, verdict, reason, policy_version, rules)
    return ledger.append(activity)


PolicyVerdictRecord = tuple[NamedNode, str, str, NamedNode | None, Sequence[NamedNode]]
"""What :func:`policy_verdict_activity` needs besides the identity: action, verdict, reason, version, rules."""
