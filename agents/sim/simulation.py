"""The sandbox: SimBench profiles replayed as telemetry through the bus, in accelerated time, agents acting.

The same seed gives the same run: telemetry noise and gaps come from one seeded generator, the
solver runs on one worker with a deterministic work limit, and event ids derive from the run.
Faults (a stale meter, a value out of range, schema drift, a kill switch) can be scheduled by
step, for tests and the demo.

The safety pieces are the real ones on the twin's store: the policy engine, the kill switches
and the approvals, so what the sandbox blocks, escalates, expires or stops is recorded like a
live run's (``enertwin report``, ``enertwin approvals list --all``). A scheduled kill pulls the
agent kill switch of the sandbox's actuator (a global one would stop a live runtime on the same
store too), as the sandbox's scenario agent, and the run releases what it pulled when it ends.
Approval deadlines are in plant time: a request no one decided expires at its deadline, which
the accelerated clock reaches at once, and the safe plan runs.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from enertwin import Twin
from enertwin.agents.bus.base import Bus
from enertwin.agents.control.approvals import Approvals
from enertwin.agents.control.kill_switch import KillSwitches
from enertwin.agents.events import Telemetry
from enertwin.agents.loop import AgentLoop, RoundResult
from enertwin.agents.policy.engine import PolicyEngine
from enertwin.agents.roles.contracts import ApprovalDesk, PolicyGate, SwitchBoard
from enertwin.agents.roles.identity import AgentIdentity, registration
from enertwin.agents.roles.physics import StepOutcome, apply_step
from enertwin.agents.roles.records import decision_hash
from enertwin.agents.runtime import Wiring, build_loop
from enertwin.agents.settings.values import AgentSettings
from enertwin.agents.sim.baseline import Baseline, DayAheadBaseline, MeritOrderBaseline
from enertwin.agents.sim.plant import HeldSetpoints, SandboxPlant
from enertwin.agents.sim.setup import PortfolioFacts, read_facts
from enertwin.kg import namespaces as ns
from enertwin.kg.errors import InputError
from enertwin.reasoning.problem import DispatchProblem
from enertwin.reasoning.solver import SolverSettings

BASELINES = ("merit-order", "day-ahead")
FAULTS = ("gap", "stale", "out-of-range", "drift", "kill", "release")
SCENARIO = AgentIdentity("sandbox-scenario", ns.OPERATOR_ROLE, configuration={"faults": list(FAULTS)})
"""Who pulls and releases the sandbox's scheduled kill switch (registered with the run's agents)."""


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    """One sandbox run: case, start, length, telemetry noise and dropout, seed, and scheduled faults."""

    case: str
    start: datetime
    days: float = 1.0
    noise: float = 0.0
    dropout: float = 0.0
    seed: int = 0
    horizon: int = 96
    faults: Mapping[int, str] = field(default_factory=dict)
    settings: SolverSettings = field(
        default_factory=lambda: SolverSettings(time_limit=20.0, workers=1, deterministic_time=1.0, relative_gap=0.002)
    )
    agent: AgentSettings | None = None  # None: the store's agent settings, in accelerated time
    shadow: str | None = None  # a baseline (merit-order, day-ahead): only it is actuated, the agents decide beside it
    burst_rounds: int = 32  # agent records are appended once per this many rounds (a crash loses at most these)
    burst_seconds: float = 10.0  # … or once this many wall seconds passed since the oldest one held

    @property
    def steps(self) -> int:
        """Intervals simulated (15-minute steps)."""
        return round(self.days * 96)

    def check(self) -> None:
        """Refuse settings out of range, naming the option."""
        if self.steps <= 0:
            raise InputError(f"--days must give at least one 15-minute step, got {self.days}")
        if self.noise < 0 or not 0 <= self.dropout < 1:
            raise InputError("--noise must be ≥ 0 and --dropout in [0, 1)")
        if self.shadow not in (None, *BASELINES):
            raise InputError(f"unknown baseline {self.shadow!r}; known: {', '.join(BASELINES)}")
        bad = sorted(set(self.faults.values()) - set(FAULTS))
        if bad:
            raise InputError(f"unknown fault(s) {bad}; known: {', '.join(FAULTS)}")


@dataclass(slots=True)
class SimulationRun:
    """A finished run: the truth it ran on, each round, and the plant's record."""

    config: SimulationConfig
    run: str
    truth: DispatchProblem
    plant: SandboxPlant
    rounds: list[RoundResult]
    switch_events: list[tuple[int, str]]
    shadow: list[ShadowStep] = field(default_factory=list)

    @property
    def decision_hashes(self) -> list[str]:
        """One hash per round of what it released."""
        return [r.decision_hash for r in self.rounds]

    @property
    def run_hash(self) -> str:
        """One hash over every round's decision: equal for equal runs."""
        return hashlib.sha256("".join(self.decision_hashes).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ShadowStep:
    """One shadow step: what the baseline did, and what the agents' setpoints would have done from that state."""

    offset: int
    baseline: StepOutcome
    agents: StepOutcome
    baseline_hash: str
    agents_hash: str


@dataclass(frozen=True, slots=True)
class Controls:
    """The safety pieces the loop uses; each one not given is the real one on the twin's store."""

    policy: PolicyGate | None = None
    switches: SwitchBoard | None = None
    approvals: ApprovalDesk | None = None


@dataclass(frozen=True, slots=True)
class Portfolio:
    """The run's problem (its days plus one horizon) and the facts the agents read, read once."""

    base: DispatchProblem
    facts: PortfolioFacts


def read_portfolio(twin: Twin, config: SimulationConfig) -> Portfolio:
    """Read what a run of ``config`` needs from the graph (import the case first where it is missing)."""
    config.check()
    base = twin.dispatch_problem(config.case, config.start, config.steps + config.horizon)
    return Portfolio(base, read_facts(twin, base))


async def simulate(
    twin: Twin, config: SimulationConfig, bus: Bus, controls: Controls | None = None, portfolio: Portfolio | None = None
) -> SimulationRun:
    """Run the agents over ``config``'s days on ``bus``, the simulated plant applying what passes."""
    config.check()
    controls = controls or Controls()
    run = uuid.uuid4().hex[:10]
    portfolio = portfolio or read_portfolio(twin, config)
    base, facts = portfolio.base, portfolio.facts
    if base.steps < config.steps + config.horizon:
        raise InputError(
            f"the portfolio read covers {base.steps} steps; this run needs {config.steps + config.horizon}"
        )
    own_switches = KillSwitches(twin) if controls.switches is None else None
    switches = controls.switches or own_switches
    assert switches is not None
    policy = controls.policy or PolicyEngine(twin)
    approvals = controls.approvals or Approvals(twin)
    plant = SandboxPlant(base, facts.emission_factors)
    agent = config.agent or twin.agent_settings(load=True).accelerated()
    wiring = Wiring(bus, run, config.horizon, config.settings, agent)
    recorder = HeldSetpoints(base) if config.shadow else None
    mode = "shadow" if recorder is not None else "sandbox"
    loop = build_loop(twin, base, facts, wiring, (policy, switches, approvals), recorder or plant, mode)
    scenario = _Scenario(switches, loop.actuator.agent.iri.value, run)
    baseline = _baseline(config, base, loop, config.settings)
    shadow: list[ShadowStep] = []
    now = datetime.now(UTC)
    twin.record_activities([registration((*loop.agents, SCENARIO), now, now, run)])
    rng = np.random.default_rng(config.seed)
    rounds, switch_events = [], []
    held = twin.hold_records(config.burst_rounds, config.burst_seconds)
    await loop.start()
    try:
        for offset in range(config.steps):
            at = base.horizon.time_at(offset)
            fault = config.faults.get(offset)
            if fault in ("kill", "release") and scenario.switch(fault, offset):
                switch_events.append((offset, fault))
            for event in _faulty(plant.telemetry(run, offset, at, config.noise, rng), fault, rng, config.dropout):
                await bus.publish("telemetry", event)
            rounds.append(await loop.round(offset, at, plant.state))
            if baseline is not None and recorder is not None:
                chosen = baseline.setpoints(offset, plant.state)
                agents = apply_step(base, offset, plant.state, recorder.current, facts.emission_factors)[1]
                plant.take(chosen)
                done = plant.step(offset)
                hashes = decision_hash(tuple(chosen.values())), decision_hash(tuple(recorder.current.values()))
                shadow.append(ShadowStep(offset, done, agents, *hashes))
            else:
                plant.step(offset)
    finally:
        twin.release_records(held)
        await loop.stop()
        scenario.end()
        if own_switches is not None:
            own_switches.close()
    return SimulationRun(config, run, base, plant, rounds, switch_events, shadow)


def _baseline(
    config: SimulationConfig, base: DispatchProblem, loop: AgentLoop, settings: SolverSettings
) -> Baseline | None:
    if config.shadow == "merit-order":
        return MeritOrderBaseline(base)
    if config.shadow == "day-ahead":
        return DayAheadBaseline(base, loop.forecaster, settings)
    return None


class _Scenario:
    """The scheduled kill and release: the agent switch of the sandbox's actuator, pulled as :data:`SCENARIO`."""

    def __init__(self, switches: SwitchBoard, actuator: str, run: str) -> None:
        self.switches, self.actuator, self.run = switches, actuator, run
        self.pulled = False

    def switch(self, fault: str, offset: int) -> bool:
        """Pull (``kill``) or release the switch at step ``offset``; whether it changed (a person's pull stays)."""
        if not isinstance(self.switches, KillSwitches):
            raise InputError("the simulation pulls and releases kill switches through KillSwitches only")
        standing = any(s.scope == "agent" and s.target == self.actuator for s in self.switches.pulled())
        if fault == "kill" and not standing:
            why = f"sandbox run {self.run}: kill scheduled at step {offset}"
            self.switches.pull("agent", self.actuator, why, by=SCENARIO.iri.value)
            self.pulled = True
            return True
        if fault == "release" and standing and self.pulled:
            why = f"sandbox run {self.run}: release scheduled at step {offset}"
            self.switches.release("agent", self.actuator, why, by=SCENARIO.iri.value)
            self.pulled = False
            return True
        return False

    def end(self) -> None:
        """Release a switch the run pulled and did not release: the next run starts with it released."""
        if self.pulled and isinstance(self.switches, KillSwitches):
            self.switches.release("agent", self.actuator, f"sandbox run {self.run} ended", by=SCENARIO.iri.value)
            self.pulled = False


def _faulty(events: list[Telemetry], fault: str | None, rng: np.random.Generator, dropout: float) -> list[Telemetry]:
    """The telemetry as the faults and the dropout leave it."""
    kept = [e for e in events if not (dropout > 0 and rng.random() < dropout)]
    if fault == "gap":
        return kept[1:]
    if not kept or fault not in ("stale", "out-of-range", "drift"):
        return kept
    first = kept[0]
    if fault == "stale":
        changed = first.model_copy(update={"at": first.at - timedelta(hours=2)})
    elif fault == "out-of-range":
        asset = sorted(first.values)[0]
        changed = first.model_copy(update={"values": {**first.values, asset: 1e6}})
    else:
        changed = first.model_copy(update={"values": {**first.values, "https://example.org/unknown-meter": 1.0}})
    return [changed, *kept[1:]]
