"""Baselines the agents are compared with in shadow mode: merit-order rules, or the held day-ahead schedule.

Merit order: a thermal unit runs flat out while its cost per MWh is at most the price, else it
stops; storage charges at full power when the price is in the cheapest quarter of the coming day
and discharges in the dearest quarter; renewables are never curtailed. Day-ahead: once a day the
day is dispatched on the forecasts and that schedule is held, whatever happens.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from enertwin.agents.events import Setpoint
from enertwin.agents.roles.forecaster import Forecaster
from enertwin.agents.roles.optimizer import Optimizer, Plan
from enertwin.agents.roles.state import PlantState
from enertwin.reasoning.problem import DispatchProblem
from enertwin.reasoning.solver import SolverSettings, solve

DAY = 96


class Baseline(Protocol):
    """Setpoints for a step from the plant's state, by a fixed rule."""

    name: str

    def setpoints(self, offset: int, state: PlantState) -> dict[str, Setpoint]:
        """The baseline's setpoints for the run's step ``offset``."""
        ...


class MeritOrderBaseline:
    """Rule-based merit-order dispatch with storage charging when cheap."""

    name = "merit-order"

    def __init__(self, truth: DispatchProblem) -> None:
        self.truth = truth

    def setpoints(self, offset: int, state: PlantState) -> dict[str, Setpoint]:
        """Thermal on where cheaper than the price; storage by the day's price quartiles."""
        t, price = self.truth, self.truth.market.price
        at = t.horizon.time_at(offset)
        out = {
            u.iri: Setpoint(asset=u.iri, at=at, p_mw=u.max_p if run else 0.0, committed=run)
            for u in t.thermal
            for run in [u.costs.cost_per_mwh <= price[offset]]
        }
        day = price[offset : offset + DAY]
        cheap, dear = np.quantile(day, 0.25), np.quantile(day, 0.75)
        for store in t.storage:
            level = -store.power_mw if price[offset] <= cheap and cheap < dear else 0.0
            level = store.power_mw if price[offset] >= dear and cheap < dear else level
            out[store.iri] = Setpoint(asset=store.iri, at=at, p_mw=level)
        return out


class DayAheadBaseline:
    """The day dispatched once on its forecasts at midnight of each simulated day, then held."""

    name = "day-ahead"

    def __init__(self, truth: DispatchProblem, forecaster: Forecaster, settings: SolverSettings) -> None:
        self.optimizer = Optimizer(truth, DAY, settings, solver=lambda problem: solve(problem, settings))
        self.forecaster = forecaster
        self.plan: Plan | None = None

    def setpoints(self, offset: int, state: PlantState) -> dict[str, Setpoint]:
        """The held schedule's setpoints (a new day is planned first)."""
        if self.plan is None or self.plan.at(offset) is None or offset % DAY == 0:
            base = self.optimizer.base
            forecasts = self.forecaster.forecast(base.horizon.first_step + offset, DAY)
            problem = self.optimizer.window(offset, state, forecasts, {})
            made = self.optimizer.propose(problem, offset, base.horizon.time_at(offset), f"day-ahead-{offset}")
            self.plan = made[1] if made is not None else self.plan
        planned = self.plan.at(offset) if self.plan is not None else None
        return {s.asset: s for s in planned or ()}
