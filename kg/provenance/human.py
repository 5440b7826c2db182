"""A person's approval or override of a decision, recorded with who, when and why."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from pyoxigraph import NamedNode

from enertwin.kg import namespaces as ns
from enertwin.kg.errors import InputError
from enertwin.kg.provenance.ledger import Ledger, Receipt
from enertwin.kg.provenance.record import ActivityRecord, person_node, person_triples, text


def record_verdict(
    ledger: Ledger, kind: NamedNode, decision: NamedNode, schedule: NamedNode, reason: str | None
) -> Receipt:
    """Append an approval (``et:Approval``) or override (``et:Override``) of ``decision`` by the key's holder.

    An override must say why; the schedule the person looked at is recorded as used.
    """
    if kind not in (ns.APPROVAL, ns.OVERRIDE):
        raise InputError(f"<{kind.value}> is neither et:Approval nor et:Override")
    if kind == ns.OVERRIDE and not (reason and reason.strip()):
        raise InputError("an override needs a reason (--reason): the record must say why the decision was set aside")
    now = datetime.now(UTC)
    who = ledger.signer.identity.person
    activity = ActivityRecord(NamedNode(f"{ns.ID_BASE}verdict/{uuid.uuid4().hex}"), kind, now, now)
    activity.add(activity.iri, ns.CONCERNS, decision).add(activity.iri, ns.PROV_USED, schedule)
    if reason:
        activity.add(activity.iri, ns.REASON, text(reason.strip()))
    activity.associate(person_node(who), ns.APPROVER_ROLE).extend(person_triples(who))
    return ledger.append(activity)
