"""Helpers the bus tests share: running a coroutine with a deadline, and events to send."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any

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
