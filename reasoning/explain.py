"""Why a schedule is what it is: marginal prices and per-asset reasons, each tied to graph facts.

The marginal price of energy in a step is the dual of that step's power balance in the LP
whose commitments are fixed to the schedule's (the usual pricing rule for unit commitment).
Reasons compare each asset's set point with its limits and with that price; every reason
names the facts it rests on as ``<IRI> property`` pairs, so a reader can look them up.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypedDict

import numpy as np
from pyoxigraph import NamedNode

from enertwin.kg.store import Store
from enertwin.reasoning.cpsat_model import DispatchModel, build_model
from enertwin.reasoning.decision_reader import StoredDecision, find_decision, read_schedule
from enertwin.reasoning.lp_relaxation import Relaxation
from enertwin.reasoning.portfolio_reader import read_problem
from enertwin.reasoning.problem import DispatchProblem, FloatArray, StorageUnit, ThermalUnit
from enertwin.reasoning.replay import recorded_view
from enertwin.reasoning.schedule import Schedule

POWER_TOLERANCE_MW = 1e-3
PRICE_TOLERANCE = 0.01


@dataclass(frozen=True, slots=True)
class Reason:
    """Why one asset (or the market) is where it is in one step."""

    step: int
    asset: str
    name: str
    code: str
    text: str
    facts: tuple[str, ...]


class ReasonDocument(TypedDict):
    """A reason in the JSON form of an explanation."""

    asset: str
    name: str
    code: str
    text: str
    facts: list[str]


class StepDocument(TypedDict):
    """A step in the JSON form: its prices and the reasons of its set points."""

    step: int
    time: str
    marginal_price_eur_per_mwh: float
    market_price_eur_per_mwh: float
    reasons: list[ReasonDocument]


class ExplanationDocument(TypedDict):
    """The JSON form of an explanation, typed so that readers (``explain --json``) index it checked."""

    decision: str
    schedule: str
    steps: list[StepDocument]


@dataclass(frozen=True, slots=True)
class Explanation:
    """Marginal prices per step and the reasons behind every set point."""

    decision: str
    schedule: str
    problem: DispatchProblem
    marginal_price: FloatArray
    reasons: tuple[Reason, ...]

    def for_step(self, step: int) -> list[Reason]:
        """The reasons of one step."""
        return [r for r in self.reasons if r.step == step]

    def as_dict(self) -> ExplanationDocument:
        """JSON-ready form: one entry per step."""
        horizon = self.problem.horizon
        return {
            "decision": self.decision,
            "schedule": self.schedule,
            "steps": [
                {
                    "step": t,
                    "time": horizon.time_at(t).isoformat(timespec="minutes"),
                    "marginal_price_eur_per_mwh": round(float(self.marginal_price[t]), 4),
                    "market_price_eur_per_mwh": float(self.problem.market.price[t]),
                    "reasons": [
                        {"asset": r.asset, "name": r.name, "code": r.code, "text": r.text, "facts": list(r.facts)}
                        for r in self.for_step(t)
                    ],
                }
                for t in range(self.problem.steps)
            ],
        }


def explain(store: Store, iri: str) -> Explanation:
    """Explain the stored decision or schedule ``iri`` from the inputs it recorded, not today's graph.

    The problem is read through the view replay uses (the graph versions and series snapshot the
    decision recorded), so facts changed since the decision leave its explanation as it was.
    """
    decision = find_decision(store, iri)
    _, recorded = recorded_view(store, NamedNode(decision.decision))
    problem = read_problem(recorded, decision.grid, decision.case, decision.start, decision.steps, decision.cost_model)
    schedule = read_schedule(store, decision, problem)
    return explain_schedule(decision, problem, schedule)


def explain_schedule(decision: StoredDecision, problem: DispatchProblem, schedule: Schedule) -> Explanation:
    """Explanation of ``schedule`` for ``problem``."""
    prices = marginal_prices(problem, schedule)
    reasons = [
        *_thermal_reasons(problem, schedule, prices),
        *_storage_reasons(problem, schedule),
        *_renewable_reasons(problem, schedule, prices),
        *_market_reasons(problem, schedule, prices),
    ]
    reasons.sort(key=lambda r: (r.step, r.name))
    return Explanation(decision.decision, decision.schedule, problem, prices, tuple(reasons))


def marginal_prices(problem: DispatchProblem, schedule: Schedule) -> FloatArray:
    """€/MWh per step: the balance duals of the LP with the schedule's commitments fixed."""
    dm = build_model(problem)
    relaxed = Relaxation.of(dm.model.proto, dm.scaling.objective_eur)
    # GLOP: OR-Tools 9.15 returns row activities, not duals, from HiGHS through MPModelRequest
    solution = relaxed.solve(_fixed_commitments(dm, schedule), solver="glop")
    if not solution.optimal:
        return np.full(problem.steps, np.nan)
    per_unit = solution.duals[dm.balance]  # objective units per power unit of demand in one step
    return np.asarray(per_unit * dm.scaling.objective_eur / (dm.scaling.power_mw * problem.horizon.step_hours))


