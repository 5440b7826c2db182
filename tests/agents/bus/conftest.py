"""The `bus` fixture: the same tests on the in-process bus and on JetStream against a real nats-server."""

from __future__ import annotations

import pytest
from bus_support import BusOpener


@pytest.fixture(params=["memory", "jetstream"])
def bus(request: pytest.FixtureRequest) -> BusOpener:
    """Opens a bus of each kind: `async with bus(policies) as b: ...`."""
    url = request.getfixturevalue("nats_server") if request.param == "jetstream" else None
    return BusOpener(request.param, url)
