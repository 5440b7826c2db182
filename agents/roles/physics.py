"""The plant's physics, as the reference problem states it: what applying setpoints for one step does.

The simulated actuator applies released setpoints through :func:`apply_step`; whatever a
setpoint asks beyond the physics (a ramp too steep, a store too full, a unit inside its
minimum up or down time) the plant does not do, and the market balances the rest up to its
limit, then unserved energy (short) or curtailment (surplus).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from enertwin.agents.events import Setpoint
from enertwin.agents.roles.state import PlantState
from enertwin.reasoning.problem import DispatchProblem


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """What one step of operation did and cost (MW, EUR, tCO2, MWh)."""

    thermal_mw: tuple[float, ...]
    storage_mw: tuple[float, ...]
    renewable_mw: float
    buy_mw: float
    sell_mw: float
    unserved_mw: float
    curtailed_mw: float
    demand_mw: float
    cost_eur: float
    emissions_t: float
    starts: int


def apply_step(
    problem: DispatchProblem,
    t: int,
    state: PlantState,
    setpoints: Mapping[str, Setpoint],
    emission_factors: tuple[float, ...],
) -> tuple[PlantState, StepOutcome]:
    """Apply ``setpoints`` in step ``t`` of ``problem`` (true demand, availability and price) to ``state``."""
    dt = problem.horizon.step_hours
    on, output, starts, start_cost = [], [], 0, 0.0
    for i, unit in enumerate(problem.thermal):
        was_on, before = state.on[i], state.output_mw[i]
        wanted = setpoints.get(unit.iri)
        want_on = was_on if wanted is None else (wanted.committed if wanted.committed is not None else wanted.p_mw > 0)
        want_p = before if wanted is None else wanted.p_mw
        held = (unit.min_up_steps if was_on else unit.min_down_steps) - state.steps_in_state[i] > 0
        if held or (was_on and not want_on and before > unit.jump_mw + 1e-9):
            want_on = was_on  # inside its minimum time, or too high to stop this step
        if want_on:
            low, high = unit.min_p, unit.max_p
            if was_on:
                low, high = max(low, before - unit.ramp_mw), min(high, before + unit.ramp_mw)
            else:
                high = min(high, unit.jump_mw)
                starts += 1
                start_cost += unit.start_cost
            p = min(max(want_p, low), max(low, high))
        else:
            p = 0.0
        on.append(want_on)
        output.append(p)
    soc, storage_mw = [], []
    for j, store in enumerate(problem.storage):
        wanted = setpoints.get(store.iri)
        net = 0.0 if wanted is None else max(-store.power_mw, min(store.power_mw, wanted.p_mw))
        kept = state.soc_mwh[j] * store.retention(dt)
        if net >= 0:
            net = min(net, max(0.0, kept) * store.eta / dt)
            energy = kept - net * dt / store.eta
        else:
            room = max(0.0, store.capacity_mwh - kept)
            net = -min(-net, room / (store.eta * dt))
            energy = kept - net * dt * store.eta
        soc.append(min(max(energy, 0.0), store.capacity_mwh))
        storage_mw.append(net)
    available = [float(u.available[t]) for u in problem.renewables]
    renewable = 0.0
    for k, res in enumerate(problem.renewables):
        wanted = setpoints.get(res.iri)
        renewable += available[k] if wanted is None else min(max(wanted.p_mw, 0.0), available[k])
    demand = float(sum(load.demand[t] for load in problem.loads))
    net_need = demand - sum(output) - renewable - sum(storage_mw)
    limit = problem.market.limit_mw if problem.market.limit_mw is not None else float("inf")
    buy = min(max(net_need, 0.0), limit)
    sell = min(max(-net_need, 0.0), limit)
    unserved = max(net_need - buy, 0.0)
    spill = max(-net_need - sell, 0.0)  # surplus the market cannot take: renewables curtailed further
    renewable -= min(spill, renewable)
    curtailed = sum(available) - renewable
    market = problem.market
    fuel = sum(u.costs.cost_per_mwh * p for u, p in zip(problem.thermal, output, strict=True))
    cost = dt * (fuel + market.buy_price[t] * buy - market.sell_price[t] * sell + problem.value_of_lost_load * unserved)
    emissions = dt * sum(f * p for f, p in zip(emission_factors, output, strict=True))
    outcome = StepOutcome(
        tuple(output),
        tuple(storage_mw),
        renewable,
        buy,
        sell,
        unserved,
        curtailed,
        demand,
        float(cost + start_cost),
        float(emissions),
        starts,
    )
    return state.after(tuple(on), tuple(output), tuple(soc)), outcome
