"""Why a problem has no schedule: a small set of graph facts that cannot all hold.

Every constraint family of the model is guarded by a literal (``build_model(diagnose=True)``)
and all literals are CP-SAT assumptions. CP-SAT returns a set of assumptions sufficient for
infeasibility; a deletion pass then drops every guard the conflict does not need, so what
remains is minimal: switch off any one of its rules and a schedule exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from ortools.sat.python import cp_model

from enertwin.reasoning.cpsat_model import Guard, build_model
from enertwin.reasoning.problem import DispatchProblem


@dataclass(frozen=True, slots=True)
class Conflict:
    """One rule of a conflicting set, with the graph facts it comes from."""

    text: str
    facts: tuple[str, ...]


def diagnose(problem: DispatchProblem, time_limit: float = 60.0) -> tuple[Conflict, ...]:
    """A minimal set of rules of ``problem`` that cannot hold together (empty if it is feasible)."""
    dm = build_model(problem, diagnose=True)
    dm.model.proto.clear_objective()
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1  # assumption cores come from the sequential search
    solver.parameters.max_time_in_seconds = time_limit
    core = _core(dm.model, solver, dm.guards)
    if not core:
        return ()
    for guard in list(core):
        trial = [g for g in core if g is not guard]
        if _infeasible(dm.model, solver, trial):
            core = trial
    return tuple(Conflict(g.text, g.facts) for g in core)


def _core(model: cp_model.CpModel, solver: cp_model.CpSolver, guards: list[Guard]) -> list[Guard]:
    model.clear_assumptions()
    model.add_assumptions([g.literal for g in guards])
    if solver.solve(model) != cp_model.INFEASIBLE:
        return []
    needed = set(solver.sufficient_assumptions_for_infeasibility())
    return [g for g in guards if g.literal.index in needed]


def _infeasible(model: cp_model.CpModel, solver: cp_model.CpSolver, guards: list[Guard]) -> bool:
    model.clear_assumptions()
    model.add_assumptions([g.literal for g in guards])
    return solver.solve(model) == cp_model.INFEASIBLE
