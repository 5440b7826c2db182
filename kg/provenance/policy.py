"""The policy engine's verdict on a proposed action, recorded with the policy set version it applied."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from pyoxigraph import NamedNode

from enertwin.kg import namespaces as ns
from enertwin.kg.errors import InputError
from enertwin.kg.provenance.ledger import Ledger, Receipt
from enertwin.kg.provenance.record import SOFTWARE_AGENT, ActivityRecord, agent_triples, text

VERDICTS = ("allowed", "blocked")


def record_policy_verdict(
    ledger: Ledger, action: NamedNode, verdict: str, reason: str, policy_version: NamedNode | None = None
) -> Receipt:
    """Append the verdict on ``action`` (``allowed`` or ``blocked``) with its reason and the policy version used."""
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
    activity.associate(SOFTWARE_AGENT, ns.POLICY_ENGINE_ROLE).extend(agent_triples(ledger.signer.identity))
    return ledger.append(activity)
