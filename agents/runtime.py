"""``enertwin agents run``: the agents of one portfolio on a bus until stopped, with metrics and JSON logs.

Each interval the loop takes the telemetry waiting on the bus, decides, and publishes the
released setpoints on ``plant.setpoints`` for the plant controller. SIGTERM (or Ctrl-C) lets
the round in flight finish, closes the consumers and the bus, and returns: nothing half done.
"""

from __future__ import annotations

import asyncio
import signal
import uuid
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime

from enertwin import Twin
from enertwin.agents.bus.base import Bus
from enertwin.agents.bus.memory import MemoryBus
from enertwin.agents.loop import SUBJECT_POLICIES, AgentLoop, RoundResult
from enertwin.agents.metrics import LOG, AgentMetrics
from enertwin.agents.roles.actuator import Actuator, BusPlant, Plant
from enertwin.agents.roles.contracts import ApprovalDesk, PolicyGate, SwitchBoard
from enertwin.agents.roles.coordinator import Coordinator
from enertwin.agents.roles.forecaster import SeasonalNaive
from enertwin.agents.roles.identity import registration
from enertwin.agents.roles.optimizer import Optimizer
from enertwin.agents.roles.state import PlantState
from enertwin.agents.roles.telemetry_ingest import TelemetryIngest
from enertwin.agents.settings.values import AgentSettings
from enertwin.agents.sim.setup import PortfolioFacts
from enertwin.kg.errors import InputError
from enertwin.reasoning.problem import DispatchProblem
from enertwin.reasoning.solver import SolverSettings


@dataclass(frozen=True, slots=True)
class Wiring:
    """What a loop is built from besides the graph: its bus, run id, horizon, solver and agent settings."""

    bus: Bus
    run: str
    horizon: int
    settings: SolverSettings
    agent: AgentSettings
    consumers: str | None = None
    """The durable consumers' name prefix: a live runtime keeps one across restarts (so what a stopped one
    left unacknowledged is delivered to the next); None names them after the run (a sandbox run's own)."""


def build_loop(
    twin: Twin,
    base: DispatchProblem,
    facts: PortfolioFacts,
    wiring: Wiring,
    safety: tuple[PolicyGate, SwitchBoard, ApprovalDesk],
    plant: Plant,
    mode: str,
) -> AgentLoop:
    """The five roles of one portfolio, wired to ``wiring.bus``, recording through ``twin``."""
    policy, switches, approvals = safety
    return AgentLoop(
        wiring.bus,
        wiring.run,
        wiring.consumers or wiring.run,
        TelemetryIngest(facts.limits, wiring.agent.gates),
        SeasonalNaive(
            facts.profiled, twin.read_series_many, base.horizon.first_step, base.steps, wiring.agent.season_steps
        ),
        Optimizer(base, wiring.horizon, wiring.settings),
        Coordinator(policy, switches, approvals, wiring.agent.deadlines),
        Actuator(plant, switches, mode),
        twin.record_activities,
    )


def observe(metrics: AgentMetrics | None, result: RoundResult, bus: Bus, switches: SwitchBoard, agent: str) -> None:
    """Update the metrics and log the round as one JSON line."""
    d = result.decision
    if metrics is not None:
        metrics.latency.observe(result.latency_s)
        metrics.bus(bus.stats())
        if d.blocked:
            metrics.blocks.inc()
        if d.fallback:
            metrics.fallbacks.labels(d.fallback).inc()
        for incident in result.incidents:
            metrics.incidents.labels(incident.kind).inc()
        metrics.kill.set(1 if switches.blocking("global", agent) is not None else 0)
    LOG.info(
        "round",
        extra={
            "at": result.at.isoformat(),
            "verdict": d.verdict.outcome if d.verdict else None,
            "fallback": d.fallback,
            "incidents": [i.kind for i in result.incidents],
            "applied": result.applied is not None,
            "latency_s": round(result.latency_s, 4),
            "decision_hash": result.decision_hash,
        },
    )


