"""Helpers the bus tests share: opening a bus of each kind, running a coroutine with a deadline, events."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Coroutine, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from enertwin.agents.bus.base import RefusalHandler, SubjectPolicy
from enertwin.agents.bus.memory import MemoryBus
from enertwin.agents.events import Telemetry

AGENT = "https://w3id.org/enertwin/agent/test"


def run(coroutine: Coroutine[Any, Any, Any], timeout: float = 120) -> Any:
    """Run one test's coroutine in a fresh event loop, cancelled after ``timeout`` seconds."""

    async def bounded() -> Any:
        return await asyncio.wait_for(coroutine, timeout)

    return asyncio.run(bounded())


def telemetry(n: int, width: int = 1) -> Telemetry:
    """The n-th telemetry event, with ``width`` values (a wider one weighs more in memory)."""
    values = {f"https://w3id.org/enertwin/asset/a{i}": float(n + i) for i in range(width)}
    return Telemetry(source=AGENT, at=datetime(2026, 1, 1, tzinfo=UTC), quantity="p_mw", values=values)


class BusOpener:
    """Opens a bus of one kind; each JetStream bus gets a stream of its own, deleted at the end."""

    def __init__(self, kind: str, url: str | None) -> None:
        self.kind = kind
        self.url = url

    @asynccontextmanager
    async def __call__(
        self,
        policies: Mapping[str, SubjectPolicy] | None = None,
        default: SubjectPolicy = SubjectPolicy(),
        on_refused: RefusalHandler | None = None,
    ) -> AsyncIterator[Any]:
        if self.kind == "memory":
            bus: Any = MemoryBus(policies, default, on_refused=on_refused)
            try:
                yield bus
            finally:
                await bus.close()
            return
        from enertwin.agents.bus.jetstream import JetStreamBus

        assert self.url is not None
        stream = f"test-{uuid.uuid4().hex[:12]}"
        bus = await JetStreamBus.connect(
            self.url, stream=stream, policies=policies, default=default, on_refused=on_refused
        )
        try:
            yield bus
        finally:
            await bus.delete_stream()
            await bus.close()
