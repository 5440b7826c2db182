"""Problem → CP-SAT model: one function per constraint family of the reference problem.

Variables are integers in the units of :mod:`enertwin.reasoning.scaling`. Thermal units use
the three-binary formulation (on, start, stop) with start/stop-aware ramp limits, whose linear
relaxation is tight; renewables are one variable per step (curtailment is free, so which unit
is curtailed does not change the cost; the schedule shares it out afterwards).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ortools.sat.python import cp_model

from enertwin.reasoning.problem import DispatchProblem, StorageUnit, ThermalUnit
from enertwin.reasoning.scaling import ENERGY_BAND_UNITS, ENERGY_COEFFICIENT_SCALE, Scaling

IntVar = cp_model.IntVar
LinearExpr = cp_model.LinearExpr | cp_model.IntVar | int


@dataclass(slots=True)
class ThermalVars:
    """Per-step variables of one thermal unit (start/stop only where something depends on them)."""

    unit: ThermalUnit
    on: list[IntVar]
    p: list[IntVar]
    start: list[IntVar] = field(default_factory=list)
    stop: list[IntVar] = field(default_factory=list)
    initial_rows: dict[str, int] = field(default_factory=dict)  # rows whose bounds the initial state sets


@dataclass(slots=True)
class StorageVars:
    """Per-step variables of one storage unit."""

    unit: StorageUnit
    charge: list[IntVar]
    discharge: list[IntVar]
    energy: list[IntVar]
    initial_row: int = -1  # the first energy balance (its bounds hold the energy before t0)
    final_row: int = -1  # the end rule


@dataclass(frozen=True, slots=True)
class Guard:
    """A group of constraints that can be switched off, and the graph facts behind it."""

    literal: IntVar
    text: str
    facts: tuple[str, ...]


@dataclass(slots=True)
class DispatchModel:
    """A CP-SAT model of one problem and the handles to read its solution."""

    problem: DispatchProblem
    scaling: Scaling
    model: cp_model.CpModel
    demand: list[int]
    thermal: list[ThermalVars] = field(default_factory=list)
    storage: list[StorageVars] = field(default_factory=list)
    renewables: list[IntVar] = field(default_factory=list)
    buy: list[IntVar] = field(default_factory=list)
    sell: list[IntVar] = field(default_factory=list)
    unserved: list[IntVar] = field(default_factory=list)
    objective: LinearExpr = 0
    balance: list[int] = field(default_factory=list)  # constraint index of each step's power balance
    diagnose: bool = False  # guard each family of constraints by a literal (to explain infeasibility)
    guards: list[Guard] = field(default_factory=list)

    def guard(self, text: str, facts: tuple[str, ...]) -> list[IntVar]:
        """The enforcement literal for a new group of constraints (none unless diagnosing)."""
        if not self.diagnose:
            return []
        literal = self.model.new_bool_var(f"guard[{len(self.guards)}]")
        self.guards.append(Guard(literal, text, facts))
        return [literal]

    def limit(self, high: int) -> int:
        """A variable's upper bound: ``high``, or wide open while diagnosing (a guarded constraint holds it)."""
        return max(high, self.wide) if self.diagnose else high

    @property
    def wide(self) -> int:
        """An upper bound no meaningful flow exceeds."""
        return _unlimited_trade(self)


def scaling_for(problem: DispatchProblem) -> Scaling:
    """The scaling that represents every price of ``problem`` exactly (where possible)."""
    market = problem.market
    prices = [u.costs.cost_per_mwh for u in problem.thermal]
    prices += [*market.buy_price, *market.sell_price, problem.value_of_lost_load]
    scaling = Scaling.for_prices(problem.horizon.step_hours, prices)
    largest = max((u.capacity_mwh for u in problem.storage), default=0.0)
    return replace(scaling, energy_mwh=Scaling.energy_unit_for(largest))


def build_model(problem: DispatchProblem, scaling: Scaling | None = None, *, diagnose: bool = False) -> DispatchModel:
    """The whole reference problem as a CP-SAT model (``diagnose``: every constraint family guarded)."""
    scaling = scaling or scaling_for(problem)
    dm = DispatchModel(problem, scaling, cp_model.CpModel(), [scaling.power_near(d) for d in problem.demand])
    dm.diagnose = diagnose
    add_thermal_units(dm)
    add_renewables(dm)
    add_storage(dm)
    add_market(dm)
    add_unserved_energy(dm)
    add_power_balance(dm)
    set_objective(dm)
    return dm


