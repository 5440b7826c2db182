"""Solve a dispatch problem with CP-SAT and read the schedule back in MW and MWh."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model
from pydantic import BaseModel, ConfigDict, Field

from enertwin.reasoning.cpsat_model import DispatchModel, build_model
from enertwin.reasoning.problem import DispatchProblem
from enertwin.reasoning.schedule import Schedule, schedule_cost, share_curtailment

SOLVER_NAME = "OR-Tools CP-SAT"


class SolverSettings(BaseModel):
    """What the solver may spend and how it searches; recorded with every decision."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    time_limit: float = Field(60.0, gt=0, description="wall-clock limit in seconds")
    workers: int = Field(0, ge=0, description="parallel workers (0: one per core)")
    relative_gap: float = Field(1e-4, ge=0, lt=1, description="stop once within this fraction of the bound")
    seed: int = Field(0, ge=0, description="random seed")
    deterministic_time: float | None = Field(
        None, gt=0, description="CP-SAT deterministic work limit; makes a run reproducible"
    )
    log: bool = Field(False, description="print CP-SAT's search log")

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


def solver_version() -> str:
    """``OR-Tools CP-SAT <version>``."""
    from ortools import __version__

    return f"{SOLVER_NAME} {__version__}"


def cp_parameters(settings: SolverSettings) -> cp_model.CpSolver:
    """A CP-SAT solver configured from ``settings``."""
    solver = cp_model.CpSolver()
    params = solver.parameters
    params.max_time_in_seconds = settings.time_limit
    params.num_workers = settings.resolved_workers()
    params.relative_gap_limit = settings.relative_gap
    params.random_seed = settings.seed
    if settings.deterministic_time is not None:
        params.max_deterministic_time = settings.deterministic_time
    params.log_search_progress = settings.log
    return solver


def solve(problem: DispatchProblem, settings: SolverSettings | None = None) -> DispatchResult:
    """Build and solve the CP-SAT model of ``problem``."""
    settings = settings or SolverSettings()
    dm = build_model(problem)
    solver = cp_parameters(settings)
    started = time.perf_counter()
    status = solver.solve(dm.model)
    seconds = time.perf_counter() - started
    name = solver.status_name(status)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return DispatchResult(problem, None, name, None, None, seconds, settings)
    schedule = read_schedule(dm, solver)
    cost = schedule_cost(problem, schedule)
    bound = min(cost, solver.best_objective_bound * dm.scaling.objective_eur)
    return DispatchResult(problem, schedule, name, cost, bound, seconds, settings)


def read_schedule(dm: DispatchModel, solver: cp_model.CpSolver) -> Schedule:
    """The solution in MW and MWh."""
    p, s = dm.problem, dm.scaling
    steps = p.steps

    def values(variables: list[cp_model.IntVar]) -> np.ndarray:
        return np.array([solver.value(v) for v in variables], dtype=float)

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
