"""One optimisation run end to end: graph → problem → solution → graph."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from enertwin.kg.store import Store
from enertwin.reasoning.decision_writer import DecisionRecord, write_decision
from enertwin.reasoning.portfolio_reader import read_problem
from enertwin.reasoning.rolling import Progress, solve_rolling
from enertwin.reasoning.schedule import to_output
from enertwin.reasoning.solver import DispatchResult, SolverSettings, solve

DEFAULT_WINDOW = 144  # a day and a half of 15-minute steps
DEFAULT_OVERLAP = 48  # half a day of look-ahead: longer than the longest minimum up time (8 h)


@dataclass(frozen=True, slots=True)
class DispatchRun:
    """A solved and stored dispatch decision."""

    result: DispatchResult
    record: DecisionRecord
    wall_seconds: float

    def output(self) -> dict[str, Any]:
        """The reference problem's JSON document for this run."""
        r = self.result
        summary = {
            "status": r.status,
            "objective_eur": r.objective_eur,
            "best_bound_eur": r.best_bound_eur,
            "solve_seconds": round(r.solve_seconds, 3),
            "wall_seconds": round(self.wall_seconds, 3),
            "decision": self.record.schedule.value,
        }
        if r.schedule is None:
            conflicts = [{"rule": c.text, "facts": list(c.facts)} for c in r.conflicts]
            return {"case": r.problem.case, **summary, "conflicts": conflicts}
        return to_output(r.problem, r.schedule, summary)


def optimize(
    store: Store,
    grid: str,
    case: str,
    start: datetime,
    steps: int,
    settings: SolverSettings | None = None,
    cost_model: str | None = None,
    window: int = DEFAULT_WINDOW,
    overlap: int = DEFAULT_OVERLAP,
    progress: Progress | None = None,
) -> DispatchRun:
    """Read the problem of ``grid`` from the graph, solve it and store the decision.

    Horizons longer than ``window`` steps are solved in rolling windows overlapping by ``overlap``.
    """
    began, clock = datetime.now(UTC), time.perf_counter()
    problem = read_problem(store, grid, case, start, steps, cost_model)
    rolling = steps > window
    result = solve_rolling(problem, settings, window, overlap, progress) if rolling else solve(problem, settings)
    record = write_decision(store, result, began, datetime.now(UTC))
    return DispatchRun(result, record, time.perf_counter() - clock)
