"""JetStream only: an actuator killed with SIGKILL mid-stream and restarted loses nothing and applies nothing twice."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from actuator_process import ACK_WAIT, MAX_ACK_PENDING
from bus_support import AGENT, run

from enertwin.agents.bus.jetstream import JetStreamBus
from enertwin.agents.events import Actuation, Setpoint

ACTUATOR = Path(__file__).with_name("actuator_process.py")
COUNT = 400


def _effects(db: Path) -> list[str]:
    if not db.exists():
        return []
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as connection:
        try:
            return [row[0] for row in connection.execute("SELECT event_id FROM effect")]
        except sqlite3.OperationalError:  # the table is not made yet
            return []


def test_a_killed_actuator_restarted_loses_no_event_and_applies_none_twice(nats_server: str, tmp_path: Path) -> None:
    stream = f"crash-{uuid.uuid4().hex[:8]}"
    db = tmp_path / "applied.sqlite"
    at = datetime(2026, 1, 1, tzinfo=UTC)
    sent = [
        Actuation(source=AGENT, proposal=f"p{n}", setpoints=(Setpoint(asset="a", at=at, p_mw=float(n)),))
        for n in range(COUNT)
    ]

    async def publish() -> None:
        bus = await JetStreamBus.connect(nats_server, stream=stream)
        await bus.subscribe("actuation", "actuator", ack_wait=ACK_WAIT, max_ack_pending=MAX_ACK_PENDING)
        for event in sent:
            await bus.publish("actuation", event)
        await bus.flush()
        assert bus.stats()["actuation"].published == COUNT
        await bus.close()

    run(publish())
    command = [sys.executable, str(ACTUATOR), nats_server, stream, str(db)]
    first = subprocess.Popen([*command, "60"], stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while len(_effects(db)) < COUNT // 3:
        assert first.poll() is None, "the actuator ended before it was killed"
        assert time.monotonic() < deadline, "the actuator applied too little in two minutes"
        time.sleep(0.05)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    applied_before_restart = len(_effects(db))
    assert 0 < applied_before_restart < COUNT

    second = subprocess.run([*command, "5"], capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    effects = _effects(db)
    assert sorted(effects) == sorted(event.id for event in sent)  # every event, each once
    print(json.loads(second.stdout), "applied before the kill:", applied_before_restart)

    async def nothing_left() -> None:
        bus = await JetStreamBus.connect(nats_server, stream=stream)
        sub = await bus.subscribe("actuation", "actuator", ack_wait=ACK_WAIT, max_ack_pending=MAX_ACK_PENDING)
        assert await sub.next(timeout=2 * ACK_WAIT) is None  # everything was acknowledged
        await bus.delete_stream()
        await bus.close()

    run(nothing_left())