def _fixed_commitments(dm: DispatchModel, schedule: Schedule) -> dict[int, float]:
    fixed: dict[int, float] = {}
    for i, tv in enumerate(dm.thermal):
        on = schedule.thermal_on[i].astype(int)
        before = np.concatenate([[int(tv.unit.initial_on)], on[:-1]])
        fixed.update((v.index, float(x)) for v, x in zip(tv.on, on, strict=True))
        fixed.update((v.index, float(x)) for v, x in zip(tv.start, on > before, strict=False))
        fixed.update((v.index, float(x)) for v, x in zip(tv.stop, on < before, strict=False))
    return fixed


def _fact(iri: str, prop: str) -> str:
    return f"<{iri}> {prop}"


def _cost_facts(unit: ThermalUnit, problem: DispatchProblem) -> tuple[str, ...]:
    entry = unit.costs.entry
    return (
        _fact(unit.iri, "et:hasFuelType"),
        _fact(entry, "et:marginalCost"),
        _fact(entry, "et:emissionFactor"),
        _fact(problem.cost_model, "et:co2Price"),
    )


def _thermal_reasons(problem: DispatchProblem, schedule: Schedule, prices: FloatArray) -> Iterator[Reason]:
    for i, unit in enumerate(problem.thermal):
        p, on = schedule.thermal_p[i], schedule.thermal_on[i]
        for t in range(problem.steps):
            code, text, facts = _thermal_reason(problem, unit, p, on, t, float(prices[t]))
            yield Reason(t, unit.iri, unit.name, code, text, facts)


def _last_switch(unit: ThermalUnit, on: np.ndarray, t: int) -> int | None:
    """Steps since the unit last switched inside the horizon (None: not since the start)."""
    before = np.concatenate([[int(unit.initial_on)], on[: t + 1]])
    switches = np.flatnonzero(before[1:] != before[:-1])
    return None if switches.size == 0 else t - int(switches[-1])


def _thermal_reason(
    problem: DispatchProblem, unit: ThermalUnit, p: np.ndarray, on: np.ndarray, t: int, price: float
) -> tuple[str, str, tuple[str, ...]]:
    cost, entry = unit.costs.cost_per_mwh, unit.costs.entry
    since = _last_switch(unit, on, t)
    costs = _cost_facts(unit, problem)
    if not on[t]:
        if since is not None and since < unit.min_down_steps and price > cost:
            return (
                "min_down",
                f"held off by its minimum down time ({unit.costs.min_down_hours:g} h)",
                (_fact(entry, "et:minDownTime"),),
            )
        if price > cost + PRICE_TOLERANCE:
            return (
                "start_not_worth",
                f"off: the price {price:.2f} exceeds its cost {cost:.2f} €/MWh, but not by enough for long enough "
                f"to pay for a start ({unit.start_cost:,.0f} €) and its minimum output",
                (*costs, _fact(entry, "et:startCost"), _fact(unit.iri, "et:minActivePower")),
            )
        return "too_expensive", f"off: its cost {cost:.2f} €/MWh is above the price {price:.2f}", costs
    previous = p[t - 1] if t > 0 else unit.initial_p
    if p[t] >= unit.max_p - POWER_TOLERANCE_MW:
        return (
            "at_capacity",
            f"at its maximum output {unit.max_p:g} MW (cost {cost:.2f} ≤ price {price:.2f})",
            (
                _fact(unit.iri, "et:maxActivePower"),
                *costs,
            ),
        )
    started_now = since == 0 and not (unit.initial_on if t == 0 else on[t - 1])
    if started_now and p[t] >= unit.jump_mw - POWER_TOLERANCE_MW and unit.jump_mw < unit.max_p:
        return (
            "start_limited",
            f"starting: may reach only {unit.jump_mw:g} MW in its first step",
            (
                _fact(entry, "et:rampShare"),
                _fact(unit.iri, "et:minActivePower"),
            ),
        )
    if unit.ramp_mw < unit.max_p and abs(p[t] - previous) >= unit.ramp_mw - POWER_TOLERANCE_MW:
        direction = "up" if p[t] > previous else "down"
        return (
            "ramp_limited",
            f"ramping {direction} at its limit of {unit.ramp_mw:g} MW per step",
            (
                _fact(entry, "et:rampShare"),
                _fact(unit.iri, "et:maxActivePower"),
            ),
        )
    if p[t] <= unit.min_p + POWER_TOLERANCE_MW and price < cost - PRICE_TOLERANCE:
        if since is not None and since < unit.min_up_steps:
            return (
                "min_up",
                f"held on at minimum output by its minimum up time ({unit.costs.min_up_hours:g} h)",
                (
                    _fact(entry, "et:minUpTime"),
                    _fact(unit.iri, "et:minActivePower"),
                ),
            )
        return (
            "avoids_restart",
            f"kept on at minimum output below cost ({cost:.2f} > {price:.2f} €/MWh): cheaper than stopping and "
            f"restarting ({unit.start_cost:,.0f} € per start)",
            (_fact(entry, "et:startCost"), _fact(unit.iri, "et:minActivePower"), *costs),
        )
    if abs(price - cost) <= PRICE_TOLERANCE:
        return "marginal", f"the marginal unit: its cost {cost:.2f} €/MWh sets the price", costs
    return "dispatched", f"between its limits at {p[t]:.1f} MW (cost {cost:.2f}, price {price:.2f})", costs


