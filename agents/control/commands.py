"""People's commands on the bus (kill, release, approve, reject), applied through the Twin once per event id.

Two ways to steer a running ``enertwin agents run``, both recorded with who and why:

- **through the store** (``enertwin kill … --store S``): the command writes the kill-switch or
  approvals graph itself. A runtime on the same remote store sees it from the next actuation
  (:class:`~enertwin.agents.control.kill_switch.KillSwitches` asks the endpoint for the graph's
  version on every check). An embedded store is held by the runtime's process alone, so this way
  only works while no runtime holds it;
- **through the bus** (``enertwin kill … --bus URL``): the command is published as a
  :class:`~enertwin.agents.events.Command` on :data:`COMMAND_SUBJECT`, and the runtime, which
  holds the store, applies it the moment it is delivered: the way for an operator who can reach
  the bus but not the store (or a store the runtime holds). The record names the person who gave
  the command (``who``) and is signed by the runtime's key.

On JetStream the runtime's command consumer is durable (``commands-live-<case>``): a command sent
while the runtime is stopped waits for it, but one sent before any runtime of that case ever
subscribed is not kept (the stream keeps events only for consumers that exist).

A command is applied once per event id (:class:`~enertwin.agents.bus.applied.AppliedEvents`),
however often the bus delivers it; one that cannot be applied (a switch already pulled, an
action no longer pending) is refused, counted as applied, and becomes an incident.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from enertwin.agents.bus.applied import AppliedEvents
from enertwin.agents.bus.base import Bus
from enertwin.agents.control.approvals import Approvals
from enertwin.agents.control.kill_switch import KillSwitches
from enertwin.agents.events import Command, EventRefused, Incident
from enertwin.agents.metrics import LOG
from enertwin.kg.errors import EnertwinError, InputError
from enertwin.kg.provenance.keys import Signer
from enertwin.kg.provenance.record import person_node
from enertwin.twin import Twin

COMMAND_SUBJECT = "command"
Kind = Literal["kill", "release", "approve", "reject"]


@dataclass(frozen=True, slots=True)
class Applied:
    """What became of one command: done (with what it did) or refused (with why)."""

    command: Command
    done: bool
    message: str


class CommandDesk:
    """Applies commands through a twin's kill switches and approvals, each event id once."""

    def __init__(
        self,
        twin: Twin,
        switches: KillSwitches,
        approvals: Approvals,
        applied: AppliedEvents,
        clock: Callable[[], datetime | None] = lambda: None,
    ) -> None:
        """``clock`` gives the plant time approvals are decided at (None: the wall clock)."""
        self._twin, self._switches, self._approvals = twin, switches, approvals
        self._applied, self._clock = applied, clock

    def apply(self, command: Command) -> Applied | None:
        """Apply ``command`` (recorded); None when its id was applied before."""
        return self._applied.apply_once(command.id, lambda: self._apply(command))

    def _apply(self, command: Command) -> Applied:
        try:
            return Applied(command, True, self._do(command))
        except InputError as refused:
            return Applied(command, False, str(refused))

    def _do(self, c: Command) -> str:
        if c.kind in ("approve", "reject"):
            decided = self._approvals.decide(c.target, c.kind == "approve", c.reason, self._clock(), by=c.who)
            return f"{decided.status} action {decided.proposal_id} for {c.who}: {c.reason}"
        scope = c.scope or self._scope(c.target)
        target = None if scope == "global" else c.target
        if c.kind == "kill":
            switch = self._switches.pull(scope, target, c.reason, by=c.who)
            return f"pulled {switch.describe()}"
        switch = self._switches.release(scope, target, c.reason, by=c.who)
        return f"released {switch.describe()} for {c.who}: {c.reason}"

    def _scope(self, target: str) -> str:
        """A command without a scope (version 1.0): ``all`` is global, an asset of the store asset, else agent."""
        if target == "all":
            return "global"
        return "asset" if "://" in target and self._twin.is_asset(target) else "agent"


def incident(result: Applied, source: str) -> Incident:
    """The incident of a refused command."""
    c = result.command
    return Incident(
        id=f"command-refused-{c.id}",
        time=c.time,
        source=source,
        kind="command-refused",
        subject=c.target,
        message=f"{c.kind} command {c.id} from {c.who} refused: {result.message}",
        severity="warning",
    )


async def serve_commands(
    bus: Bus, durable: str, desk: CommandDesk, report: Callable[[Applied], object], idle: float = 1.0
) -> None:
    """Apply every command delivered on :data:`COMMAND_SUBJECT` until cancelled; ``report`` hears each result.

    A command is acknowledged once applied (or refused), so a runtime stopped in between gets
    it again and :class:`CommandDesk` applies it once. Runs in the event loop's thread (the
    applied-events file is one SQLite connection); each command is one small commit.
    """
    subscription = await bus.subscribe(COMMAND_SUBJECT, durable, ack_wait=30.0)
    try:
        while True:
            try:
                delivery = await subscription.next(timeout=idle)
            except EventRefused:
                continue  # counted by the bus; a command this release cannot read is never applied
            if delivery is None:
                continue
            if isinstance(delivery.event, Command):
                try:
                    result = desk.apply(delivery.event)
                except EnertwinError as error:  # the store could not take it now (moved, unreachable): again later
                    LOG.warning("command", extra={"id": delivery.event.id, "error": str(error)})
                    await delivery.nak(1.0)
                    continue
                if result is not None:
                    report(result)
            await delivery.ack()
    finally:
        await subscription.close()


async def send_command(
    url: str, kind: Kind, target: str, reason: str, scope: str | None = None, who: str | None = None
) -> Command:
    """Publish a command for the runtime on the NATS bus at ``url``; the command sent.

    ``who`` defaults to the person of this machine's signing key (the one ``enertwin`` signs
    with): the runtime records the command as theirs.
    """
    from enertwin.agents.bus import open_bus

    if not url.startswith(("nats://", "tls://")):
        raise InputError(f"--bus {url!r}: a command goes to a running runtime's NATS bus (nats://host:port)")
    if not reason.strip():
        raise InputError(f"the {kind} command needs a reason (--reason): the record must say why")
    person = who or Signer.load().identity.person
    command = Command(source=person_node(person).value, kind=kind, target=target, reason=reason, who=person)
    if scope is not None:
        command = command.model_copy(update={"scope": scope})
    bus = await open_bus(url)
    try:
        await bus.publish(COMMAND_SUBJECT, command)
        await bus.flush()
    finally:
        await bus.close()
    return command
