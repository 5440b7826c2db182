"""Independent MILP of the reference portfolio-dispatch problem in linopy + HiGHS.

The problem is the one of shared/benchmarks/portfolio-dispatch.md, built from the data of
tests/reasoning/reference_dispatch.py (which is the specification in code) with a standard tight unit-commitment
formulation: commitment u, start-up v and shut-down w with v − w = u − u_prev and v + w ≤ 1; ramps with start/stop
jumps S = max(min_p, R); minimum up/down times over the start-ups/shut-downs inside the horizon.

    pip install linopy==0.10.1 highspy==1.16.0
    python bench/reference_highs.py --case ehv-mixed --start 2016-01-14T00:00 --steps 96 --time-limit 600
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import linopy
import numpy as np
import pandas as pd
import xarray as xr

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.reasoning.reference_dispatch import (  # noqa: E402
    STEP_HOURS,
    UNSERVED_EUR_PER_MWH,
    ReferenceData,
    build_schedule,
    check_schedule,
    load_reference,
    schedule_cost,
)


def _at_first_step(values: np.ndarray, dims: tuple[str, str], coords: dict) -> xr.DataArray:
    """A (asset, time) array that holds `values` at time 0 and 0 elsewhere (the initial-state terms)."""
    steps = len(coords[dims[1]])
    array = np.zeros((len(values), steps))
    array[:, 0] = values
    return xr.DataArray(array, dims=dims, coords={dims[0]: coords[dims[0]], dims[1]: coords[dims[1]]})


def _per_asset(values: np.ndarray, dim: str, names: pd.Index) -> xr.DataArray:
    return xr.DataArray(np.asarray(values, dtype=float), dims=[dim], coords={dim: names})


def build_model(data: ReferenceData) -> tuple[linopy.Model, dict[str, linopy.Variable]]:
    """The reference problem as a linopy model; returns the model and its variables by name."""
    dt = STEP_HOURS
    time_index = pd.RangeIndex(data.steps, name="time")
    m = linopy.Model()
    variables: dict[str, linopy.Variable] = {}
    supply = []

    # thermal units
    if data.thermal_names:
        gens = pd.Index(list(data.thermal_names), name="gen")
        coords = {"gen": gens, "time": time_index}
        min_p = _per_asset(data.min_p, "gen", gens)
        max_p = _per_asset(data.max_p, "gen", gens)
        ramp = _per_asset(data.ramp, "gen", gens)
        jump = _per_asset(data.start_jump, "gen", gens)
        u0 = _at_first_step(data.init_on.astype(float), ("gen", "time"), coords)
        p0 = _at_first_step(data.init_p, ("gen", "time"), coords)

        p = m.add_variables(lower=0.0, coords=[gens, time_index], name="p")
        u = m.add_variables(coords=[gens, time_index], name="u", binary=True)
        v = m.add_variables(coords=[gens, time_index], name="v", binary=True)
        w = m.add_variables(coords=[gens, time_index], name="w", binary=True)
        variables.update(p=p, u=u, v=v, w=w)

        m.add_constraints(p - min_p * u >= 0, name="p_min")
        m.add_constraints(p - max_p * u <= 0, name="p_max")
        # u_prev = u(t−1), the initial state at t = 0
        m.add_constraints(v - w - u + u.shift(time=1) == -u0, name="transition")
        m.add_constraints(v + w <= 1, name="start_or_stop")
        # p(t) − p(t−1) ≤ R·u(t−1) + S·v(t)
        m.add_constraints(p - p.shift(time=1) - ramp * u.shift(time=1) - jump * v <= p0 + ramp * u0, name="ramp_up")
        # p(t−1) − p(t) ≤ R·u(t) + S·w(t)
        m.add_constraints(p.shift(time=1) - p - ramp * u - jump * w <= -p0, name="ramp_down")

        # min up: Σ_{τ=t−UT+1..t} v(τ) ≤ u(t); min down: Σ_{τ=t−DT+1..t} w(τ) ≤ 1 − u(t) (τ inside the horizon)
        for label, transitions, lengths in (("min_up", v, data.min_up), ("min_down", w, data.min_down)):
            for length in sorted(set(int(x) for x in lengths)):
                if length <= 1:
                    continue  # implied by the transition constraints
                group = gens[np.asarray(lengths) == length]
                selected = transitions.sel(gen=group)
                window = sum(selected.shift(time=j) for j in range(1, min(length, data.steps))) + selected
                if label == "min_up":
                    m.add_constraints(window - u.sel(gen=group) <= 0, name=f"{label}_{length}")
                else:
                    m.add_constraints(window + u.sel(gen=group) <= 1, name=f"{label}_{length}")

        cost = _per_asset(data.cost, "gen", gens)
        start_cost = _per_asset(data.start_cost, "gen", gens)
        objective = (dt * cost * p).sum() + (start_cost * v).sum()
        supply.append(p.sum("gen"))
    else:
        objective = None

    # renewables
    if data.res_names:
        res = pd.Index(list(data.res_names), name="res")
        avail = xr.DataArray(data.res_avail, dims=["res", "time"], coords={"res": res, "time": time_index})
        r = m.add_variables(lower=0.0, upper=avail, name="r")
        variables["r"] = r
        supply.append(r.sum("res"))

    # storage
    if data.sto_names:
        sto = pd.Index(list(data.sto_names), name="sto")
        coords = {"sto": sto, "time": time_index}
        p_max = xr.DataArray(np.repeat(data.sto_p_max[:, None], data.steps, axis=1), coords=coords, dims=coords)
        e_max = xr.DataArray(np.repeat(data.sto_e_max[:, None], data.steps, axis=1), coords=coords, dims=coords)
        c = m.add_variables(lower=0.0, upper=p_max, name="charge")
        d = m.add_variables(lower=0.0, upper=p_max, name="discharge")
        e = m.add_variables(lower=0.0, upper=e_max, name="soc")
        variables.update(charge=c, discharge=d, soc=e)
        keep = _per_asset(data.sto_retention, "sto", sto)
        eta = _per_asset(data.sto_eta, "sto", sto)
        e0 = _at_first_step(data.sto_e_init * data.sto_retention, ("sto", "time"), coords)
        # e(t) = e(t−1)·(1 − sd·Δt/24) + η·c·Δt − d·Δt/η, e(−1) = 0.5·max_e
        m.add_constraints(e - keep * e.shift(time=1) - dt * eta * c + (dt / eta) * d == e0, name="energy")
        m.add_constraints(e.isel(time=-1) >= _per_asset(data.sto_e_init, "sto", sto), name="final_energy")
        supply.append(d.sum("sto") - c.sum("sto"))

    # market and unserved energy
    limit = math.inf if data.market_limit is None else data.market_limit
    buy = m.add_variables(lower=0.0, upper=limit, coords=[time_index], name="buy")
    sell = m.add_variables(lower=0.0, upper=limit, coords=[time_index], name="sell")
    slack = m.add_variables(lower=0.0, coords=[time_index], name="unserved")
    variables.update(buy=buy, sell=sell, unserved=slack)
    supply.extend([1 * buy, -1 * sell, 1 * slack])

    demand = xr.DataArray(data.total_demand, dims=["time"], coords={"time": time_index})
    m.add_constraints(sum(supply[1:], supply[0]) == demand, name="balance")

    buy_price = xr.DataArray(dt * data.buy_price, dims=["time"], coords={"time": time_index})
    sell_price = xr.DataArray(dt * data.sell_price, dims=["time"], coords={"time": time_index})
    market = (buy_price * buy).sum() - (sell_price * sell).sum() + (dt * UNSERVED_EUR_PER_MWH * slack).sum()
    m.add_objective(market if objective is None else objective + market)
    return m, variables


def _values(variables: dict[str, linopy.Variable], key: str, shape: tuple[int, int]) -> np.ndarray:
    if key not in variables:
        return np.zeros(shape)
    return np.asarray(variables[key].solution.values, dtype=float).reshape(shape)


def solve_reference(
    data: ReferenceData, time_limit: float = 600, mip_rel_gap: float = 1e-6, threads: int | None = None
) -> dict:
    """Solve the reference problem with HiGHS.

    Returns objective_eur (recomputed from the schedule), solver_objective_eur, best_bound_eur, status, seconds
    (HiGHS wall time), build_seconds and the schedule in the JSON output format.
    """
    started = time.perf_counter()
    m, variables = build_model(data)
    built = time.perf_counter()
    options: dict[str, object] = {"time_limit": float(time_limit), "mip_rel_gap": float(mip_rel_gap)}
    if threads is not None:
        options["threads"] = int(threads)
    m.solve(solver_name="highs", io_api="direct", **options)
    solved = time.perf_counter()

    highs = m.solver_model
    status = highs.modelStatusToString(highs.getModelStatus())
    has_solution = bool(np.isfinite(m.objective.value)) if m.objective.value is not None else False
    result: dict = {
        "status": status,
        "seconds": solved - built,
        "build_seconds": built - started,
        "objective_eur": math.nan,
        "solver_objective_eur": math.nan,
        "best_bound_eur": math.nan,
        "schedule": None,
    }
    if not has_solution:
        return result

    steps = data.steps
    n_gen, n_res, n_sto = len(data.thermal_names), len(data.res_names), len(data.sto_names)
    schedule = build_schedule(
        data,
        thermal_p=_values(variables, "p", (n_gen, steps)),
        thermal_on=np.round(_values(variables, "u", (n_gen, steps))),
        res_p=_values(variables, "r", (n_res, steps)),
        charge=_values(variables, "charge", (n_sto, steps)),
        discharge=_values(variables, "discharge", (n_sto, steps)),
        soc=_values(variables, "soc", (n_sto, steps)),
        buy=_values(variables, "buy", (1, steps))[0],
        sell=_values(variables, "sell", (1, steps))[0],
        unserved=_values(variables, "unserved", (1, steps))[0],
    )
    solver_objective = float(m.objective.value)
    # a pure LP (no thermal units) is its own bound
    bound = float(highs.getInfo().mip_dual_bound) if n_gen else solver_objective
    schedule["status"] = "OPTIMAL" if status == "Optimal" else "FEASIBLE"
    schedule["best_bound_eur"] = bound
    schedule["solve_seconds"] = solved - built
    schedule["wall_seconds"] = solved - started
    result.update(
        objective_eur=schedule["objective_eur"],
        solver_objective_eur=solver_objective,
        best_bound_eur=bound,
        schedule=schedule,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default="ehv-mixed", help="SimBench code or hv-mixed / ehv-mixed")
    parser.add_argument("--start", default="2016-01-14T00:00")
    parser.add_argument("--steps", type=int, default=96)
    parser.add_argument("--time-limit", type=float, default=600.0)
    parser.add_argument("--mip-rel-gap", type=float, default=1e-6)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None, help="write the schedule here")
    args = parser.parse_args()

    data = load_reference(args.case, args.start, args.steps)
    result = solve_reference(data, time_limit=args.time_limit, mip_rel_gap=args.mip_rel_gap, threads=args.threads)
    objective, bound = result["objective_eur"], result["best_bound_eur"]
    gap = (objective - bound) / abs(objective) if objective else math.nan
    print(f"case       {data.code}  start {data.start.isoformat()}  steps {data.steps}")
    print(f"status     {result['status']}")
    print(f"objective  {objective:,.2f} EUR (solver {result['solver_objective_eur']:,.2f})")
    print(f"bound      {bound:,.2f} EUR")
    print(f"gap        {gap:.3e}")
    print(f"time       {result['seconds']:.1f} s solve, {result['build_seconds']:.1f} s build")
    if result["schedule"] is None:
        raise SystemExit("no solution")
    problems = check_schedule(result["schedule"], data)
    for problem in problems:
        print("VIOLATION", problem)
    assert not problems, f"{len(problems)} violation(s)"
    assert math.isclose(
        schedule_cost(result["schedule"], data), result["solver_objective_eur"], rel_tol=1e-6, abs_tol=0.01
    ), "recomputed objective differs from the solver's"
    print("check      feasible; recomputed objective matches the solver")
    if args.json:
        args.json.write_text(json.dumps(result["schedule"]))


if __name__ == "__main__":
    main()
