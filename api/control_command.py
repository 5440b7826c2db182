"""``enertwin kill``, ``release``, ``approvals list``, ``approve`` and ``reject``: human control on the command line.

``approve ACTION`` takes a pending action (its proposal id, or its request IRI, as ``approvals
list`` shows them) or, as before issue 12, a decision IRI (or its schedule's): a pending action
is looked for first, so both keep working under one command. ``reject`` is for pending actions
only (a decision is set aside with ``enertwin override``). Bad input exits 2 and changes nothing.

With ``--bus nats://…`` the command is not written to a store but sent to the running
``enertwin agents run`` on that bus, which applies and records it (see
:mod:`enertwin.agents.control.commands` for which way to use when).
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer

from enertwin.agents.control.approvals import Approvals, Pending
from enertwin.agents.control.commands import Kind, send_command
from enertwin.agents.control.kill_switch import KillSwitches
from enertwin.api.common import DEFAULT_STORE, JsonOption, StoreOption, iri, opened, out, reports_errors
from enertwin.api.output import Format, render
from enertwin.kg.errors import InputError

approvals_app = typer.Typer(help="Actions waiting for a person's approval.", no_args_is_help=True)
AllOption = Annotated[bool, typer.Option("--all", help="The global switch: every actuation.")]
AssetOption = Annotated[str | None, typer.Option("--asset", help="IRI of the asset whose actuations stop.")]
AgentOption = Annotated[str | None, typer.Option("--agent", help="IRI of the agent whose actuations stop.")]
SwitchReason = Annotated[str | None, typer.Option("--reason", help="Why (required; kept in the signed record).")]
ActionReason = Annotated[str | None, typer.Option("--reason", help="Why (required for a pending action).")]
BusOption = Annotated[
    str | None,
    typer.Option(
        "--bus",
        help="Send the command to the runtime on this NATS bus (nats://host:port) instead of writing the store.",
    ),
]
ActionArgument = Annotated[
    str, typer.Argument(metavar="ACTION", help="A pending action's proposal id or request IRI (see `approvals list`).")
]


def _scope(everything: bool, asset: str | None, agent: str | None, reason: str | None) -> tuple[str, str | None, str]:
    """The switch named by the options (exactly one of --all, --asset, --agent) and the reason, checked."""
    chosen: list[tuple[str, str | None]] = [(n, v) for n, v in (("asset", asset), ("agent", agent)) if v is not None]
    if everything:
        chosen.insert(0, ("global", None))
    if len(chosen) != 1:
        raise InputError("name one kill switch: exactly one of --all, --asset IRI or --agent IRI")
    if reason is None or not reason.strip():
        raise InputError("a kill switch needs a reason (--reason): the record must say why it was pulled or released")
    scope, target = chosen[0]
    return scope, None if target is None else iri(target, scope), reason


def kill_command(
    everything: AllOption = False,
    asset: AssetOption = None,
    agent: AgentOption = None,
    reason: SwitchReason = None,
    store: StoreOption = DEFAULT_STORE,
    bus: BusOption = None,
) -> None:
    """Pull a kill switch: no further actuation in its scope passes, from the next event on (recorded)."""
    scope, target, why = _scope(everything, asset, agent, reason)
    if bus is not None:
        _send(bus, "kill", target or "all", why, scope)
        return
    with opened(store) as twin, KillSwitches(twin) as switches:
        pulled = switches.pull(scope, target, why)
    out.print(f"pulled {pulled.describe()}", highlight=False, soft_wrap=True)


def release_command(
    everything: AllOption = False,
    asset: AssetOption = None,
    agent: AgentOption = None,
    reason: SwitchReason = None,
    store: StoreOption = DEFAULT_STORE,
    bus: BusOption = None,
) -> None:
    """Release a pulled kill switch (recorded); a switch that is not pulled is bad input."""
    scope, target, why = _scope(everything, asset, agent, reason)
    if bus is not None:
        _send(bus, "release", target or "all", why, scope)
        return
    with opened(store) as twin, KillSwitches(twin) as switches:
        released = switches.release(scope, target, why)
    out.print(f"released {released.describe()}", highlight=False, soft_wrap=True)


def _row(found: Pending) -> dict[str, object]:
    proposal = found.proposal
    return {
        "action": found.proposal_id,
        "status": found.status,
        "deadline": found.deadline.isoformat(timespec="seconds"),
        "requested_by": found.requested_by,
        "cost_impact_eur": proposal.cost_impact_eur,
        "setpoints": len(proposal.setpoints),
        "decided_by": found.decided_by,
        "reason": found.reason,
    }


@approvals_app.command("list")
@reports_errors
def approvals_list_command(
    store: StoreOption = DEFAULT_STORE,
    every: Annotated[bool, typer.Option("--all", help="Also the approved, rejected and expired ones.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List the actions waiting for approval, with their deadlines (``--all``: every request and its status)."""
    with opened(store, read_only=True) as twin:
        found = Approvals(twin).requests()
    rows = [_row(p) for p in found if every or p.status == "pending"]
    columns = ["action", "status", "deadline", "requested_by", "cost_impact_eur", "setpoints", "decided_by", "reason"]
    if as_json:
        out.print_json(json.dumps(rows))
        return
    render(out, columns, rows, Format.TABLE, title="Approval requests" if every else "Pending actions")


