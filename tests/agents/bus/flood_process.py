"""A publisher flooding a slow consumer, in its own process so its memory is its own.

Usage: python flood_process.py KIND URL STREAM COUNT OVERFLOW EVERY — KIND is memory or jetstream; publishes COUNT
wide telemetry events (made one at a time, never held in a list) on a subject of capacity CAPACITY with
the OVERFLOW policy, while a consumer in the same loop acks them slowly (a 1 ms pause every EVERY
events). Prints as JSON the resident set size after a tenth of the events and the largest seen after
that, and the subject's counters.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from typing import Any, cast

import psutil
from bus_support import AGENT

from enertwin.agents.bus.base import Overflow, SubjectPolicy
from enertwin.agents.bus.jetstream import JetStreamBus
from enertwin.agents.bus.memory import MemoryBus
from enertwin.agents.events import Telemetry

CAPACITY = 500
ASSETS = [f"https://w3id.org/enertwin/asset/a{i}" for i in range(60)]  # kB per event: holding them all would show
AT = datetime(2026, 1, 1, tzinfo=UTC)


def wide_event(n: int) -> Telemetry:
    """A telemetry event with a value per asset, made without validation (the flood is the test's own)."""
    return Telemetry.model_construct(source=AGENT, at=AT, quantity="p_mw", values={a: n + 0.5 for a in ASSETS})


async def main(kind: str, url: str, stream: str, count: int, overflow: Overflow, every: int) -> None:
    policy = SubjectPolicy(capacity=CAPACITY, overflow=overflow, block_timeout=120)
    bus: Any = (
        MemoryBus({"telemetry": policy})
        if kind == "memory"
        else await JetStreamBus.connect(url, stream=stream, policies={"telemetry": policy})
    )
    sub = await bus.subscribe("telemetry", "slow", max_ack_pending=100)
    process = psutil.Process()
    rss = {"early": 0, "peak": 0}
    published = asyncio.Event()

    async def publisher() -> None:
        for n in range(count):
            await bus.publish("telemetry", wide_event(n))
            if n == count // 10:
                rss["early"] = process.memory_info().rss
            elif n > count // 10 and n % 1000 == 0:
                rss["peak"] = max(rss["peak"], process.memory_info().rss)
        await bus.flush()
        published.set()

    async def slow_consumer() -> int:
        consumed = 0
        while True:
            delivery = await sub.next(timeout=2)
            if delivery is None:
                if published.is_set():
                    break
                continue
            await delivery.ack()
            consumed += 1
            if consumed % every == 0:
                await asyncio.sleep(0.001)  # slower than the publisher
        return consumed

    _, consumed = await asyncio.gather(publisher(), slow_consumer())
    rss["peak"] = max(rss["peak"], process.memory_info().rss)
    stats = bus.stats()["telemetry"]
    if kind == "jetstream":
        await bus.delete_stream()
    await bus.close()
    counters = {"published": stats.published, "dropped": stats.dropped, "consumed": consumed}
    print(json.dumps({**rss, **counters}))


if __name__ == "__main__":
    overflow = cast(Overflow, sys.argv[5])
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), overflow, int(sys.argv[6])))