def add_thermal_units(dm: DispatchModel) -> None:
    """Commitment, output limits, start/stop logic, ramps and minimum up/down times per unit."""
    for unit in dm.problem.thermal:
        tv = _thermal_vars(dm, unit)
        add_output_limits(dm, tv)
        add_held_state(dm, tv)
        if _needs_transitions(unit, dm.scaling):
            add_start_stop_logic(dm, tv)
            add_ramp_limits(dm, tv)
            add_minimum_up_down(dm, tv)
        dm.thermal.append(tv)


def _thermal_vars(dm: DispatchModel, unit: ThermalUnit) -> ThermalVars:
    top = dm.scaling.power_down(unit.max_p)
    m = dm.model
    return ThermalVars(
        unit,
        on=[m.new_bool_var(f"on[{unit.name}][{t}]") for t in range(dm.problem.steps)],
        p=[m.new_int_var(0, top, f"p[{unit.name}][{t}]") for t in range(dm.problem.steps)],
    )


def _needs_transitions(unit: ThermalUnit, scaling: Scaling) -> bool:
    """Start/stop variables matter only for start costs, binding ramps or minimum times."""
    # exact comparison: the inward and the widened model must have the same variables
    return unit.start_cost > 0 or unit.ramp_mw < unit.max_p or unit.min_up_steps > 1 or unit.min_down_steps > 1


def add_output_limits(dm: DispatchModel, tv: ThermalVars) -> None:
    """``on × min ≤ p ≤ on × max``."""
    low, high = dm.scaling.power_up(tv.unit.min_p), dm.scaling.power_down(tv.unit.max_p)
    guard = dm.guard(
        f"{tv.unit.name} runs between {tv.unit.min_p:g} and {tv.unit.max_p:g} MW when on",
        (_fact(tv.unit.iri, "et:minActivePower"), _fact(tv.unit.iri, "et:maxActivePower")),
    )
    for on, p in zip(tv.on, tv.p, strict=True):
        dm.model.add(p <= high * on).only_enforce_if(guard)
        if low > 0:
            dm.model.add(p >= low * on).only_enforce_if(guard)


def add_held_state(dm: DispatchModel, tv: ThermalVars) -> None:
    """Keep the initial state while an earlier switch's minimum up or down time lasts."""
    if tv.unit.held_steps <= 0:
        return
    guard = dm.guard(
        f"{tv.unit.name} keeps its state for {tv.unit.held_steps} more step(s) after its last switch",
        (_fact(tv.unit.costs.entry, "et:minUpTime"), _fact(tv.unit.costs.entry, "et:minDownTime")),
    )
    for on in tv.on[: tv.unit.held_steps]:
        dm.model.add(on == int(tv.unit.initial_on)).only_enforce_if(guard)


def add_start_stop_logic(dm: DispatchModel, tv: ThermalVars) -> None:
    """``on[t] − on[t−1] = start[t] − stop[t]`` and never both, from the initial state."""
    m = dm.model
    name = tv.unit.name
    before: LinearExpr = int(tv.unit.initial_on)
    for t, on in enumerate(tv.on):
        start, stop = m.new_bool_var(f"start[{name}][{t}]"), m.new_bool_var(f"stop[{name}][{t}]")
        switch = m.add(on - before == start - stop)
        if t == 0:
            tv.initial_rows["switch"] = switch.index
        m.add_at_most_one(start, stop)
        tv.start.append(start)
        tv.stop.append(stop)
        before = on


def add_ramp_limits(dm: DispatchModel, tv: ThermalVars) -> None:
    """``|p[t] − p[t−1]| ≤ R`` while on; a start or stop may jump by ``max(min, R)``."""
    s = dm.scaling
    ramp, jump = s.power_down(tv.unit.ramp_mw), max(s.power_up(tv.unit.min_p), s.power_down(tv.unit.ramp_mw))
    if ramp >= s.power_down(tv.unit.max_p):
        return
    m = dm.model
    guard = dm.guard(
        f"{tv.unit.name} ramps at most {tv.unit.ramp_mw:g} MW per step",
        (_fact(tv.unit.costs.entry, "et:rampShare"), _fact(tv.unit.iri, "et:maxActivePower")),
    )
    # the output before the horizon, rounded so that both ramp rows are as loose as the rounding direction asks
    rise_from: LinearExpr = s.power_down(tv.unit.initial_p) if tv.unit.initial_on else 0
    fall_from: LinearExpr = s.power_up(tv.unit.initial_p) if tv.unit.initial_on else 0
    if not s.outward:
        rise_from = fall_from
    on_before: LinearExpr = int(tv.unit.initial_on)
    for t in range(dm.problem.steps):
        rise = m.add(tv.p[t] - rise_from <= ramp * on_before + jump * tv.start[t])
        fall = m.add(fall_from - tv.p[t] <= ramp * tv.on[t] + jump * tv.stop[t])
        rise.only_enforce_if(guard)
        fall.only_enforce_if(guard)
        if t == 0:
            tv.initial_rows.update(rise=rise.index, fall=fall.index)
        rise_from = fall_from = tv.p[t]
        on_before = tv.on[t]


