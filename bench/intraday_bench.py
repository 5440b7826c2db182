#!/usr/bin/env python
"""Intraday re-dispatch on a kept model against rebuilding with ``solve()`` every interval.

For each case, N consecutive 15-minute intervals of a rolling horizon (96 steps by default) from
one start: each interval's problem starts from the state the first step of the previous
re-dispatch left (commitments, outputs, stored energy, running minimum up/down times; stores must
end at least as full as they start), with forecasts that differ from the profiles by a seeded
relative error (``--noise``, new every interval, as a forecaster's would). The same problem is
solved, side by side in this process, by

* ``IntradayDispatcher.redispatch`` (the model built once before the first interval), and
* ``solve()`` (the baseline: build, LP guide and CP-SAT from scratch, as ``enertwin optimize``),

with the same settings. Prints p50/p99/max of each, their ratio, the ratio of the re-dispatch's
p99 to the 1 s target, and how far each re-dispatch is from the baseline's bound (both are valid
lower bounds of the interval's optimum). Exits 1 if a re-dispatch has no schedule or is further
from the baseline's bound than the settings' gap allows.

Usage (the store is made and the grids imported when missing; importing needs a signing key)::

    export ENERTWIN_HOME=/tmp/intraday/home && enertwin init --store /tmp/intraday/x
    python bench/intraday_bench.py --store /tmp/intraday/x --cases hv-mixed --intervals 48
    python bench/intraday_bench.py --store /tmp/intraday/x --cases ehv-mixed --intervals 4
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from enertwin.kg.importers.simbench import ensure_imported, grid_node, resolve_code
from enertwin.kg.store import Store
from enertwin.reasoning.intraday import IntradayDispatcher, next_state
from enertwin.reasoning.portfolio_reader import read_problem
from enertwin.reasoning.problem import DispatchProblem, frozen_array
from enertwin.reasoning.rolling import window_problem
from enertwin.reasoning.solver import SolverSettings, solve

TARGET_SECONDS = 1.0
PRICE_CODE = "1-EHV-mixed--2-sw"


def forecast(problem: DispatchProblem, noise: float, rng: np.random.Generator) -> DispatchProblem:
    """``problem`` with every availability and demand off by a relative error of deviation ``noise``."""
    if noise == 0:
        return problem

    def off(values: np.ndarray) -> np.ndarray:
        return frozen_array(np.maximum(0.0, values * (1.0 + noise * rng.standard_normal(values.shape))))

    return dataclasses.replace(
        problem,
        renewables=tuple(dataclasses.replace(u, available=off(u.available)) for u in problem.renewables),
        loads=tuple(dataclasses.replace(u, demand=off(u.demand)) for u in problem.loads),
    )


def run_case(store: Store, code: str, args: argparse.Namespace, settings: SolverSettings) -> dict[str, Any]:
    """All intervals of one case; every number of the run."""
    started = time.perf_counter()
    full = read_problem(
        store, grid_node(code).value, code, datetime.fromisoformat(args.start), args.steps + args.intervals
    )
    read_seconds = time.perf_counter() - started
    rng = np.random.default_rng(args.seed)
    state = full
    problem = forecast(window_problem(full, state, 0, args.steps), args.noise, rng)
    started = time.perf_counter()
    dispatcher = IntradayDispatcher(problem, settings)
    build_seconds = time.perf_counter() - started
    rows = []
    for first in range(args.intervals):
        problem = forecast(window_problem(full, state, first, args.steps), args.noise, rng)
        started = time.perf_counter()
        result = dispatcher.redispatch(problem)
        kept_seconds = time.perf_counter() - started
        row: dict[str, Any] = {
            "interval": first,
            "redispatch_s": kept_seconds,
            "status": result.status,
            "objective_eur": result.objective_eur,
            "bound_eur": result.best_bound_eur,
            "gap_eur": result.gap_eur,
        }
        if not args.skip_baseline:
            started = time.perf_counter()
            fresh = solve(problem, settings)
            row.update(solve_s=time.perf_counter() - started, solve_status=fresh.status)
            row.update(solve_objective_eur=fresh.objective_eur, solve_bound_eur=fresh.best_bound_eur)
        rows.append(row)
        print(_row_text(row), file=sys.stderr, flush=True)
        if result.schedule is None:
            break
        state = next_state(problem, result.schedule)
    return {"case": code, "read_s": read_seconds, "build_s": build_seconds, "intervals": rows}


def _row_text(row: dict[str, Any]) -> str:
    text = f"[intraday-bench] interval {row['interval']}: redispatch {row['redispatch_s']:.3f} s {row['status']}"
    if "solve_s" in row:
        text += f", solve() {row['solve_s']:.3f} s {row['solve_status']}"
    return text


def allowed_gap(settings: SolverSettings, objective: float) -> float:
    """The distance to a bound the settings accept (CP-SAT's rule: absolute or relative)."""
    return max(settings.absolute_gap, settings.relative_gap * max(1.0, abs(objective)))


def report(run: dict[str, Any], settings: SolverSettings) -> bool:
    """Print one case's table; whether every re-dispatch is a correct solution within the gap."""
    rows = run["intervals"]
    kept = np.array([r["redispatch_s"] for r in rows])
    print(f"\n### {run['case']}: {len(rows)} intervals (model built once in {run['build_s']:.2f} s)\n")
    print("| | p50 s | p99 s | max s | p99 / 1 s target |")
    print("| --- | ---: | ---: | ---: | ---: |")
    p50, p99 = np.percentile(kept, [50, 99])
    print(f"| redispatch (kept model) | {p50:.3f} | {p99:.3f} | {kept.max():.3f} | {p99 / TARGET_SECONDS:.2f} |")
    good = all(r["objective_eur"] is not None for r in rows)
    if "solve_s" in rows[0]:
        fresh = np.array([r["solve_s"] for r in rows])
        q50, q99 = np.percentile(fresh, [50, 99])
        numbers = f"{q50:.3f} | {q99:.3f} | {fresh.max():.3f} | {q99 / TARGET_SECONDS:.2f}"
        print(f"| solve() each interval (baseline) | {numbers} |")
        print(f"\nbaseline / redispatch: p50 × {q50 / p50:.1f}, p99 × {q99 / p99:.1f}")
        apart, unsolved = [], 0
        for r in rows:
            if r["solve_bound_eur"] is None:  # the baseline found nothing in its time limit: nothing to compare
                unsolved += 1
                continue
            if r["objective_eur"] is not None:
                over = r["objective_eur"] - r["solve_bound_eur"]
                apart.append(r["objective_eur"] - r["solve_objective_eur"])
                good &= over <= allowed_gap(settings, r["solve_objective_eur"])
        if apart:
            print(f"redispatch − solve() objective: max {max(apart):+.4f} €, min {min(apart):+.4f} €")
        if unsolved:
            print(f"solve() returned no schedule in {unsolved} interval(s) (statuses of the baseline: see --json)")
    gaps = [r["gap_eur"] for r in rows if r["gap_eur"] is not None]
    statuses = sorted({r["status"] for r in rows})
    print(f"redispatch gap to its own LP bound: max {max(gaps, default=float('nan')):.4f} €; statuses {statuses}")
    return good


def main() -> int:
    """Run every case, print the tables, exit 1 if a re-dispatch was wrong."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", required=True, help="disk store holding the grids (imported when missing)")
    parser.add_argument("--cases", nargs="+", default=["hv-mixed", "ehv-mixed"])
    parser.add_argument("--start", default="2016-01-14T00:00")
    parser.add_argument("--steps", type=int, default=96)
    parser.add_argument("--intervals", type=int, default=48)
    parser.add_argument("--noise", type=float, default=0.03, help="relative forecast error (standard deviation)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--json", type=Path, help="write every number to this file")
    args = parser.parse_args()
    settings = SolverSettings(time_limit=args.time_limit, workers=args.workers)
    print(
        f"{args.steps}-step horizon from {args.start}, noise {args.noise}, seed {args.seed}; "
        f"time limit {settings.time_limit} s, gap {settings.relative_gap} / {settings.absolute_gap} €, "
        f"{settings.resolved_workers()} workers"
    )
    runs, good = [], True
    with Store.open(Path(args.store)) as store:
        for case in args.cases:
            for code in {resolve_code(case), PRICE_CODE}:
                ensure_imported(store, code)
            runs.append(run_case(store, resolve_code(case), args, settings))
            good &= report(runs[-1], settings)
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1), encoding="utf-8")
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