async def open_agent_bus(url: str | None) -> Bus:
    """``memory`` (or None): the in-process bus; ``nats://…``: JetStream (when the bus package provides it)."""
    if url in (None, "memory"):
        return MemoryBus(SUBJECT_POLICIES)
    if not url.startswith("nats://"):
        raise InputError(f"--bus takes 'memory' or a nats://host:port URL, not {url!r}")
    from enertwin.agents import bus as package

    opener = getattr(package, "open_bus", None)
    if opener is None:
        raise InputError("this build has no JetStream bus yet (enertwin.agents.bus.open_bus); use --bus memory")
    opened: Bus = await opener(url)
    return opened


def live_state(state: PlantState, base: DispatchProblem, applied: RoundResult) -> PlantState:
    """What the agents believe the plant does after a round: the setpoints it was sent (held where none came)."""
    if applied.applied is None:
        return state.after(state.on, state.output_mw, state.soc_mwh)
    sent = {s.asset: s for s in applied.applied.setpoints}
    on = tuple(bool(sent[u.iri].committed) if u.iri in sent else o for u, o in zip(base.thermal, state.on, strict=True))
    output = tuple(sent[u.iri].p_mw if u.iri in sent else p for u, p in zip(base.thermal, state.output_mw, strict=True))
    soc = tuple(
        sent[s.iri].soc_mwh or e if s.iri in sent else e for s, e in zip(base.storage, state.soc_mwh, strict=True)
    )
    return state.after(on, output, soc)


async def run_agents(
    twin: Twin,
    case: str,
    start: datetime,
    bus_url: str | None,
    safety: tuple[PolicyGate, SwitchBoard, ApprovalDesk],
    *,
    interval_s: float = 900.0,
    rounds: int | None = None,
    horizon: int = 96,
    metrics_port: int | None = None,
) -> int:
    """Run the agents until SIGTERM/SIGINT (or ``rounds``); the number of rounds completed."""
    from enertwin.agents.settings.live import SettingsFollower
    from enertwin.agents.sim.setup import read_facts

    steps = (rounds or 96) + horizon
    base = twin.dispatch_problem(case, start, steps)
    facts = read_facts(twin, base)
    bus = await open_agent_bus(bus_url)
    metrics = AgentMetrics()
    if metrics_port is not None:
        metrics.serve(metrics_port)
    run = uuid.uuid4().hex[:10]
    plant = BusPlant(bus, f"enertwin-{run}")
    settings = SolverSettings(time_limit=min(60.0, interval_s / 2), workers=1, relative_gap=0.002)
    agent = twin.agent_settings(load=True).paced(interval_s)
    wiring = Wiring(bus, run, horizon, settings, agent, consumers=f"live-{case}")
    loop = build_loop(twin, base, facts, wiring, safety, plant, "live")
    now = datetime.now(UTC)
    twin.record_activities([registration(loop.agents, now, now, run)])
    stop = asyncio.Event()
    running = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        running.add_signal_handler(sig, stop.set)
    state, done, follower = PlantState.initial(base), 0, SettingsFollower(twin, loop, run, interval_s)
    await loop.start()
    LOG.info("started", extra={"run": run, "case": case, "start": start.isoformat(), "bus": bus_url or "memory"})
    try:
        while not stop.is_set() and (rounds is None or done < rounds) and done < base.steps - horizon:
            follower.follow()
            result = await loop.round(done, base.horizon.time_at(done), state)
            await plant.flush()
            observe(metrics, result, bus, loop.coordinator.switches, loop.coordinator.agent.iri.value)
            state = live_state(state, base, result)
            done += 1
            if rounds is None or done < rounds:
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), interval_s)
    finally:
        await loop.stop()
        await bus.close()
        for sig in (signal.SIGTERM, signal.SIGINT):
            running.remove_signal_handler(sig)
        LOG.info("stopped", extra={"run": run, "rounds": done})
    return done
