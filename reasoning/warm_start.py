"""An LP-guided first solution for CP-SAT, and the LP bound that goes with it.

1. Solve the LP relaxation of the widened model (HiGHS; see ``scaling``): a proven lower
   bound on the reference problem's optimum.
2. Round each unit's commitments to the nearest pattern that honours its minimum times.
3. Solve the LP of the model itself with those commitments fixed: the best dispatch for them.
4. Turn that dispatch into integers without breaking a constraint: thermal output and
   renewables are rounded down (a difference of two floors never exceeds an integer ramp
   limit that the values met), charge and discharge to the nearest unit with the stored energy
   following the exact recursion rounded down (extra charge at the end where that leaves a
   store short), and the power balance is closed through the market, then unserved energy or
   curtailment.

CP-SAT starts from that hint, so its search (large-neighbourhood moves on commitments) only
has to improve a good schedule instead of finding one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from enertwin.reasoning.commitment_rounding import follows_rules, round_commitment
from enertwin.reasoning.cpsat_model import DispatchModel, IntVar, StorageTerms, StorageVars, storage_terms
from enertwin.reasoning.lp_relaxation import LpSolution, Relaxation
from enertwin.reasoning.scaling import ENERGY_BAND_UNITS, ENERGY_COEFFICIENT_SCALE

ROUNDING_SLACK = 1e-6


@dataclass(frozen=True, slots=True)
class WarmStart:
    """The LP bound (objective units of the model) and a complete integer hint (variable index → value)."""

    lp: LpSolution
    bound: float | None
    hint: dict[int, int]
    fixed_lp: LpSolution | None


def warm_start(
    dm: DispatchModel,
    widened: DispatchModel,
    time_limit: float,
    relaxations: tuple[Relaxation, Relaxation] | None = None,
    patterns: Sequence[np.ndarray] | None = None,
) -> WarmStart:
    """Bound (from ``widened``, the same model rounded outward) and hint for ``dm``.

    ``relaxations``: the LPs of ``widened`` and ``dm`` where they are kept (intraday), else derived here.
    ``patterns``: on/off per thermal unit to start from (a previous schedule) instead of the LP's.
    The hint is empty where an LP does not solve in time.
    """
    wide_lp, own_lp = relaxations or (
        Relaxation.of(widened.model.proto, widened.scaling.objective_eur),
        Relaxation.of(dm.model.proto, dm.scaling.objective_eur),
    )
    lp = wide_lp.solve(time_limit=time_limit)
    if not lp.optimal:
        return WarmStart(lp, None, {}, None)
    bound = lp.objective * widened.scaling.objective_eur / dm.scaling.objective_eur
    commitments = _commitments(dm, widened, lp.values, patterns)
    fixed = own_lp.solve(commitments, time_limit=time_limit)
    if not fixed.optimal:
        return WarmStart(lp, bound, {}, fixed)
    hint = dict(commitments)
    hint.update(_integer_dispatch(dm, fixed.values))
    return WarmStart(lp, bound, {k: int(v) for k, v in hint.items()}, fixed)


def _commitments(
    dm: DispatchModel, widened: DispatchModel, values: np.ndarray, patterns: Sequence[np.ndarray] | None = None
) -> dict[int, float]:
    """On, start and stop values per unit of ``dm`` from the rounded LP commitments of ``widened``.

    Units with transitions follow ``patterns`` instead where given (made to honour their rules).
    """
    fixed: dict[int, float] = {}
    for i, (tv, wide) in enumerate(zip(dm.thermal, widened.thermal, strict=True)):
        fractional = values[[v.index for v in wide.on]]
        if tv.start and patterns is not None:
            fractional = np.asarray(patterns[i], dtype=float)
        if tv.start:
            pattern = np.round(fractional).astype(np.int64)
            if np.max(np.abs(fractional - pattern)) > ROUNDING_SLACK or not follows_rules(tv.unit, pattern):
                pattern = round_commitment(tv.unit, fractional)
            before = np.concatenate([[int(tv.unit.initial_on)], pattern[:-1]])
            for var, value in zip(tv.start, (pattern > before).astype(int), strict=True):
                fixed[var.index] = float(value)
            for var, value in zip(tv.stop, (pattern < before).astype(int), strict=True):
                fixed[var.index] = float(value)
        else:  # no start cost or dynamics: on wherever the LP produces anything
            low = dm.scaling.power_up(tv.unit.min_p)
            pattern = ((fractional > ROUNDING_SLACK) if low == 0 else (fractional >= 0.5)).astype(np.int64)
        for var, value in zip(tv.on, pattern, strict=True):
            fixed[var.index] = float(value)
    return fixed


def _integer_dispatch(dm: DispatchModel, values: np.ndarray) -> dict[int, int]:
    """Integer values for every non-commitment variable, feasible with the fixed commitments."""
    hint: dict[int, int] = {}

    def down(var: IntVar) -> int:
        return math.floor(float(values[var.index]) + ROUNDING_SLACK)

    def near(var: IntVar) -> int:
        return round(float(values[var.index]))

    for tv in dm.thermal:
        hint.update((v.index, down(v)) for v in tv.p)
    for sv in dm.storage:
        hint.update(_storage_hint(dm, sv, values))
    for t in range(dm.problem.steps):
        hint[dm.renewables[t].index] = down(dm.renewables[t])
        for var in (dm.buy[t], dm.sell[t], dm.unserved[t]):
            hint[var.index] = near(var)
        _close_balance(dm, t, hint)
    return hint


def _storage_hint(dm: DispatchModel, sv: StorageVars, values: np.ndarray) -> dict[int, int]:
    """Charge and discharge rounded with error diffusion, energy the exact recursion rounded down.

    Rounding down loses a little energy each step, so where the store would end short of its
    initial energy, extra charge is added from the last step backwards.
    """
    steps = dm.problem.steps
    terms = storage_terms(dm, sv.unit)
    power = dm.scaling.power_down(sv.unit.power_mw)
    charge = _diffused([values[v.index] for v in sv.charge], power)
    discharge = _diffused([values[v.index] for v in sv.discharge], power)
    need = dm.scaling.energy_up(sv.unit.final_mwh)
    energy = _storage_forward(dm, sv, terms, charge, discharge)
    for t in range(steps - 1, -1, -1):
        if energy[-1] >= need:
            break
        decay = (terms.keep / ENERGY_COEFFICIENT_SCALE) ** (steps - 1 - t)
        wanted = math.ceil((need - energy[-1]) * ENERGY_COEFFICIENT_SCALE / (terms.gain * decay))
        charge[t] += max(0, min(power - charge[t], wanted))
        energy = _storage_forward(dm, sv, terms, charge, discharge)
    hint: dict[int, int] = {}
    for t in range(steps):
        hint.update({sv.charge[t].index: charge[t], sv.discharge[t].index: discharge[t], sv.energy[t].index: energy[t]})
    return hint


def _diffused(flows: list[float], top: int) -> list[int]:
    """Flows rounded one by one, each carrying the last one's rounding error.

    Their running sum (the energy moved) then stays within one unit of the LP's.
    """
    rounded, carry = [], 0.0
    for flow in flows:
        value = min(max(round(flow + carry), 0), top)
        carry += flow - value
        rounded.append(value)
    return rounded


def _storage_forward(
    dm: DispatchModel, sv: StorageVars, terms: StorageTerms, charge: list[int], discharge: list[int]
) -> list[int]:
    """Energy per step for these flows (flows the store cannot take or give are cut in place)."""
    k, band = ENERGY_COEFFICIENT_SCALE, ENERGY_BAND_UNITS
    top = dm.scaling.energy_down(sv.unit.capacity_mwh)
    energy: list[int] = []
    before = terms.initial
    for t in range(dm.problem.steps):
        flow = before + terms.gain * charge[t] - terms.loss * discharge[t]
        if flow < 0:  # rounding drew more than is stored: draw less
            discharge[t] = max(0, discharge[t] - math.ceil(-flow / terms.loss))
        elif flow - band * k > top * k:  # or stored more than fits: store less
            charge[t] = max(0, charge[t] - math.ceil((flow - band * k - top * k) / terms.gain))
        flow = before + terms.gain * charge[t] - terms.loss * discharge[t]
        energy.append(min(top, flow // k))
        before = terms.keep * energy[-1]
    return energy


def _close_balance(dm: DispatchModel, t: int, hint: dict[int, int]) -> None:
    """Make supply meet demand in step ``t`` by moving trades, unserved energy or curtailment."""
    supply = sum(hint[tv.p[t].index] for tv in dm.thermal) + hint[dm.renewables[t].index]
    supply += sum(hint[sv.discharge[t].index] - hint[sv.charge[t].index] for sv in dm.storage)
    buy, sell, unserved, res = dm.buy[t], dm.sell[t], dm.unserved[t], dm.renewables[t]
    gap = dm.demand[t] - supply - hint[buy.index] + hint[sell.index] - hint[unserved.index]
    # supply + buy − sell + unserved = demand: each variable moves by its coefficient × gap, within bounds
    order = (sell, buy, unserved, res) if gap > 0 else (buy, unserved, sell, res)
    for var in order:
        if gap == 0:
            break
        sign = -1 if var is sell else 1
        domain = var.proto.domain
        wanted = hint[var.index] + sign * gap
        moved = max(domain[0], min(domain[len(domain) - 1], wanted)) - hint[var.index]
        hint[var.index] += moved
        gap -= sign * moved


def satisfies(dm: DispatchModel, values: dict[int, int]) -> bool:
    """Whether ``values`` (by variable index) meet every domain and constraint of ``dm``'s model."""
    proto = dm.model.proto
    for index, var in enumerate(proto.variables):
        domain = var.domain
        if index not in values or not domain[0] <= values[index] <= domain[len(domain) - 1]:
            return False
    for ct in proto.constraints:
        if len(ct.enforcement_literal) and not all(_literal(values, lit) for lit in ct.enforcement_literal):
            continue
        if ct.has_linear():
            total = sum(values[v] * c for v, c in zip(ct.linear.vars, ct.linear.coeffs, strict=True))
            domain = ct.linear.domain
            if not domain[0] <= total <= domain[len(domain) - 1]:
                return False
        elif ct.has_at_most_one() and sum(_literal(values, lit) for lit in ct.at_most_one.literals) > 1:
            return False
    return True


def _literal(values: dict[int, int], literal: int) -> int:
    return values[literal] if literal >= 0 else 1 - values[-literal - 1]