def add_minimum_up_down(dm: DispatchModel, tv: ThermalVars) -> None:
    """A start keeps the unit on for ``min_up`` steps, a stop keeps it off for ``min_down``.

    Only transitions inside the horizon count (the reference problem's rule).
    """
    m = dm.model
    up, down = tv.unit.min_up_steps, tv.unit.min_down_steps
    entry = tv.unit.costs.entry
    guard = dm.guard(
        f"{tv.unit.name} stays on {tv.unit.costs.min_up_hours:g} h and off {tv.unit.costs.min_down_hours:g} h",
        (_fact(entry, "et:minUpTime"), _fact(entry, "et:minDownTime")),
    )
    for t in range(dm.problem.steps):
        if up > 1:
            m.add(cp_model.LinearExpr.sum(tv.start[max(0, t - up + 1) : t + 1]) <= tv.on[t]).only_enforce_if(guard)
        if down > 1:
            window = tv.stop[max(0, t - down + 1) : t + 1]
            m.add(cp_model.LinearExpr.sum(window) <= 1 - tv.on[t]).only_enforce_if(guard)


def add_renewables(dm: DispatchModel) -> None:
    """Total renewable output per step, at most what is available."""
    available = [dm.scaling.power_down(a) for a in dm.problem.available_renewables]
    dm.renewables = [dm.model.new_int_var(0, max(0, a), f"res[{t}]") for t, a in enumerate(available)]


def add_storage(dm: DispatchModel) -> None:
    """Charge, discharge and the energy balance with losses and self-discharge."""
    s = dm.scaling
    k = ENERGY_COEFFICIENT_SCALE
    for unit in dm.problem.storage:
        m, name, steps = dm.model, unit.name, dm.problem.steps
        power, top = s.power_down(unit.power_mw), s.energy_down(unit.capacity_mwh)
        sv = StorageVars(
            unit,
            charge=[m.new_int_var(0, dm.limit(power), f"charge[{name}][{t}]") for t in range(steps)],
            discharge=[m.new_int_var(0, dm.limit(power), f"discharge[{name}][{t}]") for t in range(steps)],
            energy=[m.new_int_var(0, dm.limit(top), f"soc[{name}][{t}]") for t in range(steps)],
        )
        if dm.diagnose:
            _guard_storage_limits(dm, sv, power, top)
        terms = storage_terms(dm, unit)
        before: LinearExpr = terms.initial
        for t in range(steps):
            residual = k * sv.energy[t] - before - terms.gain * sv.charge[t] + terms.loss * sv.discharge[t]
            row = m.add_linear_constraint(residual, -ENERGY_BAND_UNITS * k, k if s.outward else 0)
            if t == 0:
                sv.initial_row = row.index
            before = terms.keep * sv.energy[t]
        end = dm.guard(
            f"{name} ends with at least {unit.final_mwh:g} MWh (half full, as it started)",
            (_fact(unit.iri, "et:energyCapacity"), _fact(unit.iri, "et:selfDischargePercentPerDay")),
        )
        final = m.add(sv.energy[-1] >= s.energy_up(unit.final_mwh))
        final.only_enforce_if(end)
        sv.final_row = final.index
        dm.storage.append(sv)


def _guard_storage_limits(dm: DispatchModel, sv: StorageVars, power: int, top: int) -> None:
    unit = sv.unit
    rated = dm.guard(
        f"{unit.name} charges and discharges at most {unit.power_mw:g} MW", (_fact(unit.iri, "et:ratedApparentPower"),)
    )
    size = dm.guard(f"{unit.name} holds at most {unit.capacity_mwh:g} MWh", (_fact(unit.iri, "et:energyCapacity"),))
    for t in range(dm.problem.steps):
        dm.model.add(sv.charge[t] <= power).only_enforce_if(rated)
        dm.model.add(sv.discharge[t] <= power).only_enforce_if(rated)
        dm.model.add(sv.energy[t] <= top).only_enforce_if(size)


@dataclass(frozen=True, slots=True)
class StorageTerms:
    """Integer coefficients of one storage unit's energy balance (all × ENERGY_COEFFICIENT_SCALE)."""

    keep: int
    gain: int
    loss: int
    initial: int


