"""``enertwin agents run``: the agents of one portfolio on a bus until stopped, with metrics and JSON logs.

Each interval the loop takes the telemetry waiting on the bus, decides, and publishes the
released setpoints on ``plant.setpoints`` for the plant controller. Between and during rounds
it applies people's commands from the ``command`` subject (:mod:`enertwin.agents.control.commands`),
so a kill switch pulled that way stops actuation from the next event. SIGTERM (or Ctrl-C) lets
the round in flight finish, closes the consumers and the bus, and returns: nothing half done.
"""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from enertwin import Twin
from enertwin.agents.bus.applied import AppliedEvents
from enertwin.agents.bus.base import Bus
from enertwin.agents.bus.memory import MemoryBus
from enertwin.agents.control.approvals import Approvals
from enertwin.agents.control.commands import Applied, CommandDesk, incident, serve_commands
from enertwin.agents.control.kill_switch import KillSwitches
from enertwin.agents.control.safe_plan import safe_plan
from enertwin.agents.events import Incident
from enertwin.agents.loop import SUBJECT_POLICIES, AgentLoop, RoundResult
from enertwin.agents.metrics import LOG, AgentMetrics
from enertwin.agents.roles import records
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
        Coordinator(policy, switches, approvals, wiring.agent.deadlines, partial(safe_plan, twin)),
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
    applied: Path | None = None,
    bus: Bus | None = None,
    watch: Callable[[RoundResult], object] | None = None,
) -> int:
    """Run the agents until SIGTERM/SIGINT (or ``rounds``); the number of rounds completed.

    ``applied`` is the file of the command ids applied (None: kept in memory, for this process's
    life); ``bus``, when given, is used instead of opening ``bus_url`` (and left open); ``watch``
    hears each round's result.
    """
    from enertwin.agents.settings.live import SettingsFollower
    from enertwin.agents.sim.setup import read_facts

    steps = (rounds or 96) + horizon
    base = twin.dispatch_problem(case, start, steps)
    facts = read_facts(twin, base)
    own_bus = bus is None
    bus = bus or await open_agent_bus(bus_url)
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
    clock = [start]
    commands = _Commands(twin, loop, applied, lambda: clock[0])
    await loop.start()
    serving = asyncio.create_task(serve_commands(bus, f"commands-{wiring.consumers}", commands.desk, commands.heard))
    LOG.info("started", extra={"run": run, "case": case, "start": start.isoformat(), "bus": bus_url or "memory"})
    try:
        while not stop.is_set() and (rounds is None or done < rounds) and done < base.steps - horizon:
            follower.follow()
            clock[0] = base.horizon.time_at(done)
            result = await loop.round(done, clock[0], state)
            await plant.flush()
            await commands.flush(bus)
            observe(metrics, result, bus, loop.coordinator.switches, loop.coordinator.agent.iri.value)
            if watch is not None:
                watch(result)
            state = live_state(state, base, result)
            done += 1
            if rounds is None or done < rounds:
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), interval_s)
    finally:
        serving.cancel()
        with suppress(asyncio.CancelledError):
            await serving
        commands.close()
        await loop.stop()
        if own_bus:
            await bus.close()
        for sig in (signal.SIGTERM, signal.SIGINT):
            running.remove_signal_handler(sig)
        LOG.info("stopped", extra={"run": run, "rounds": done})
    return done


class _Commands:
    """The runtime's command desk and what it heard: results logged, refusals recorded and published as incidents."""

    def __init__(self, twin: Twin, loop: AgentLoop, applied: Path | None, clock: Callable[[], datetime]) -> None:
        self.twin, self.agent = twin, loop.coordinator.agent
        self.switches, self.approvals = KillSwitches(twin), Approvals(twin)
        self.applied = AppliedEvents(applied or Path(":memory:"))
        self.desk = CommandDesk(twin, self.switches, self.approvals, self.applied, clock)
        self.refused: list[Incident] = []

    def heard(self, result: Applied) -> None:
        c = result.command
        LOG.info("command", extra={"id": c.id, "kind": c.kind, "target": c.target, "who": c.who, "done": result.done})
        if not result.done:
            refusal = incident(result, self.agent.iri.value)
            now = datetime.now(UTC)
            self.twin.record_activities([records.incident(self.agent, refusal, (now, now))])
            self.refused.append(refusal)

    async def flush(self, bus: Bus) -> None:
        """Publish the incidents of refused commands."""
        while self.refused:
            await bus.publish("incident", self.refused.pop(0))

    def close(self) -> None:
        self.switches.close()
        self.applied.close()
