"""Update a built CP-SAT dispatch model, and its LP relaxation, in place for a problem that moved on.

Intraday, the same assets are dispatched again every interval over a horizon of the same length:
only the data changes (availability, demand, prices) and the state the horizon starts from
(commitments, outputs, stored energy, minimum up/down times still running). Every other part of
the model (variables, output limits, ramps, minimum times, the storage recursion) stays. What
depends on the data is, exactly:

- variable domains: total renewables per step (availability), unserved energy per step (demand),
  market trades (their bound without a market limit follows demand and availability), and the
  commitments a running minimum up or down time holds (a fixed domain instead of the builder's
  equality, which is the same restriction);
- row bounds: the power balance per step, the first storage balance (energy before t0) and the
  end rule, the first start/stop row and the first two ramp rows of each unit (its state before t0);
- the objective (prices, and its unit, which follows the decimals the prices need).

A model to be kept is built by :func:`build_kept` (from a problem with no held steps, so that the
rows are the same whatever state comes later); :func:`update_model` writes a new problem's values
into it with the formulas of :mod:`enertwin.reasoning.cpsat_model`, and :func:`update_relaxation`
copies the changed bounds into the LP that was derived from it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from enertwin.kg.errors import InputError
from enertwin.reasoning.cpsat_model import DispatchModel, build_model, scaling_for, storage_terms
from enertwin.reasoning.lp_relaxation import Relaxation, finite_bound
from enertwin.reasoning.problem import DispatchProblem, StorageUnit, ThermalUnit
from enertwin.reasoning.scaling import ENERGY_BAND_UNITS, ENERGY_COEFFICIENT_SCALE, Scaling

NO_LIMIT = 2**63 - 1
STATIC_THERMAL = ("min_p", "max_p", "costs", "ramp_mw", "min_up_steps", "min_down_steps")
STATIC_STORAGE = ("power_mw", "capacity_mwh", "efficiency", "self_discharge_per_day")


@dataclass(frozen=True, slots=True)
class Changed:
    """The variables and rows whose bounds :func:`update_model` rewrites (constant for a kept model)."""

    columns: tuple[int, ...]
    rows: tuple[int, ...]


def build_kept(problem: DispatchProblem, scaling: Scaling) -> tuple[DispatchModel, Changed]:
    """The model of ``problem`` with ``scaling``, ready to be updated, and what updates rewrite."""
    free = dataclasses.replace(problem, thermal=tuple(dataclasses.replace(u, held_steps=0) for u in problem.thermal))
    dm = build_model(free, scaling)
    columns = [v.index for v in (*dm.renewables, *dm.unserved, *dm.buy, *dm.sell)]
    rows = list(dm.balance)
    for tv in dm.thermal:
        columns += [v.index for v in tv.on[: held_limit(tv.unit)]]
        rows += tv.initial_rows.values()
    for sv in dm.storage:
        rows += [sv.initial_row, sv.final_row]
    update_model(dm, problem)
    return dm, Changed(tuple(columns), tuple(rows))


def held_limit(unit: ThermalUnit) -> int:
    """The most steps a running minimum up or down time can still hold a unit in its state."""
    return max(0, unit.min_up_steps - 1, unit.min_down_steps - 1)


def same_assets(kept: DispatchProblem, problem: DispatchProblem) -> None:
    """Refuse a problem a kept model cannot take: other assets, steps, step length or static data."""
    reasons = []
    if problem.steps != kept.steps or problem.horizon.step_hours != kept.horizon.step_hours:
        reasons.append(f"{problem.steps} steps of {problem.horizon.step_hours} h instead of {kept.steps}")
    for family in ("thermal", "renewables", "storage", "loads"):
        if [u.iri for u in getattr(problem, family)] != [u.iri for u in getattr(kept, family)]:
            reasons.append(f"other {family} assets")
    if not reasons:
        pairs: list[tuple[ThermalUnit | StorageUnit, ThermalUnit | StorageUnit]] = [
            *zip(problem.thermal, kept.thermal, strict=True),
            *zip(problem.storage, kept.storage, strict=True),
        ]
        static = STATIC_THERMAL + STATIC_STORAGE
        reasons += [f"{a.name}: another {f}" for a, b in pairs for f in static if getattr(a, f, 0) != getattr(b, f, 0)]
    if (problem.market.limit_mw, problem.market.spread) != (kept.market.limit_mw, kept.market.spread):
        reasons.append("another market limit or spread")
    if reasons:
        raise InputError(f"the intraday model of {kept.case} cannot take this problem: {'; '.join(reasons[:5])}")


def update_model(dm: DispatchModel, problem: DispatchProblem) -> None:
    """Write ``problem``'s data and initial state into ``dm`` (built by :func:`build_kept`)."""
    scaling = dataclasses.replace(scaling_for(problem), outward=dm.scaling.outward)
    if (scaling.power_mw, scaling.energy_mwh) != (dm.scaling.power_mw, dm.scaling.energy_mwh):
        raise InputError("the intraday model's power and energy units cannot change")
    dm.problem, dm.scaling = problem, scaling
    dm.demand = [scaling.power_near(d) for d in problem.demand]
    proto = dm.model.proto

    def column(index: int, low: int, high: int) -> None:
        domain = proto.variables[index].domain
        domain[0], domain[1] = low, high

    def row(index: int, low: int, high: int) -> None:
        domain = proto.constraints[index].linear.domain
        domain[0], domain[1] = low, high

    for t, available in enumerate(problem.available_renewables):
        column(dm.renewables[t].index, 0, max(0, scaling.power_down(float(available))))
    market = problem.market
    top = scaling.power_down(market.limit_mw) if market.limit_mw is not None else dm.wide
    for t, demand in enumerate(problem.demand):
        low, high = scaling.power_range(float(demand))
        column(dm.unserved[t].index, 0, max(0, high))
        column(dm.buy[t].index, 0, top)
        column(dm.sell[t].index, 0, top)
        row(dm.balance[t], low, high)
    for tv, unit in zip(dm.thermal, problem.thermal, strict=True):
        tv.unit = unit
        if unit.held_steps > held_limit(unit):
            raise InputError(
                f"{unit.name} is held {unit.held_steps} steps, more than its minimum up or down time leaves"
                f" ({held_limit(unit)})"
            )
        for t, on in enumerate(tv.on[: held_limit(unit)]):
            held = t < unit.held_steps
            column(on.index, int(unit.initial_on) if held else 0, int(unit.initial_on) if held else 1)
        rows = tv.initial_rows
        if "switch" in rows:
            row(rows["switch"], int(unit.initial_on), int(unit.initial_on))
        if "rise" in rows:
            ramp = scaling.power_down(unit.ramp_mw)
            rise_from = scaling.power_down(unit.initial_p) if unit.initial_on else 0
            fall_from = scaling.power_up(unit.initial_p) if unit.initial_on else 0
            if not scaling.outward:
                rise_from = fall_from
            row(rows["rise"], -NO_LIMIT - 1, ramp * int(unit.initial_on) + rise_from)
            row(rows["fall"], -NO_LIMIT - 1, -fall_from)
    k = ENERGY_COEFFICIENT_SCALE
    for sv, store in zip(dm.storage, problem.storage, strict=True):
        sv.unit = store
        initial = storage_terms(dm, store).initial
        row(sv.initial_row, -ENERGY_BAND_UNITS * k + initial, (k if scaling.outward else 0) + initial)
        row(sv.final_row, scaling.energy_up(store.final_mwh), NO_LIMIT)
    _update_objective(dm)


