"""The optimizer: re-dispatch a rolling horizon every interval from the actual state and the latest forecasts.

The portfolio is read from the graph once (``portfolio_reader``, through the Twin) for the whole
run plus one horizon; each interval takes its window (``rolling.window_problem``), replaces the
profiles by forecasts (the current step by what was measured) and the initial state by the
plant's, and solves. The proposal carries the next step's setpoints; the rest of the horizon
is kept as the plan a fallback can follow.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import overload

import numpy as np

from enertwin.agents.events import Proposal, Setpoint
from enertwin.agents.roles.identity import AgentIdentity
from enertwin.agents.roles.state import PlantState
from enertwin.kg import namespaces as ns
from enertwin.reasoning.intraday import IntradayDispatcher
from enertwin.reasoning.problem import DispatchProblem, FloatArray, frozen_array
from enertwin.reasoning.rolling import window_problem
from enertwin.reasoning.schedule import Schedule, schedule_cost
from enertwin.reasoning.solver import DispatchResult, SolverSettings, solve

Solve = Callable[[DispatchProblem], DispatchResult]
CURTAILMENT_MW = 1e-3  # planned output this far below the forecast is a curtailment order


@dataclass(frozen=True, slots=True)
class Plan:
    """A solved horizon: setpoints per step from the run's interval ``first_step`` on."""

    first_step: int
    steps: Sequence[tuple[Setpoint, ...]]
    cost_eur: float

    def at(self, step: int) -> tuple[Setpoint, ...] | None:
        """The planned setpoints of the run's interval ``step``, if the plan covers it."""
        offset = step - self.first_step
        return self.steps[offset] if 0 <= offset < len(self.steps) else None


class PlannedSteps(Sequence[tuple[Setpoint, ...]]):
    """A schedule's setpoints per step, made when a step is first asked for.

    A round uses its first step; the rest of the horizon only when a fallback follows the plan, so
    building the setpoints of all 96 steps every round (a few thousand events) is mostly wasted.
    """

    def __init__(self, problem: DispatchProblem, schedule: Schedule) -> None:
        self._problem, self._schedule = problem, schedule
        self._made: dict[int, tuple[Setpoint, ...]] = {}

    def __len__(self) -> int:
        return self._problem.steps

    @overload
    def __getitem__(self, index: int) -> tuple[Setpoint, ...]: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[tuple[Setpoint, ...]]: ...

    def __getitem__(self, index: int | slice) -> tuple[Setpoint, ...] | Sequence[tuple[Setpoint, ...]]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        t = index + len(self) if index < 0 else index
        if not 0 <= t < len(self):
            raise IndexError(index)
        if t not in self._made:
            self._made[t] = setpoints(self._problem, self._schedule, t)
        return self._made[t]


class Optimizer:
    """Re-dispatches ``horizon`` steps from any step of ``base`` (the run's problem read from the graph)."""

    def __init__(
        self, base: DispatchProblem, horizon: int, settings: SolverSettings | None = None, solver: Solve | None = None
    ) -> None:
        self.base = base
        self.horizon = horizon
        self.settings = settings or SolverSettings(time_limit=10.0, workers=1, deterministic_time=5.0)
        self._solve: Solve = solver or self._kept_model
        self._dispatcher: IntradayDispatcher | None = None
        config = {"horizon_steps": horizon, **self.settings.model_dump(exclude={"log"})}
        self.agent = AgentIdentity("optimizer", ns.OPTIMIZER_ROLE, configuration=config)

    def _kept_model(self, problem: DispatchProblem) -> DispatchResult:
        """Re-dispatch on the CP-SAT model kept between intervals (a window of another length solves alone)."""
        if problem.steps != self.horizon:
            return solve(problem, self.settings)
        if self._dispatcher is None:
            self._dispatcher = IntradayDispatcher(problem, self.settings)
        return self._dispatcher.redispatch(problem)

    def window(
        self, offset: int, state: PlantState, forecasts: Mapping[str, FloatArray], measured: Mapping[str, float]
    ) -> DispatchProblem:
        """Steps ``offset`` … of the run: forecasts for profiles, measurements for now, the plant's state."""
        length = min(self.horizon, self.base.steps - offset)
        problem = window_problem(self.base, state.applied_to(self.base), offset, length)

        def profile(iri: str, truth: FloatArray) -> FloatArray:
            values = np.array(forecasts.get(iri, truth), dtype=float)[:length]
            if iri in measured:
                values[0] = measured[iri]
            return frozen_array(values)

        return dataclasses.replace(
            problem,
            loads=tuple(dataclasses.replace(u, demand=profile(u.iri, u.demand)) for u in problem.loads),
            renewables=tuple(
                dataclasses.replace(u, available=frozen_array(np.maximum(profile(u.iri, u.available), 0.0)))
                for u in problem.renewables
            ),
        )

    def propose(
        self, problem: DispatchProblem, offset: int, at: datetime, event_id: str
    ) -> tuple[Proposal, Plan] | None:
        """Solve ``problem``; the proposal for its first step and the plan for all of it (None: no schedule)."""
        result = self._solve(problem)
        if result.schedule is None:
            return None
        plan = Plan(offset, PlannedSteps(problem, result.schedule), schedule_cost(problem, result.schedule))
        s = result.schedule
        first_cost = planned_step_cost(problem, s, 0)
        proposal = Proposal(
            id=event_id,
            time=at,
            source=self.agent.iri.value,
            setpoints=plan.steps[0],
            market_position_mw=float(s.buy[0] - s.sell[0]),
            cost_eur=plan.cost_eur,
            cost_impact_eur=first_cost,
            unserved_mwh=float(s.unserved[0]) * problem.horizon.step_hours,
        )
        return proposal, plan


def setpoints(problem: DispatchProblem, schedule: Schedule, t: int) -> tuple[Setpoint, ...]:
    """Every controllable asset's setpoint in step ``t`` of ``schedule`` (storage: discharge − charge)."""
    at = problem.horizon.time_at(t)
    out = [
        Setpoint(asset=u.iri, at=at, p_mw=float(schedule.thermal_p[i, t]), committed=bool(schedule.thermal_on[i, t]))
        for i, u in enumerate(problem.thermal)
    ]
    out += [
        Setpoint(
            asset=u.iri,
            at=at,
            p_mw=float(schedule.discharge[i, t] - schedule.charge[i, t]),
            soc_mwh=float(schedule.soc[i, t]),
        )
        for i, u in enumerate(problem.storage)
    ]
    out += [  # renewables get a setpoint only where the plan curtails them: a cap for this step
        Setpoint(asset=u.iri, at=at, p_mw=float(schedule.renewable_p[i, t]))
        for i, u in enumerate(problem.renewables)
        if schedule.renewable_p[i, t] < u.available[t] - CURTAILMENT_MW
    ]
    return tuple(out)


def planned_step_cost(problem: DispatchProblem, s: Schedule, t: int) -> float:
    """What step ``t`` of a schedule costs by the reference objective (energy, market, unserved, starts)."""
    fuel = np.array([u.costs.cost_per_mwh for u in problem.thermal])
    m = problem.market
    energy = float(fuel @ s.thermal_p[:, t]) + float(m.buy_price[t] * s.buy[t] - m.sell_price[t] * s.sell[t])
    energy += problem.value_of_lost_load * float(s.unserved[t])
    before = [u.initial_on for u in problem.thermal] if t == 0 else list(s.thermal_on[:, t - 1])
    starts = sum(
        u.start_cost for u, was, now in zip(problem.thermal, before, s.thermal_on[:, t], strict=True) if now and not was
    )
    return problem.horizon.step_hours * energy + starts
