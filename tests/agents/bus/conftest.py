"""The `bus` fixture: the same tests on the in-process bus and on JetStream against a real nats-server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import pytest

from enertwin.agents.bus.base import RefusalHandler, SubjectPolicy
from enertwin.agents.bus.memory import MemoryBus


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


@pytest.fixture(params=["memory"])
def bus(request: pytest.FixtureRequest) -> BusOpener:
    """Opens a bus of each kind: `async with bus(policies) as b: ...`."""
    url = request.getfixturevalue("nats_server") if request.param == "jetstream" else None
    return BusOpener(request.param, url)
