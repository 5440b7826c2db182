"""A person's approval, override or rejection, recorded with who, when and why."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from pyoxigraph import NamedNode

from enertwin.kg import namespaces as ns
from enertwin.kg.errors import InputError
from enertwin.kg.provenance.keys import Identity
from enertwin.kg.provenance.ledger import Ledger, Receipt
from enertwin.kg.provenance.record import ActivityRecord, person_node, person_triples, text

NEEDS_REASON = (ns.OVERRIDE, ns.REJECTION)


def verdict_activity(
    identity: Identity, kind: NamedNode, concerns: NamedNode, used: NamedNode | None, reason: str | None
) -> ActivityRecord:
    """A person's verdict (``et:Approval``, ``et:Override`` or ``et:Rejection``) on ``concerns``, not yet appended.

    The person is the key's holder (``identity``); an override or a rejection must say why;
    ``used`` is what the person looked at (a schedule, a decision).
    """
    if kind not in (ns.APPROVAL, *NEEDS_REASON):
        raise InputError(f"<{kind.value}> is neither et:Approval, et:Override nor et:Rejection")
    if kind in NEEDS_REASON and not (reason and reason.strip()):
        word = "an override" if kind == ns.OVERRIDE else "a rejection"
        raise InputError(f"{word} needs a reason (--reason): the record must say why the decision was set aside")
    now = datetime.now(UTC)
    who = identity.person
    activity = ActivityRecord(NamedNode(f"{ns.ID_BASE}verdict/{uuid.uuid4().hex}"), kind, now, now)
    activity.add(activity.iri, ns.CONCERNS, concerns)
    if used is not None:
        activity.add(activity.iri, ns.PROV_USED, used)
    if reason and reason.strip():
        activity.add(activity.iri, ns.REASON, text(reason.strip()))
    return activity.associate(person_node(who), ns.APPROVER_ROLE).extend(person_triples(who))


def record_verdict(
    ledger: Ledger, kind: NamedNode, decision: NamedNode, schedule: NamedNode, reason: str | None
) -> Receipt:
    """Append an approval (``et:Approval``) or override (``et:Override``) of ``decision`` by the key's holder.

    An override must say why; the schedule the person looked at is recorded as used.
    """
    if kind not in (ns.APPROVAL, ns.OVERRIDE):
        raise InputError(f"<{kind.value}> is neither et:Approval nor et:Override")
    return ledger.append(verdict_activity(ledger.signer.identity, kind, decision, schedule, reason))
