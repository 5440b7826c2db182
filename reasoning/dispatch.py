"""One optimisation run end to end: graph → problem → solution → graph."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pyoxigraph import NamedNode

from enertwin.kg.errors import StoreError
from enertwin.kg.provenance.ledger import Ledger
from enertwin.kg.series_snapshot import RecordingSeries
from enertwin.kg.store import ONTOLOGY_GRAPH, Store
from enertwin.reasoning.cancel import Cancellation
from enertwin.reasoning.decision_writer import DecisionInputs, DecisionRecord, write_decision
from enertwin.reasoning.portfolio_reader import read_problem
from enertwin.reasoning.problem import DispatchProblem
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
    provenance_seconds: float = 0.0

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


@dataclass(frozen=True, slots=True)
class PreparedRun:
    """A problem read from the graph, with what a decision records of how it was read."""

    problem: DispatchProblem
    live: dict[NamedNode, NamedNode]
    recorder: RecordingSeries
    began: datetime
    clock: float
    case: str
    window: int
    overlap: int


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
    ledger: Ledger | None = None,
    cancel: Cancellation | None = None,
) -> DispatchRun:
    """Read the problem of ``grid`` from the graph, solve it and append the decision to the ledger.

    Horizons longer than ``window`` steps are solved in rolling windows overlapping by ``overlap``.
    The problem is read from the versions live at the start; they and the series slices read are
    recorded (by content hash) so that :func:`~enertwin.reasoning.replay.replay` can re-run it.
    ``cancel`` stops the solve from another thread; a cancelled run records nothing.
    """
    ledger = ledger or Ledger(store)  # no signing key: fail before solving
    prepared = read_run(store, grid, case, start, steps, cost_model, window, overlap)
    result = solve_dispatch(prepared.problem, settings, window, overlap, progress, cancel)
    return record_run(store, ledger, prepared, result)


def read_run(
    store: Store,
    grid: str,
    case: str,
    start: datetime,
    steps: int,
    cost_model: str | None = None,
    window: int = DEFAULT_WINDOW,
    overlap: int = DEFAULT_OVERLAP,
) -> PreparedRun:
    """The problem of ``grid``, read from the versions live now (the first part of :func:`optimize`)."""
    began, clock = datetime.now(UTC), time.perf_counter()
    live, recorder = store.versions(), RecordingSeries(store.series)
    problem = read_problem(store.view(live, recorder), grid, case, start, steps, cost_model)
    return PreparedRun(problem, live, recorder, began, clock, case, window, overlap)


def record_run(store: Store, ledger: Ledger, prepared: PreparedRun, result: DispatchResult) -> DispatchRun:
    """Append the decision of ``result`` with the inputs ``prepared`` read (the last part of :func:`optimize`)."""
    provenance = time.perf_counter()
    live = prepared.live
    inputs = DecisionInputs(
        versions={g: (live[g], store.version_hash(live[g])) for g in used_graphs(store, prepared.problem)},
        snapshot=prepared.recorder.save(),
        series_count=len(prepared.recorder.slices),
        case=prepared.case,
        window=prepared.window,
        overlap=prepared.overlap,
    )
    record = write_decision(ledger, result, prepared.began, datetime.now(UTC), inputs)
    now = time.perf_counter()
    return DispatchRun(result, record, now - prepared.clock, now - provenance)


def solve_dispatch(
    problem: DispatchProblem,
    settings: SolverSettings | None,
    window: int,
    overlap: int,
    progress: Progress | None,
    cancel: Cancellation | None = None,
) -> DispatchResult:
    """Solve whole, or in rolling windows when the horizon is longer than ``window``."""
    if problem.steps > window:
        return solve_rolling(problem, settings, window, overlap, progress, cancel)
    return solve(problem, settings, cancel)


def used_graphs(store: Store, problem: DispatchProblem) -> set[NamedNode]:
    """The logical graphs a problem was read from: its grid's, the market's, the cost model's, the ontology."""
    nodes = [problem.grid, problem.market.iri, problem.cost_model, problem.market.price_source]
    graphs = {ONTOLOGY_GRAPH}
    for node in nodes:
        if node.startswith(("http://", "https://")):
            found = store.graphs_describing(NamedNode(node))
            if not found and node != problem.market.price_source:
                raise StoreError(f"no graph describes <{node}>, which the problem was read from")
            graphs.update(found)
    return graphs
