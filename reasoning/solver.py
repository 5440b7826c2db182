"""Solve a dispatch problem with CP-SAT and read the schedule back in MW and MWh."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version

import numpy as np
from ortools.sat.python import cp_model
from pydantic import BaseModel, ConfigDict, Field

from enertwin.reasoning.cancel import Cancellation
from enertwin.reasoning.cpsat_model import DispatchModel, build_model
from enertwin.reasoning.infeasibility import Conflict, diagnose
from enertwin.reasoning.problem import DispatchProblem
from enertwin.reasoning.schedule import Schedule, schedule_cost, share_curtailment
from enertwin.reasoning.warm_start import satisfies, warm_start

SOLVER_NAME = "OR-Tools CP-SAT"
LP_BOUND_SAFETY = 1e-7  # relative margin for the LP solver's tolerances
SEARCH_SHARE = 0.2  # of the time limit, at least, for CP-SAT after the LP guide (which may take the rest)


class SolverSettings(BaseModel):
    """What the solver may spend and how it searches; recorded with every decision."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    time_limit: float = Field(default=60.0, gt=0, description="wall-clock limit in seconds")
    workers: int = Field(default=0, ge=0, description="parallel workers (0: one per core)")
    relative_gap: float = Field(default=1e-4, ge=0, lt=1, description="stop once within this fraction of the bound")
    absolute_gap: float = Field(
        default=1.0,
        ge=0,
        description="stop once within this many euros of the bound (rounding to 0.0001 MW leaves some)",
    )
    seed: int = Field(default=0, ge=0, description="random seed")
    deterministic_time: float | None = Field(
        default=None, gt=0, description="CP-SAT deterministic work limit; makes a run reproducible"
    )
    lp_guide: bool = Field(default=True, description="start CP-SAT from an LP-guided schedule and give it the LP bound")
    log: bool = Field(default=False, description="print CP-SAT's search log")

    def resolved_workers(self) -> int:
        """The worker count actually used."""
        return self.workers or os.cpu_count() or 1


@dataclass(frozen=True, slots=True)
class DispatchResult:
    """A solved problem: the schedule, its cost recomputed in euros and the solver's account."""

    problem: DispatchProblem
    schedule: Schedule | None
    status: str
    objective_eur: float | None
    best_bound_eur: float | None
    solve_seconds: float
    settings: SolverSettings
    conflicts: tuple[Conflict, ...] = ()

    @property
    def gap_eur(self) -> float | None:
        """Objective minus bound: at most this far above the optimum (None without both)."""
        if self.objective_eur is None or self.best_bound_eur is None:
            return None
        return self.objective_eur - self.best_bound_eur


def solver_version() -> str:
    """``OR-Tools CP-SAT <version>``."""
    return f"{SOLVER_NAME} {version('ortools')}"


def cp_parameters(settings: SolverSettings, time_left: float | None = None) -> cp_model.CpSolver:
    """A CP-SAT solver configured from ``settings`` (``time_left``: what remains of the time limit)."""
    solver = cp_model.CpSolver()
    params = solver.parameters
    params.max_time_in_seconds = settings.time_limit if time_left is None else time_left
    params.num_workers = settings.resolved_workers()
    params.relative_gap_limit = settings.relative_gap
    params.random_seed = settings.seed
    if settings.deterministic_time is not None:
        params.max_deterministic_time = settings.deterministic_time
    params.log_search_progress = settings.log
    return solver


