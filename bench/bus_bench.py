"""Event bus throughput: the in-process bus and JetStream, each beside a plain baseline in the same process.

``python bench/bus_bench.py [--events 200000] [--js-events 50000] [--sync-events 10000] [--json PATH]``

- in-process: ``MemoryBus`` publish + consume + ack of pre-built events, publisher and consumer as two tasks;
  baseline: a bounded ``asyncio.Queue`` put/get round trip of the same events (no acks, no redelivery);
- JetStream (a nats-server the bench starts, file storage in a temp dir): ``JetStreamBus.publish`` of every
  event with the server's acknowledgement awaited (``flush``), then consume + ack of all of them, then both
  at once; baseline: nats-py's own ``publish_async`` of the same encoded events with their acks awaited;
- the same JetStream runs against a second server with ``sync_interval: always``, on ``--sync-events``
  events (an fsync per write batch makes it tens of times slower; the rate, not the count, is compared).
Each figure is printed as events/s, as a ratio to its target (100,000/s in process, 20,000/s JetStream
acknowledged) and as a ratio to its baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import nats

from enertwin.agents.bus.base import SubjectPolicy
from enertwin.agents.bus.jetstream import JetStreamBus
from enertwin.agents.bus.local_server import LocalNatsServer
from enertwin.agents.bus.memory import MemoryBus
from enertwin.agents.events import Event, Incident, encode

MEMORY_TARGET = 100_000
JETSTREAM_TARGET = 20_000
SUBJECT = "incident"


def make_events(count: int) -> list[Event]:
    return [
        Incident(source="https://w3id.org/enertwin/agent/bench", kind="bench", subject=f"s{n}", message="m")
        for n in range(count)
    ]


async def timed(run: Callable[[], Awaitable[None]], count: int) -> float:
    began = time.perf_counter()
    await run()
    return count / (time.perf_counter() - began)


async def memory_bus_rate(events: list[Event]) -> float:
    bus = MemoryBus(default=SubjectPolicy(capacity=10_000))
    sub = await bus.subscribe(SUBJECT, "bench", max_ack_pending=1_000)

    async def publish() -> None:
        for event in events:
            await bus.publish(SUBJECT, event)

    async def consume() -> None:
        for _ in events:
            delivery = await sub.next(timeout=10)
            assert delivery is not None
            await delivery.ack()

    async def both() -> None:
        await asyncio.gather(publish(), consume())

    rate = await timed(both, len(events))
    await bus.close()
    return rate


async def queue_rate(events: list[Event]) -> float:
    queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=10_000)

    async def put() -> None:
        for event in events:
            await queue.put(event)

    async def get() -> None:
        for _ in events:
            await queue.get()
            queue.task_done()

    async def both() -> None:
        await asyncio.gather(put(), get())

    return await timed(both, len(events))


async def jetstream_rates(url: str, events: list[Event]) -> dict[str, float]:
    count = len(events)
    policy = SubjectPolicy(capacity=2 * count)
    bus = await JetStreamBus.connect(url, stream=f"bench-{uuid.uuid4().hex[:8]}", default=policy)
    sub = await bus.subscribe(SUBJECT, "bench", max_ack_pending=10_000)

    async def publish() -> None:
        for event in events:
            await bus.publish(SUBJECT, event)
        await bus.flush()

    async def consume() -> None:
        for _ in range(count):
            delivery = await sub.next(timeout=30)
            assert delivery is not None
            await delivery.ack()

    async def both() -> None:
        await asyncio.gather(publish(), consume())

    rates = {"publish": await timed(publish, count), "consume": await timed(consume, count)}
    fresh = make_events(count)  # new ids: the same ones would be de-duplicated

    async def publish_fresh() -> None:
        for event in fresh:
            await bus.publish(SUBJECT, event)
        await bus.flush()

    async def round_trip() -> None:
        await asyncio.gather(publish_fresh(), consume())

    rates["publish+consume+ack"] = await timed(round_trip, count)
    await bus.delete_stream()
    await bus.close()
    rates["baseline publish"] = await nats_py_publish_rate(url, [encode(e) for e in make_events(count)])
    return rates


async def nats_py_publish_rate(url: str, payloads: list[bytes]) -> float:
    """nats-py's ``publish_async`` into a plain stream, every ack awaited: the client's own ceiling."""
    connection = await nats.connect(url)
    js = connection.jetstream(publish_async_max_pending=4_000)
    stream = f"baseline-{uuid.uuid4().hex[:8]}"
    await js.add_stream(name=stream, subjects=[f"{stream}.>"])

    async def publish() -> None:
        for payload in payloads:
            await js.publish_async(f"{stream}.{SUBJECT}", payload)
        await js.publish_async_completed()

    rate = await timed(publish, len(payloads))
    await js.delete_stream(stream)
    await connection.close()
    return rate


def line(name: str, rate: float, target: float | None, baseline: float | None, baseline_name: str) -> str:
    parts = [f"{name:<34} {rate:>10,.0f} events/s"]
    if target is not None:
        parts.append(f"{rate / target:5.2f} × target {target:,.0f}/s")
    if baseline is not None:
        parts.append(f"{rate / baseline:5.2f} × {baseline_name}")
    return "   ".join(parts)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000, help="events through the in-process bus")
    parser.add_argument("--js-events", type=int, default=50_000, help="events through JetStream")
    parser.add_argument("--sync-events", type=int, default=10_000, help="events with sync_interval: always")
    parser.add_argument("--json", type=Path, help="also write every number to this file")
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}

    events = make_events(args.events)
    results["memory"] = {"bus": await memory_bus_rate(events), "baseline asyncio.Queue": await queue_rate(events)}
    memory = results["memory"]
    print(f"in-process, {args.events:,} events (publish + consume + ack):")
    print(line("  asyncio.Queue put/get (baseline)", memory["baseline asyncio.Queue"], None, None, ""))
    print(line("  MemoryBus", memory["bus"], MEMORY_TARGET, memory["baseline asyncio.Queue"], "asyncio.Queue"))

    runs = (("JetStream", False, args.js_events), ("JetStream, sync_interval: always", True, args.sync_events))
    for label, sync_always, count in runs:
        with tempfile.TemporaryDirectory() as folder, LocalNatsServer(Path(folder), sync_always=sync_always) as server:
            rates = results[label] = await jetstream_rates(server.url, make_events(count))
        base = rates["baseline publish"]
        print(f"{label}, {count:,} events:")
        print(line("  nats-py publish_async (baseline)", base, None, None, ""))
        print(line("  publish, acknowledged", rates["publish"], JETSTREAM_TARGET, base, "nats-py publish_async"))
        print(line("  consume + ack", rates["consume"], JETSTREAM_TARGET, None, ""))
        both = rates["publish+consume+ack"]
        print(line("  publish + consume + ack at once", both, JETSTREAM_TARGET, base, "nats-py publish_async"))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