def storage_terms(dm: DispatchModel, unit: StorageUnit) -> StorageTerms:
    """Retention per step, energy stored per unit charged, drawn per unit discharged, energy before t0."""
    s, k, hours = dm.scaling, ENERGY_COEFFICIENT_SCALE, dm.problem.horizon.step_hours
    return StorageTerms(
        keep=round(k * unit.retention(hours)),
        gain=round(k * unit.eta * hours * s.power_mw / s.energy_mwh),
        loss=round(k * hours / unit.eta * s.power_mw / s.energy_mwh),
        initial=round(k * unit.retention(hours) * unit.initial_mwh / s.energy_mwh),
    )


def add_market(dm: DispatchModel) -> None:
    """Buy and sell up to the external grids' limit (no limit where none is given)."""
    market, steps = dm.problem.market, dm.problem.steps
    top = dm.scaling.power_down(market.limit_mw) if market.limit_mw is not None else _unlimited_trade(dm)
    dm.buy = [dm.model.new_int_var(0, dm.limit(top), f"buy[{t}]") for t in range(steps)]
    dm.sell = [dm.model.new_int_var(0, dm.limit(top), f"sell[{t}]") for t in range(steps)]
    if dm.diagnose and market.limit_mw is not None:
        guard = dm.guard(
            f"the market takes or gives at most {market.limit_mw:g} MW",
            tuple(_fact(e, "et:maxActivePower") for e in market.external_grids),
        )
        for t in range(steps):
            dm.model.add(dm.buy[t] <= top).only_enforce_if(guard)
            dm.model.add(dm.sell[t] <= top).only_enforce_if(guard)


def _unlimited_trade(dm: DispatchModel) -> int:
    """A bound no useful trade exceeds: all demand, or all the portfolio can produce."""
    p = dm.problem
    producible = sum(u.max_p for u in p.thermal) + float(p.available_renewables.max(initial=0.0))
    producible += sum(u.power_mw for u in p.storage)
    return dm.scaling.power_up(max(float(p.demand.max(initial=0.0)), producible)) + 1


def add_unserved_energy(dm: DispatchModel) -> None:
    """Demand that is not served, paid for at the value of lost load."""
    highest = [dm.scaling.power_range(d)[1] for d in dm.problem.demand]
    dm.unserved = [dm.model.new_int_var(0, max(0, d), f"unserved[{t}]") for t, d in enumerate(highest)]


def add_power_balance(dm: DispatchModel) -> None:
    """Copper plate: supply equals demand in every step."""
    for t in range(dm.problem.steps):
        plus = [tv.p[t] for tv in dm.thermal] + [sv.discharge[t] for sv in dm.storage]
        plus += [dm.renewables[t], dm.buy[t], dm.unserved[t]]
        minus = [sv.charge[t] for sv in dm.storage] + [dm.sell[t]]
        supply = cp_model.LinearExpr.sum(plus) - cp_model.LinearExpr.sum(minus)
        guard = dm.guard(f"supply meets the demand of {_demand_text(dm, t)}", _demand_facts(dm, t))
        low, high = dm.scaling.power_range(float(dm.problem.demand[t]))
        balance = dm.model.add_linear_constraint(supply, low, high)
        balance.only_enforce_if(guard)
        dm.balance.append(balance.index)


def _demand_text(dm: DispatchModel, t: int) -> str:
    horizon = dm.problem.horizon
    moment = horizon.time_at(t)
    return f"{dm.problem.demand[t]:,.1f} MW at {moment.isoformat(timespec='minutes')} (step {t})"


def _demand_facts(dm: DispatchModel, t: int, shown: int = 3) -> tuple[str, ...]:
    """The loads that weigh most in step ``t`` (their power and profile make the demand)."""
    loads = sorted(dm.problem.loads, key=lambda load: -abs(float(load.demand[t])))[:shown]
    return tuple(f for load in loads for f in (_fact(load.iri, "et:activePower"), _fact(load.iri, "et:hasProfile")))


def _fact(iri: str, prop: str) -> str:
    return f"<{iri}> {prop}"


def set_objective(dm: DispatchModel) -> None:
    """Fuel and CO2, start-ups, market trades and unserved energy, in objective units."""
    s, p = dm.scaling, dm.problem
    variables: list[IntVar] = []
    coefficients: list[int] = []
    for tv in dm.thermal:
        variables += tv.p
        coefficients += [s.price(tv.unit.costs.cost_per_mwh)] * p.steps
        if tv.start and tv.unit.start_cost > 0:
            variables += tv.start
            coefficients += [s.money(tv.unit.start_cost)] * p.steps
    variables += [*dm.buy, *dm.sell, *dm.unserved]
    coefficients += [s.price(float(x)) for x in p.market.buy_price]
    coefficients += [-s.price(float(x)) for x in p.market.sell_price]
    coefficients += [s.price(p.value_of_lost_load)] * p.steps
    dm.objective = cp_model.LinearExpr.weighted_sum(variables, coefficients)
    dm.model.minimize(dm.objective)
