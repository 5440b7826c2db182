"""A schedule in MW and MWh, its cost in euros, and the reference problem's JSON output."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from enertwin.reasoning.problem import DispatchProblem, FloatArray


@dataclass(frozen=True, slots=True)
class Schedule:
    """Set points per asset and step (rows follow the problem's asset order)."""

    thermal_p: FloatArray
    thermal_on: npt.NDArray[np.int8]
    renewable_p: FloatArray
    charge: FloatArray
    discharge: FloatArray
    soc: FloatArray
    buy: FloatArray
    sell: FloatArray
    unserved: FloatArray


def starts(problem: DispatchProblem, on: npt.NDArray[np.int8]) -> npt.NDArray[np.int8]:
    """1 where a unit starts: on now, off in the step before (or in its initial state)."""
    initial = np.array([[int(u.initial_on)] for u in problem.thermal], dtype=np.int8).reshape(-1, 1)
    before = np.hstack([initial, on[:, :-1]]) if on.size else on
    started: npt.NDArray[np.int8] = ((on == 1) & (before == 0)).astype(np.int8)
    return started


def schedule_cost(problem: DispatchProblem, schedule: Schedule) -> float:
    """The reference objective of ``schedule`` in euros, from its MW values."""
    market = problem.market
    fuel = np.array([u.costs.cost_per_mwh for u in problem.thermal]).reshape(-1, 1)
    energy = float(np.sum(fuel * schedule.thermal_p))
    energy += float(market.buy_price @ schedule.buy - market.sell_price @ schedule.sell)
    energy += problem.value_of_lost_load * float(schedule.unserved.sum())
    start_costs = np.array([u.start_cost for u in problem.thermal])
    started = starts(problem, schedule.thermal_on).sum(axis=1)
    return problem.horizon.step_hours * energy + float(start_costs @ started)


def share_curtailment(problem: DispatchProblem, total: FloatArray) -> FloatArray:
    """Split total renewable output per step over the units in proportion to what each has available."""
    available = np.array([u.available for u in problem.renewables]).reshape(len(problem.renewables), problem.steps)
    sums = available.sum(axis=0)
    share = np.divide(np.minimum(total, sums), sums, out=np.zeros(problem.steps), where=sums > 0)
    shared: FloatArray = np.minimum(available * share, available)
    return shared


def to_output(problem: DispatchProblem, schedule: Schedule, summary: dict[str, Any]) -> dict[str, Any]:
    """The JSON document of ``shared/benchmarks/portfolio-dispatch.md`` (``summary`` gives the run's fields)."""
    assets: list[dict[str, Any]] = []
    for i, unit in enumerate(problem.thermal):
        assets.append(
            {
                "id": unit.name,
                "iri": unit.iri,
                "kind": "thermal",
                "p_mw": _floats(schedule.thermal_p[i]),
                "on": [int(x) for x in schedule.thermal_on[i]],
            }
        )
    for i, res in enumerate(problem.renewables):
        assets.append({"id": res.name, "iri": res.iri, "kind": "renewable", "p_mw": _floats(schedule.renewable_p[i])})
    for i, store in enumerate(problem.storage):
        assets.append(
            {
                "id": store.name,
                "iri": store.iri,
                "kind": "storage",
                "charge_mw": _floats(schedule.charge[i]),
                "discharge_mw": _floats(schedule.discharge[i]),
                "soc_mwh": _floats(schedule.soc[i]),
            }
        )
    for load in problem.loads:
        assets.append({"id": load.name, "iri": load.iri, "kind": "load", "p_mw": _floats(load.demand)})
    return {
        "case": problem.case,
        **summary,
        "start": problem.horizon.start.isoformat(timespec="minutes"),
        "step_hours": problem.horizon.step_hours,
        "times": [problem.horizon.time_at(t).isoformat(timespec="minutes") for t in range(problem.steps)],
        "prices_eur_per_mwh": _floats(problem.market.price),
        "assets": assets,
        "market": {"buy_mw": _floats(schedule.buy), "sell_mw": _floats(schedule.sell)},
        "unserved_mw": _floats(schedule.unserved),
    }


def _floats(values: FloatArray) -> list[float]:
    return [round(float(x), 6) for x in values]
