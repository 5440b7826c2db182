"""A JetStream actuator in its own process, for the crash test: applies each actuation once, then acks.

Usage: python actuator_process.py URL STREAM DB IDLE_SECONDS — consumes `actuation` as durable `actuator`
until IDLE_SECONDS pass with nothing to deliver, applying each event through AppliedEvents (the effect is a
row in the same SQLite file) and pausing before the ack, so that a kill often lands between the two.
Prints how many deliveries were already applied (redeliveries of applied events) as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from enertwin.agents.bus.applied import AppliedEvents
from enertwin.agents.bus.jetstream import JetStreamBus

ACK_WAIT = 1.0
MAX_ACK_PENDING = 20


async def main(url: str, stream: str, db: Path, idle: float) -> None:
    bus = await JetStreamBus.connect(url, stream=stream)
    sub = await bus.subscribe("actuation", "actuator", ack_wait=ACK_WAIT, max_ack_pending=MAX_ACK_PENDING)
    applied = AppliedEvents(db)
    applied.connection.execute("CREATE TABLE IF NOT EXISTS effect (event_id TEXT NOT NULL)")
    already = 0
    while (delivery := await sub.next(timeout=idle)) is not None:
        event_id = delivery.event.id
        done = applied.apply_once(
            event_id, lambda: applied.connection.execute("INSERT INTO effect VALUES (?)", (event_id,))
        )
        already += done is None
        await asyncio.sleep(0.002)  # the plant takes its time before the ack
        await delivery.ack()
    applied.close()
    await bus.close()
    print(json.dumps({"already_applied": already}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], Path(sys.argv[3]), float(sys.argv[4])))
