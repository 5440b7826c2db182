"""`agents run`'s runtime: it serves Prometheus metrics, and SIGTERM drains the round in flight and returns."""

from __future__ import annotations

import asyncio
import os
import signal

import httpx

from enertwin import Twin
from enertwin.agents.bus.local_server import free_port
from enertwin.agents.control.approvals import Approvals
from enertwin.agents.control.kill_switch import KillSwitches
from enertwin.agents.policy.engine import PolicyEngine
from enertwin.agents.runtime import run_agents

from .conftest import START


def test_sigterm_drains_and_exits_cleanly_with_metrics(twin: Twin) -> None:
    port = free_port()
    switches = KillSwitches(twin)
    safety = (PolicyEngine(twin), switches, Approvals(twin))  # what `enertwin agents run` runs

    async def main() -> tuple[int, str]:
        task = asyncio.create_task(
            run_agents(twin, "hv-mixed", START, "memory", safety, interval_s=0.2, horizon=24, metrics_port=port)
        )
        text = ""
        async with httpx.AsyncClient() as client:
            while "enertwin_decision_latency_seconds_count 1.0" not in text and not task.done():
                await asyncio.sleep(0.2)
                try:
                    text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
                except httpx.HTTPError:
                    continue
        os.kill(os.getpid(), signal.SIGTERM)
        return await task, text

    try:
        rounds, metrics = asyncio.run(main())
    finally:
        switches.close()
    assert rounds >= 1
    for name in ("enertwin_incidents_total", "enertwin_kill_switch_engaged", "enertwin_bus_queue_depth"):
        assert name in metrics
    # no plant sends telemetry here: every round is a missing-data incident and the safe plan, never a crash
    assert 'enertwin_incidents_total{kind="missing"}' in metrics
    registrations = twin.report("activities").records()
    assert any("AgentRegistration" in str(r["type"]) for r in registrations)
