"""One sandbox session as the CLI runs it: bus opened and closed, KPIs computed, report written."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime
from importlib.resources import files
from pathlib import Path

from enertwin import Twin
from enertwin.agents.policy.engine import PolicyEngine
from enertwin.agents.policy.sets import with_default_rules
from enertwin.agents.runtime import open_agent_bus
from enertwin.agents.sim.kpis import Kpis, kpis
from enertwin.agents.sim.report import write_report
from enertwin.agents.sim.simulation import Controls, SimulationConfig, SimulationRun, simulate

DEMO_POLICY = "demo.ttl"


@dataclass(frozen=True, slots=True)
class Session:
    """A finished session: the run, its KPIs and where its report page is."""

    run: SimulationRun
    kpis: Kpis
    page: Path | None


def run_session(
    twin: Twin, config: SimulationConfig, bus_url: str | None = None, report: Path | None = None, foresight: bool = True
) -> Session:
    """Simulate ``config`` on the bus at ``bus_url``; KPIs (with regret if ``foresight``) and the report.

    Proposals are judged by the store's active policy set (the default set when none was loaded),
    kill switches and approvals are the store's (see :mod:`enertwin.agents.sim.simulation`).
    """

    async def go() -> SimulationRun:
        bus = await open_agent_bus(bus_url)
        try:
            return await simulate(twin, config, bus)
        finally:
            await bus.close()

    run = asyncio.run(go())
    figures = kpis(run, foresight)
    page = write_report(run, figures, report) if report is not None else None
    return Session(run, figures, page)


def kpi_document(session: Session) -> str:
    """The KPIs, the settings and the decision hashes as one JSON document."""
    c = session.run.config
    document = {
        "case": session.run.truth.case,
        "start": c.start.isoformat(),
        "days": c.days,
        "noise": c.noise,
        "dropout": c.dropout,
        "seed": c.seed,
        "kpis": session.kpis.as_dict(),
        "decision_hashes": session.run.decision_hashes,
    }
    return json.dumps(document, indent=1)


def demo_session(twin: Twin, code: str, start: datetime) -> Session:
    """Four intervals: the second proposal is blocked by a demo rule, the kill switch is pulled for the third.

    The rule is ``policies/demo.ttl`` (with the default set's rules), loaded into the store
    (recorded) and pinned for this run only: the store's active set does not change.
    """
    loaded = twin.load_policy(with_default_rules((files("enertwin.policies") / DEMO_POLICY).read_bytes()), DEMO_POLICY)
    config = SimulationConfig(code, start, 4 / 96, horizon=24, faults={2: "kill", 3: "release"})

    async def go() -> SimulationRun:
        bus = await open_agent_bus("memory")
        try:
            return await simulate(twin, config, bus, Controls(policy=PolicyEngine(twin, loaded.version)))
        finally:
            await bus.close()

    run = asyncio.run(go())
    return Session(run, kpis(run, foresight=False), None)
