"""What each idea of the LP-guided search buys, measured on one case in one run.

Variants, all on the same problem read once from a store that already holds the grids:

1. ``plain``: CP-SAT alone on the model (the baseline the issue names).
2. ``lp-rounding``: no CP-SAT search at all: the LP relaxation, commitments rounded to patterns
   that honour minimum up/down times, the dispatch LP with those commitments, made integral.
3. ``hint``: CP-SAT started from that schedule, without the LP bound as a cut.
4. ``hint+cut``: the default: the hint and the LP bound as a cut (CP-SAT can stop at the gap).

Usage: ``python bench/dispatch_ablation.py --store DIR --case ehv-mixed [--reference-eur X]``
(``--reference-eur``: a proven optimum to measure gaps against, e.g. from bench/reference_highs.py).
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime

from ortools.sat.python import cp_model

from enertwin.kg.importers.simbench import grid_node, resolve_code
from enertwin.kg.store import Store
from enertwin.reasoning.cpsat_model import build_model
from enertwin.reasoning.portfolio_reader import read_problem
from enertwin.reasoning.problem import DispatchProblem
from enertwin.reasoning.schedule import schedule_cost
from enertwin.reasoning.solver import SolverSettings, cp_parameters, read_schedule, solution_values
from enertwin.reasoning.warm_start import warm_start


def run_cp_sat(problem: DispatchProblem, settings: SolverSettings, hint: bool, cut: bool) -> tuple[float, float]:
    """(objective €, seconds) of CP-SAT with or without the LP hint and the LP bound cut."""
    started = time.perf_counter()
    dm = build_model(problem)
    if hint or cut:
        guide = warm_start(dm, build_model(problem, dm.scaling.widened()), settings.time_limit)
        if hint:
            for index, value in guide.hint.items():
                dm.model.proto.solution_hint.vars.append(index)
                dm.model.proto.solution_hint.values.append(value)
        if cut and guide.bound is not None:
            dm.model.add(dm.objective >= int(guide.bound) - 1)
    solver = cp_parameters(settings, max(1.0, settings.time_limit - (time.perf_counter() - started)))
    status = solver.solve(dm.model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return float("nan"), time.perf_counter() - started
    return schedule_cost(problem, read_schedule(dm, solution_values(solver))), time.perf_counter() - started


def run_rounding(problem: DispatchProblem, settings: SolverSettings) -> tuple[float, float, float]:
    """(objective € of the LP-rounded schedule, LP bound €, seconds): no CP-SAT search."""
    started = time.perf_counter()
    dm = build_model(problem)
    widened = build_model(problem, dm.scaling.widened())
    guide = warm_start(dm, widened, settings.time_limit)
    for index, value in guide.hint.items():
        dm.model.proto.solution_hint.vars.append(index)
        dm.model.proto.solution_hint.values.append(value)
    solver = cp_parameters(settings, 30.0)
    solver.parameters.fix_variables_to_their_hinted_value = True  # only checks the hint
    status = solver.solve(dm.model)
    seconds = time.perf_counter() - started
    bound = (guide.bound or float("nan")) * dm.scaling.objective_eur
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return float("nan"), bound, seconds
    return (
        schedule_cost(problem, read_schedule(dm, solution_values(solver))),
        bound,
        seconds,
    )


def main() -> None:
    """Run every variant and print one table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", required=True, help="a store holding the case and the price reference grid")
    parser.add_argument("--case", default="ehv-mixed")
    parser.add_argument("--start", default="2016-01-14T00:00")
    parser.add_argument("--steps", type=int, default=96)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--reference-eur", type=float, default=None, help="proven optimum to compare with")
    args = parser.parse_args()
    code = resolve_code(args.case)
    with Store.open(args.store) as store:
        problem = read_problem(store, grid_node(code).value, code, datetime.fromisoformat(args.start), args.steps)
    settings = SolverSettings(time_limit=args.time_limit)
    rows: list[tuple[str, float, float]] = []
    rounded, bound, seconds = run_rounding(problem, settings)
    rows.append(("lp-rounding (no search)", rounded, seconds))
    for name, hint, cut in (("plain CP-SAT", False, False), ("hint", True, False), ("hint+cut (default)", True, True)):
        cost, seconds = run_cp_sat(problem, settings, hint, cut)
        rows.append((name, cost, seconds))
    reference = args.reference_eur if args.reference_eur is not None else bound
    label = "reference optimum" if args.reference_eur is not None else "LP bound (widened)"
    print(f"{code} from {args.start}, {args.steps} steps, time limit {args.time_limit:g} s; gaps against the {label}")
    print(f"LP bound (widened model): {bound:,.2f} EUR")
    print("| variant | objective EUR | gap % | seconds |\n| --- | ---: | ---: | ---: |")
    for name, cost, seconds in rows:
        gap = (cost - reference) / abs(reference) * 100
        print(f"| {name} | {cost:,.2f} | {gap:.4f} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