def _storage_reasons(problem: DispatchProblem, schedule: Schedule) -> Iterator[Reason]:
    for i, unit in enumerate(problem.storage):
        for t in range(problem.steps):
            code, text, facts = _storage_reason(unit, schedule, i, t, problem.steps)
            yield Reason(t, unit.iri, unit.name, code, text, facts)


def _storage_reason(
    unit: StorageUnit, schedule: Schedule, i: int, t: int, steps: int
) -> tuple[str, str, tuple[str, ...]]:
    energy, charge, discharge = schedule.soc[i, t], schedule.charge[i, t], schedule.discharge[i, t]
    tolerance = max(1e-3 * unit.capacity_mwh, 0.01)
    if energy >= unit.capacity_mwh - tolerance:
        return "full", f"full ({unit.capacity_mwh:g} MWh)", (_fact(unit.iri, "et:energyCapacity"),)
    if t == steps - 1 and energy <= unit.final_mwh + tolerance:
        return (
            "end_level",
            "must end at least as full as it started (half its capacity)",
            (_fact(unit.iri, "et:energyCapacity"),),
        )
    if energy <= tolerance:
        return "empty", "empty", (_fact(unit.iri, "et:energyCapacity"),)
    if max(charge, discharge) >= unit.power_mw - POWER_TOLERANCE_MW:
        verb = "charging" if charge > discharge else "discharging"
        return (
            "at_power_limit",
            f"{verb} at its power limit {unit.power_mw:g} MW",
            (_fact(unit.iri, "et:ratedApparentPower"),),
        )
    if charge > POWER_TOLERANCE_MW or discharge > POWER_TOLERANCE_MW:
        verb = "charging" if charge > discharge else "discharging"
        return (
            "arbitrage",
            f"{verb}: moves energy to steps where it is worth more after losses",
            (
                _fact(unit.iri, "et:roundTripEfficiency"),
                _fact(unit.iri, "et:selfDischargePercentPerDay"),
            ),
        )
    return "idle", "idle: no price difference pays for its losses", (_fact(unit.iri, "et:roundTripEfficiency"),)


def _renewable_reasons(problem: DispatchProblem, schedule: Schedule, prices: FloatArray) -> Iterator[Reason]:
    market = problem.market
    for i, unit in enumerate(problem.renewables):
        for t in range(problem.steps):
            available, produced = float(unit.available[t]), float(schedule.renewable_p[i, t])
            if produced >= available - POWER_TOLERANCE_MW:
                continue  # producing all it can needs no explanation
            facts: tuple[str, ...] = (_fact(unit.iri, "et:hasProfile"), _fact(unit.iri, "et:activePower"))
            if prices[t] <= PRICE_TOLERANCE:
                text = f"curtailed to {produced:.1f} of {available:.1f} MW: energy is worth nothing here"
            else:
                text = f"curtailed to {produced:.1f} of {available:.1f} MW: the market cannot take more"
                facts += tuple(_fact(e, "et:maxActivePower") for e in market.external_grids)
            yield Reason(t, unit.iri, unit.name, "curtailed", text, facts)


def _market_reasons(problem: DispatchProblem, schedule: Schedule, prices: FloatArray) -> Iterator[Reason]:
    market, limit = problem.market, problem.market.limit_mw
    spread = (_fact(market.iri, "et:priceReferenceGrid"), _fact(problem.cost_model, "et:marketSpread"))
    limits = tuple(_fact(e, "et:maxActivePower") for e in market.external_grids)
    for t in range(problem.steps):
        buy, sell, price = float(schedule.buy[t]), float(schedule.sell[t]), float(prices[t])
        if schedule.unserved[t] > POWER_TOLERANCE_MW:
            yield Reason(
                t,
                market.iri,
                "unserved energy",
                "unserved",
                f"{schedule.unserved[t]:.1f} MW of demand is not served: supply and market are exhausted",
                (_fact(problem.cost_model, "et:valueOfLostLoad"), *limits),
            )
        if limit is not None and max(buy, sell) >= limit - POWER_TOLERANCE_MW:
            verb = "buying" if buy > sell else "selling"
            yield Reason(t, market.iri, "market", "market_limit", f"{verb} at the market limit {limit:g} MW", limits)
        elif buy > POWER_TOLERANCE_MW and abs(price - market.buy_price[t]) <= PRICE_TOLERANCE:
            yield Reason(
                t, market.iri, "market", "market_sets_price", f"buying: the market sets the price {price:.2f}", spread
            )
        elif sell > POWER_TOLERANCE_MW and abs(price - market.sell_price[t]) <= PRICE_TOLERANCE:
            yield Reason(
                t, market.iri, "market", "market_sets_price", f"selling: the market sets the price {price:.2f}", spread
            )
