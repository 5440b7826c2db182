"""A slow consumer meets backpressure, not memory growth: the publisher's resident set stays bounded."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from bus_support import BusOpener

FLOOD = Path(__file__).with_name("flood_process.py")
COUNT = {"memory": 100_000, "jetstream": 10_000}
PAUSE_EVERY = {"memory": 50, "jetstream": 1}  # the consumer is several times slower than the publisher
# The events published weigh hundreds of MB; a bus that held them all would grow by far more than this.
GROWTH_LIMIT = 30 * 2**20


@pytest.mark.parametrize("overflow", ["block", "drop-oldest"])
def test_a_flood_at_a_slow_consumer_keeps_memory_bounded(bus: BusOpener, overflow: str) -> None:
    count = COUNT[bus.kind]
    stream = f"flood-{uuid.uuid4().hex[:8]}"
    command = [
        sys.executable,
        str(FLOOD),
        bus.kind,
        bus.url or "",
        stream,
        str(count),
        overflow,
        str(PAUSE_EVERY[bus.kind]),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["peak"] - report["early"] < GROWTH_LIMIT, report
    if overflow == "block":  # the publisher was held back: nothing lost
        assert (report["published"], report["dropped"], report["consumed"]) == (count, 0, count), report
    elif bus.kind == "memory":  # the oldest waiting went, each one counted
        assert report["dropped"] > 0 and report["consumed"] + report["dropped"] == count, report
    else:  # JetStream counts only what no delivery reached (none, when the purges took only events out for
        # delivery); a delivery racing a purge is counted too, so never fewer than were lost
        assert report["consumed"] <= count <= report["consumed"] + report["dropped"], report