def solve(
    problem: DispatchProblem, settings: SolverSettings | None = None, cancel: Cancellation | None = None
) -> DispatchResult:
    """Build and solve the CP-SAT model of ``problem`` within ``settings.time_limit`` (wall clock, all phases).

    The LP guide is never cut short while it is within the limit, and CP-SAT always gets at least
    ``SEARCH_SHARE`` of it, so a run may overshoot the limit by that share when the LPs are slow.
    ``cancel`` stops the run from another thread (:class:`~enertwin.kg.errors.Cancelled` is raised).
    """
    settings = settings or SolverSettings()
    cancel = cancel or Cancellation()
    started = time.perf_counter()
    dm = build_model(problem)
    cancel.check()
    lp_bound, hint, cut = _guide(dm, settings) if settings.lp_guide else (None, {}, None)
    cancel.check()
    spent = time.perf_counter() - started
    time_left = max(SEARCH_SHARE * settings.time_limit, settings.time_limit - spent)
    solver = cp_parameters(settings, time_left)
    solver.parameters.absolute_gap_limit = settings.absolute_gap / dm.scaling.objective_eur
    with cancel.watching(solver):
        status = solver.solve(dm.model)
    if status == cp_model.INFEASIBLE and cut is not None:
        # the cut comes from the LP of the model rounded outward, which can be feasible (or, by numerical noise,
        # tighter) where this model is not: solve without it, so that an infeasible answer is the model's own
        cut.proto.clear_linear()  # an empty constraint constrains nothing; OR-Tools' repeated fields cannot pop
        lp_bound = None
        with cancel.watching(solver):
            status = solver.solve(dm.model)
    seconds = time.perf_counter() - started
    name = solver.status_name(status)
    if status == cp_model.INFEASIBLE:
        conflicts = diagnose(problem, settings.time_limit)
        return DispatchResult(problem, None, name, None, None, time.perf_counter() - started, settings, conflicts)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        if status == cp_model.UNKNOWN and hint and satisfies(dm, hint):
            # CP-SAT ran out of time before it even returned the hint: the LP-guided schedule stands
            schedule = read_schedule(dm, hint.__getitem__)
            cost = schedule_cost(problem, schedule)
            bound = min(cost, lp_bound) if lp_bound is not None else None
            return DispatchResult(problem, schedule, "FEASIBLE", cost, bound, seconds, settings)
        return DispatchResult(problem, None, name, None, None, seconds, settings)
    schedule = read_schedule(dm, solution_values(solver))
    cost = schedule_cost(problem, schedule)
    # CP-SAT's own bound holds for the model rounded inward, which is tighter than the reference
    # problem; the LP of the model rounded outward bounds the reference problem itself.
    bound = lp_bound if lp_bound is not None else solver.best_objective_bound * dm.scaling.objective_eur
    return DispatchResult(problem, schedule, name, cost, min(cost, bound), seconds, settings)


def _guide(
    dm: DispatchModel, settings: SolverSettings
) -> tuple[float | None, dict[int, int], cp_model.Constraint | None]:
    """Hint CP-SAT with the LP-guided schedule and cut off objectives below the LP bound.

    Returns the bound in € (None where the LP did not solve), the hint and the cut (to drop it again).
    """
    widened = build_model(dm.problem, dm.scaling.widened())
    guide = warm_start(dm, widened, time_limit=settings.time_limit)
    for index, value in guide.hint.items():
        dm.model.proto.solution_hint.vars.append(index)
        dm.model.proto.solution_hint.values.append(value)
    if guide.bound is None:
        return None, guide.hint, None
    bound = math.floor(guide.bound - LP_BOUND_SAFETY * abs(guide.bound)) - 1
    cut = dm.model.add(dm.objective >= bound)
    return bound * dm.scaling.objective_eur, guide.hint, cut


def solution_values(solver: cp_model.CpSolver) -> Callable[[int], int]:
    """A solved model's values by variable index."""
    return list(solver.response_proto.solution).__getitem__


def read_schedule(dm: DispatchModel, value: Callable[[int], int]) -> Schedule:
    """The solution in MW and MWh; ``value`` gives a variable's integer value by its index."""
    p, s = dm.problem, dm.scaling
    steps = p.steps

    def values(variables: list[cp_model.IntVar]) -> np.ndarray:
        return np.array([value(v.index) for v in variables], dtype=float)

    def matrix(rows: list[list[cp_model.IntVar]], unit: float) -> np.ndarray:
        return np.array([values(r) * unit for r in rows]).reshape(len(rows), steps)

    return Schedule(
        thermal_p=matrix([tv.p for tv in dm.thermal], s.power_mw),
        thermal_on=matrix([tv.on for tv in dm.thermal], 1.0).astype(np.int8),
        renewable_p=share_curtailment(p, values(dm.renewables) * s.power_mw),
        charge=matrix([sv.charge for sv in dm.storage], s.power_mw),
        discharge=matrix([sv.discharge for sv in dm.storage], s.power_mw),
        soc=matrix([sv.energy for sv in dm.storage], s.energy_mwh),
        buy=values(dm.buy) * s.power_mw,
        sell=values(dm.sell) * s.power_mw,
        unserved=values(dm.unserved) * s.power_mw,
    )
