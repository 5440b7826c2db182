"""open_bus picks the bus from a URL, and refuses one it cannot use with the rule."""

from __future__ import annotations

import pytest
from bus_support import run

from enertwin.agents.bus import open_bus
from enertwin.agents.bus.jetstream import JetStreamBus
from enertwin.agents.bus.memory import MemoryBus
from enertwin.kg.errors import InputError, StoreError


def test_memory_or_none_is_the_in_process_bus() -> None:
    assert isinstance(run(open_bus(None)), MemoryBus)
    assert isinstance(run(open_bus("memory")), MemoryBus)


def test_a_nats_url_is_jetstream(nats_server: str) -> None:
    async def scenario() -> None:
        bus = await open_bus(nats_server)
        assert isinstance(bus, JetStreamBus)
        await bus.close()

    run(scenario())


def test_an_unknown_scheme_or_an_unreachable_server_is_a_clear_error() -> None:
    with pytest.raises(InputError, match="give 'memory' or a NATS URL"):
        run(open_bus("kafka://localhost:9092"))
    with pytest.raises(StoreError, match=r"cannot reach the NATS server at nats://127\.0\.0\.1:1"):
        run(open_bus("nats://127.0.0.1:1"))