def _update_objective(dm: DispatchModel) -> None:
    """The objective's coefficients in the (possibly new) unit, with the variables in their built order."""
    s, p = dm.scaling, dm.problem
    coefficients: dict[int, int] = {}
    for tv in dm.thermal:
        coefficients.update((v.index, s.price(tv.unit.costs.cost_per_mwh)) for v in tv.p)
        if tv.start and tv.unit.start_cost > 0:
            coefficients.update((v.index, s.money(tv.unit.start_cost)) for v in tv.start)
    for t in range(p.steps):
        coefficients[dm.buy[t].index] = s.price(float(p.market.buy_price[t]))
        coefficients[dm.sell[t].index] = -s.price(float(p.market.sell_price[t]))
        coefficients[dm.unserved[t].index] = s.price(p.value_of_lost_load)
    objective = dm.model.proto.objective
    for position, var in enumerate(objective.vars):
        objective.coeffs[position] = coefficients.pop(var, 0)
    for var, coefficient in coefficients.items():  # a price that was 0 when the model was built
        objective.vars.append(var)
        objective.coeffs.append(coefficient)


def update_relaxation(relaxation: Relaxation, dm: DispatchModel, changed: Changed) -> Relaxation:
    """Copy ``changed`` bounds and the objective of ``dm`` into the LP derived from it (rows scaled as derived)."""
    lp, proto = relaxation.model, dm.model.proto
    for index in changed.columns:
        domain = proto.variables[index].domain
        lp.variable[index].lower_bound, lp.variable[index].upper_bound = domain[0], domain[len(domain) - 1]
    for index in changed.rows:
        domain, scale = proto.constraints[index].linear.domain, float(relaxation.row_scale[index])
        lp.constraint[index].lower_bound = finite_bound(domain[0]) / scale
        lp.constraint[index].upper_bound = finite_bound(domain[len(domain) - 1]) / scale
    objective_scale = dm.scaling.objective_eur
    objective = proto.objective
    for var, coefficient in zip(objective.vars, objective.coeffs, strict=True):
        lp.variable[var].objective_coefficient = coefficient * (objective.scaling_factor or 1.0) * objective_scale
    return dataclasses.replace(relaxation, objective_scale=objective_scale)