def _action(text: str) -> str:
    """ACTION checked before the store is opened: an IRI, or a proposal id (no spaces)."""
    if "://" in text:
        return iri(text, "ACTION")
    if not text or any(c.isspace() for c in text):
        raise InputError(
            f"ACTION {text!r} is not an IRI (of a decision or request) nor a pending action's id (no spaces)"
        )
    return text


def approve_command(
    action: Annotated[
        str, typer.Argument(metavar="ACTION", help="A pending action (id or request IRI), or a decision IRI.")
    ],
    store: StoreOption = DEFAULT_STORE,
    reason: ActionReason = None,
    bus: BusOption = None,
) -> None:
    """Approve a pending action (released as proposed), or record your approval of a decision (signed)."""
    action = _action(action)
    if bus is not None:
        _send(bus, "approve", action, reason or "", None)
        return
    with opened(store) as twin:
        approvals = Approvals(twin)
        if approvals.find(action) is None and "://" in action:
            recorded = twin.approve(action, reason)
            out.print(f"approval of {recorded.decision} recorded in {recorded.receipt.graph.value}", highlight=False)
            return
        decided = approvals.decide(action, True, reason or "")
    out.print(f"approved action {decided.proposal_id}: {decided.reason}", highlight=False)


def reject_command(
    action: ActionArgument, store: StoreOption = DEFAULT_STORE, reason: ActionReason = None, bus: BusOption = None
) -> None:
    """Reject a pending action with the reason (signed); the safe plan runs instead."""
    action = _action(action)
    if reason is None or not reason.strip():
        raise InputError("a rejection of a pending action needs a reason (--reason): the record must say why")
    if bus is not None:
        _send(bus, "reject", action, reason, None)
        return
    with opened(store) as twin:
        decided = Approvals(twin).decide(action, False, reason)
    out.print(f"rejected action {decided.proposal_id}: {decided.reason}", highlight=False)


def _send(bus: str, kind: Kind, target: str, reason: str, scope: str | None) -> None:
    """Publish the command for the runtime on ``bus`` (it applies and records it; the store is not opened here)."""
    sent = asyncio.run(send_command(bus, kind, target, reason, scope))
    out.print(
        f"sent {kind} command {sent.id} ({target}) for {sent.who} to the runtime on {bus}; "
        "it is applied and recorded there (`enertwin report kill-switches`, `enertwin approvals list --all`)",
        highlight=False,
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    """Add the human-control commands to ``app`` (``approve`` replaces the decision-only one of audit_command)."""
    app.command("kill")(reports_errors(kill_command))
    app.command("release")(reports_errors(release_command))
    app.add_typer(approvals_app, name="approvals")
    app.command("approve")(reports_errors(approve_command))
    app.command("reject")(reports_errors(reject_command))
