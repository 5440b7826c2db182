"""People's commands on the bus: a running runtime applies them through the Twin, each event id once.

On the in-process bus and on JetStream (a real nats-server): a kill command stops actuation from the
next round on, a duplicate is applied once, a release lets actuation pass again, and `enertwin kill
--bus` publishes the command a runtime takes.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import pytest
from typer.testing import CliRunner

from enertwin import Twin
from enertwin.agents.bus.applied import AppliedEvents
from enertwin.agents.bus.base import Bus
from enertwin.agents.bus.jetstream import JetStreamBus
from enertwin.agents.bus.memory import MemoryBus
from enertwin.agents.control.approvals import Approvals
from enertwin.agents.control.commands import COMMAND_SUBJECT, CommandDesk
from enertwin.agents.control.kill_switch import KillSwitches
from enertwin.agents.events import Command
from enertwin.agents.loop import SUBJECT_POLICIES, RoundResult
from enertwin.agents.policy.engine import PolicyEngine
from enertwin.agents.runtime import run_agents
from enertwin.api.cli import app

from .conftest import START

OPERATOR = "operator-on-the-bus"


def command(kind: str, reason: str, target: str = "all", scope: str | None = "global") -> Command:
    return Command(
        source="https://w3id.org/enertwin/id/person/" + OPERATOR,
        kind=kind,  # type: ignore[arg-type]
        target=target,
        reason=reason,
        who=OPERATOR,
        scope=scope,  # type: ignore[arg-type]
    )


@asynccontextmanager
async def opened_bus(kind: str, url: str | None) -> AsyncIterator[Bus]:
    if kind == "memory":
        memory = MemoryBus(SUBJECT_POLICIES)
        try:
            yield memory
        finally:
            await memory.close()
        return
    assert url is not None
    jetstream = await JetStreamBus.connect(url, stream=f"test-{uuid.uuid4().hex[:12]}", policies=SUBJECT_POLICIES)
    try:
        yield jetstream
    finally:
        await jetstream.delete_stream()
        await jetstream.close()


async def until(condition: object, what: str, limit: float = 120.0) -> None:
    """Wait for ``condition()`` (a bounded wait, so a broken runtime fails the test rather than hanging it)."""
    waited = 0.0
    while not condition():  # type: ignore[operator]
        await asyncio.sleep(0.05)
        waited += 0.05
        assert waited < limit, f"gave up waiting for {what}"


@pytest.mark.parametrize("kind", ["memory", "jetstream"])
def test_a_kill_command_stops_actuation_from_the_next_round(
    twin: Twin, kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = request.getfixturevalue("nats_server") if kind == "jetstream" else None
    switches = KillSwitches(twin)
    safety = (PolicyEngine(twin), switches, Approvals(twin))
    seen: list[tuple[RoundResult, bool]] = []  # each round, and whether a switch stood when it ended
    storm, calm = f"storm {uuid.uuid4().hex[:6]}", f"calm {uuid.uuid4().hex[:6]}"

    def watch(result: RoundResult) -> None:
        seen.append((result, bool(switches.pulled())))

    async def main() -> None:
        async with opened_bus(kind, url) as bus:
            runtime = asyncio.create_task(
                run_agents(
                    twin, "hv-mixed", START, None, safety, interval_s=0.05, horizon=24,
                    applied=tmp_path / "applied.sqlite", bus=bus, watch=watch,
                )
            )  # fmt: skip
            try:
                await until(lambda: len(seen) >= 2, "two rounds")
                kill = command("kill", storm)
                await bus.publish(COMMAND_SUBJECT, kill)
                await bus.publish(COMMAND_SUBJECT, kill)  # the same event again: applied once
                await until(lambda: seen[-1][1], "the kill command applied")
                pulled_at = len(seen) - 1
                await until(lambda: len(seen) >= pulled_at + 3, "three more rounds")
                await bus.publish(COMMAND_SUBJECT, command("release", calm))
                await until(lambda: not seen[-1][1], "the release command applied")
                released_at = len(seen) - 1
                await until(lambda: len(seen) >= released_at + 2, "a round after the release")
            finally:
                runtime.cancel()
                with suppress(asyncio.CancelledError):
                    await runtime

    try:
        asyncio.run(main())
    finally:
        if switches.blocking("", "") is not None:  # never leave the shared twin killed
            switches.release("global", None, "test clean-up")
        switches.close()
    applied = [r.applied is not None for r, _ in seen]
    assert applied[:2] == [True, True]
    after_kill = next(i for i, (_, pulled) in enumerate(seen) if pulled)
    after_release = next(i for i, (_, pulled) in enumerate(seen) if i > after_kill and not pulled)
    held = slice(after_kill + 1, after_release)  # the rounds that began and ended with the switch pulled
    assert after_release - after_kill >= 3 and not any(applied[held])
    assert all("kill-switch" in {i.kind for i in r.incidents} for r, _ in seen[held])
    assert applied[after_release + 1]
    rows = [r for r in twin.report("kill-switches").records() if r["reason"] in (storm, calm)]
    assert [(r["action"], r["scope"], r["by"]) for r in rows] == [
        ("pull", "global", OPERATOR),
        ("release", "global", OPERATOR),
    ]


def test_a_command_is_applied_once_per_event_id_and_a_refusal_is_not_retried(twin: Twin, tmp_path: Path) -> None:
    agent = "https://w3id.org/enertwin/id/agent/test-commanded"
    kill = command("kill", "test: once", target=agent, scope=None)  # a 1.0 command: an IRI that is no asset
    with KillSwitches(twin) as switches:
        with AppliedEvents(tmp_path / "applied.sqlite") as applied:
            desk = CommandDesk(twin, switches, Approvals(twin), applied)
            first = desk.apply(kill)
            assert first is not None and first.done and "agent kill switch" in first.message
            assert desk.apply(kill) is None
        with AppliedEvents(tmp_path / "applied.sqlite") as reopened:  # after a restart too
            desk = CommandDesk(twin, switches, Approvals(twin), reopened)
            assert desk.apply(kill) is None
            again = desk.apply(command("kill", "test: twice", target=agent, scope="agent"))  # a new id: refused
            assert again is not None and not again.done and "already pulled" in again.message
            unknown = desk.apply(command("approve", "fine", target="no-such-action", scope=None))
            assert unknown is not None and not unknown.done and "waits for approval" in unknown.message
            assert desk.apply(command("release", "test: done", target=agent, scope="agent")) is not None
        assert switches.blocking("", agent) is None
    rows = [r for r in twin.report("kill-switches").records() if str(r["reason"]).startswith("test: ")]
    assert [(r["action"], r["scope"], r["by"]) for r in rows] == [
        ("pull", "agent", OPERATOR),
        ("release", "agent", OPERATOR),
    ]


def test_kill_with_bus_publishes_the_command_for_the_runtime(nats_server: str) -> None:
    async def listen() -> Command:
        bus = await JetStreamBus.connect(nats_server, policies=SUBJECT_POLICIES)  # the runtime's stream
        try:
            subscription = await bus.subscribe(COMMAND_SUBJECT, f"test-{uuid.uuid4().hex[:8]}")
            done = await asyncio.to_thread(
                CliRunner().invoke,
                app,
                ["kill", "--asset", "https://w3id.org/enertwin/id/x", "--reason", "by bus", "--bus", nats_server],
            )
            assert done.exit_code == 0, done.output
            assert "sent kill command" in done.output
            delivery = await subscription.next(timeout=30)
            assert delivery is not None
            await delivery.ack()
            await subscription.close()
            assert isinstance(delivery.event, Command)
            return delivery.event
        finally:
            await bus.close()

    sent = asyncio.run(listen())
    assert (sent.kind, sent.scope, sent.target, sent.reason, sent.who) == (
        "kill",
        "asset",
        "https://w3id.org/enertwin/id/x",
        "by bus",
        "test-operator",
    )
    refused = CliRunner().invoke(app, ["kill", "--all", "--reason", "x", "--bus", "memory"])
    assert refused.exit_code == 2 and "running runtime's NATS bus" in refused.output
