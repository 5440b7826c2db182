"""Intraday re-dispatch: one CP-SAT model kept for a rolling horizon and updated every interval.

Every interval (15 minutes by default) the optimizer agent dispatches the same assets again over
a horizon of the same length, from the state the portfolio is actually in, with new forecasts and
prices. Building the model and its LP relaxation is most of what :func:`~enertwin.reasoning.solver.solve`
spends on a small grid, and all of it is the same from one interval to the next except a few bounds
and the objective (:mod:`enertwin.reasoning.model_update`). So :class:`IntradayDispatcher` builds
once, and each :meth:`~IntradayDispatcher.redispatch`:

1. writes the interval's data and initial state into the kept model, its outward-rounded twin and
   their LPs;
2. solves the twin's LP (a lower bound on the interval's reference optimum, as ``solve`` does);
3. starts from the previous solution shifted by one step: its commitments (kept where the
   minimum times allow, else the nearest pattern that honours them), dispatched by the LP of the
   model with those commitments fixed and made integral (``warm_start``);
4. stops there when that schedule is within the settings' gap of the bound; otherwise CP-SAT
   searches from it (as a solution hint, with the bound as a cut) for what remains of the time limit.

The result is a solution of the interval's own problem, the same that ``solve`` would be given:
its cost is recomputed in euros and its bound is the LP bound, so ``DispatchResult.gap_eur`` is the
proven distance to the optimum.
"""

from __future__ import annotations

import math
import time

import numpy as np
from ortools.sat.python import cp_model

from enertwin.reasoning.cancel import Cancellation
from enertwin.reasoning.cpsat_model import DispatchModel, IntVar, scaling_for
from enertwin.reasoning.infeasibility import diagnose
from enertwin.reasoning.lp_relaxation import Relaxation
from enertwin.reasoning.model_update import NO_LIMIT, build_kept, same_assets, update_model, update_relaxation
from enertwin.reasoning.problem import DispatchProblem
from enertwin.reasoning.schedule import schedule_cost
from enertwin.reasoning.solver import (
    LP_BOUND_SAFETY,
    SEARCH_SHARE,
    DispatchResult,
    SolverSettings,
    cp_parameters,
    read_schedule,
)
from enertwin.reasoning.warm_start import satisfies, warm_start


class IntradayDispatcher:
    """Re-dispatches one portfolio's rolling horizon, keeping its CP-SAT model between intervals.

    ``settings`` bound every :meth:`redispatch`: ``time_limit`` (wall clock, all phases),
    ``relative_gap`` and ``absolute_gap`` (where to stop), workers and seed.
    """

    def __init__(self, problem: DispatchProblem, settings: SolverSettings | None = None) -> None:
        self.settings = settings or SolverSettings()
        scaling = scaling_for(problem)
        self._model, self._changed = build_kept(problem, scaling)
        self._widened, self._widened_changed = build_kept(problem, scaling.widened())
        proto = self._model.model.proto
        self._relaxations = (
            Relaxation.of(self._widened.model.proto, self._widened.scaling.objective_eur),
            Relaxation.of(proto, scaling.objective_eur),
        )
        self._cut = len(proto.constraints)  # objective ≥ LP bound, rewritten every interval
        proto.constraints.add().linear.domain.extend([-NO_LIMIT - 1, NO_LIMIT])
        self._previous: list[int] | None = None  # the last solution, by variable index

    def redispatch(self, problem: DispatchProblem, cancel: Cancellation | None = None) -> DispatchResult:
        """Solve ``problem`` (same assets and steps, any start, data and initial state) on the kept model."""
        settings, cancel = self.settings, cancel or Cancellation()
        started = time.perf_counter()
        same_assets(self._model.problem, problem)
        dm = self._model
        for model, changed, position in ((dm, self._changed, 1), (self._widened, self._widened_changed, 0)):
            update_model(model, problem)
            relaxations = list(self._relaxations)
            relaxations[position] = update_relaxation(relaxations[position], model, changed)
            self._relaxations = (relaxations[0], relaxations[1])
        self._set_cut(None)
        cancel.check()
        patterns = self._shifted_patterns()
        guide = warm_start(dm, self._widened, settings.time_limit, self._relaxations, patterns)
        cancel.check()
        bound = None if guide.bound is None else math.floor(guide.bound - LP_BOUND_SAFETY * abs(guide.bound)) - 1
        bound_eur = None if bound is None else bound * dm.scaling.objective_eur
        self._set_cut(bound)
        if guide.hint and satisfies(dm, guide.hint):
            schedule = read_schedule(dm, guide.hint.__getitem__)
            cost = schedule_cost(problem, schedule)
            if bound_eur is not None and within_gap(cost, bound_eur, settings):
                self._previous = [guide.hint[i] for i in range(len(dm.model.proto.variables))]
                return DispatchResult(
                    problem, schedule, "OPTIMAL", cost, min(cost, bound_eur), time.perf_counter() - started, settings
                )
        self._set_hint(guide.hint or self._shifted_solution())
        time_left = max(SEARCH_SHARE * settings.time_limit, settings.time_limit - (time.perf_counter() - started))
        solver = cp_parameters(settings, time_left)
        solver.parameters.absolute_gap_limit = settings.absolute_gap / dm.scaling.objective_eur
        with cancel.watching(solver):
            status = solver.solve(dm.model)
        if status == cp_model.INFEASIBLE and bound is not None:
            self._set_cut(None)  # as in solve(): should rounding have made the LP cut too tight
            bound_eur = None
            with cancel.watching(solver):
                status = solver.solve(dm.model)
        seconds = time.perf_counter() - started
        name = solver.status_name(status)
        if status == cp_model.INFEASIBLE:
            self._previous = None
            conflicts = diagnose(problem, settings.time_limit)
            return DispatchResult(problem, None, name, None, None, time.perf_counter() - started, settings, conflicts)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            if status == cp_model.UNKNOWN and guide.hint and satisfies(dm, guide.hint):
                schedule = read_schedule(dm, guide.hint.__getitem__)
                cost = schedule_cost(problem, schedule)
                self._previous = [guide.hint[i] for i in range(len(dm.model.proto.variables))]
                low = None if bound_eur is None else min(cost, bound_eur)
                return DispatchResult(problem, schedule, "FEASIBLE", cost, low, seconds, settings)
            return DispatchResult(problem, None, name, None, None, seconds, settings)
        self._previous = list(solver.response_proto.solution)
        schedule = read_schedule(dm, self._previous.__getitem__)
        cost = schedule_cost(problem, schedule)
        low = bound_eur if bound_eur is not None else solver.best_objective_bound * dm.scaling.objective_eur
        return DispatchResult(problem, schedule, name, cost, min(cost, low), seconds, settings)

    def _set_cut(self, bound: int | None) -> None:
        """Objective ≥ ``bound`` in the kept model (no limit when None), with this interval's coefficients."""
        objective = self._model.model.proto.objective
        linear = self._model.model.proto.constraints[self._cut].linear
        linear.vars.clear()
        linear.coeffs.clear()
        linear.domain.clear()
        if bound is None:
            linear.domain.extend([-NO_LIMIT - 1, NO_LIMIT])
            return
        linear.vars.extend(list(objective.vars))
        linear.coeffs.extend(list(objective.coeffs))
        linear.domain.extend([bound, NO_LIMIT])

    def _set_hint(self, hint: dict[int, int]) -> None:
        proto = self._model.model.proto
        proto.clear_solution_hint()
        proto.solution_hint.vars.extend(list(hint))
        proto.solution_hint.values.extend(list(hint.values()))

    def _shifted_patterns(self) -> list[np.ndarray] | None:
        """Each unit's commitments of the previous solution, one step on (the last step repeated)."""
        if self._previous is None:
            return None
        return [shift(np.array([self._previous[v.index] for v in tv.on])) for tv in self._model.thermal]

    def _shifted_solution(self) -> dict[int, int]:
        """The whole previous solution one step on, as a hint for CP-SAT (empty before the first)."""
        if self._previous is None:
            return {}
        hint: dict[int, int] = {}
        for variables in per_step_variables(self._model):
            values = shift(np.array([self._previous[v.index] for v in variables]))
            hint.update((v.index, int(x)) for v, x in zip(variables, values, strict=True))
        return hint


def shift(values: np.ndarray) -> np.ndarray:
    """``values`` one step earlier, the last one repeated (a rolling horizon moved on by one step)."""
    return np.concatenate([values[1:], values[-1:]]) if len(values) else values


def per_step_variables(dm: DispatchModel) -> list[list[IntVar]]:
    """Every per-step variable family of ``dm`` (each a list over the horizon)."""
    families: list[list[IntVar]] = [dm.renewables, dm.buy, dm.sell, dm.unserved]
    for tv in dm.thermal:
        families += [tv.on, tv.p] + ([tv.start, tv.stop] if tv.start else [])
    for sv in dm.storage:
        families += [sv.charge, sv.discharge, sv.energy]
    return families


def within_gap(cost: float, bound: float, settings: SolverSettings) -> bool:
    """Whether ``cost`` is within the settings' absolute or relative gap of ``bound`` (CP-SAT's rule)."""
    gap = cost - bound
    return gap <= settings.absolute_gap or gap <= settings.relative_gap * max(1.0, abs(cost))
