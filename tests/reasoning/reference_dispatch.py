"""Independent reference of the portfolio-dispatch problem (shared/benchmarks/portfolio-dispatch.md).

This module is the specification in code: it reads the SimBench data with numpy/pandas only, builds the
problem data (`load_reference`), recomputes the objective of a schedule in the JSON output format
(`schedule_cost`), lists every rule a schedule breaks (`check_schedule`) and builds a plain feasible
schedule (`trivial_schedule`). It shares no code with the solver it is meant to check.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import simbench

# ---------------------------------------------------------------------------------------------------------------------
# Constants of the reference problem
# ---------------------------------------------------------------------------------------------------------------------

STEP_HOURS = 0.25
STEPS_PER_YEAR = 35_136
LABEL_ZONE = ZoneInfo("Europe/Berlin")  # SimBench labels rows with German wall-clock time
PROFILE_TIME_FORMAT = "%d.%m.%Y %H:%M"

CO2_PRICE_EUR_PER_T = 6.0
MARKET_SPREAD_EUR_PER_MWH = 2.0
UNSERVED_EUR_PER_MWH = 3000.0

PRICE_CASE = "1-EHV-mixed--2-sw"
SHORT_NAMES = {"hv-mixed": "1-HV-mixed--2-sw", "ehv-mixed": "1-EHV-mixed--2-sw"}

# Checker tolerances.
BOUND_TOL_MW = 1e-3
PRICE_TOL_EUR_PER_MWH = 1e-6
ENERGY_TOL_SHARE = 1e-3
ENERGY_TOL_MIN_MWH = 0.01
BALANCE_TOL_MW_PER_GW = 0.01
BALANCE_TOL_MIN_MW = 0.01
OBJECTIVE_TOL_REL = 1e-6
OBJECTIVE_TOL_MIN_EUR = 0.01


@dataclass(frozen=True)
class CostRow:
    """One row of the reference cost table (per SimBench gen `type`)."""

    marginal_eur_per_mwh: float
    tco2_per_mwh: float
    start_eur_per_mw: float
    ramp_share_per_step: float
    min_up_h: float
    min_down_h: float

    @property
    def cost_eur_per_mwh(self) -> float:
        """Marginal cost plus the CO2 price times the emission factor."""
        return self.marginal_eur_per_mwh + CO2_PRICE_EUR_PER_T * self.tco2_per_mwh


_IMPORT_ROW = CostRow(42.0, 0.50, 0.0, 1.00, 0.0, 0.0)

COST_TABLE: dict[str, CostRow] = {
    "lignite": CostRow(22.0, 1.10, 60.0, 0.25, 8.0, 6.0),
    "hard coal": CostRow(32.0, 0.85, 45.0, 0.40, 6.0, 4.0),
    "gas": CostRow(48.0, 0.37, 25.0, 1.00, 2.0, 2.0),
    "oil": CostRow(85.0, 0.80, 15.0, 1.00, 1.0, 1.0),
    "waste": CostRow(8.0, 0.30, 30.0, 0.50, 4.0, 4.0),
    "imp0": _IMPORT_ROW,
    "imp1": _IMPORT_ROW,
}


def hours_to_steps(hours: float) -> int:
    """Hours as a whole number of 15-minute steps (rounded)."""
    return round(hours / STEP_HOURS)


# ---------------------------------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ReferenceData:
    """Everything the reference problem needs for one (case, start, steps), as read-only numpy arrays.

    Index order of every array is the order of the SimBench table (gen, sgen, storage, load); time is the last axis.
    """

    code: str
    start: datetime
    start_step: int
    steps: int
    # thermal units (SimBench gen)
    thermal_names: tuple[str, ...]
    thermal_types: tuple[str, ...]
    min_p: np.ndarray  # MW
    max_p: np.ndarray  # MW
    cost: np.ndarray  # EUR/MWh, marginal + CO2
    start_cost: np.ndarray  # EUR per start
    ramp: np.ndarray  # MW per step, R
    min_up: np.ndarray  # steps
    min_down: np.ndarray  # steps
    init_on: np.ndarray  # bool, state of the step before t0
    init_p: np.ndarray  # MW, output in the step before t0
    # renewables (SimBench sgen)
    res_names: tuple[str, ...]
    res_avail: np.ndarray  # MW, shape (R, T)
    # storage with max_e_mwh > 0
    sto_names: tuple[str, ...]
    sto_p_max: np.ndarray  # MW (sn_mva), charge and discharge limit
    sto_e_max: np.ndarray  # MWh
    sto_eta: np.ndarray  # one-way efficiency
    sto_sd: np.ndarray  # self-discharge share per day
    # loads
    load_names: tuple[str, ...]
    demand: np.ndarray  # MW, shape (L, T)
    # market
    market_limit: float | None  # MW for buy and for sell; None = no limit
    price: np.ndarray  # EUR/MWh, shape (T,)

    @property
    def step_hours(self) -> float:
        """Length of a step in hours."""
        return STEP_HOURS

    @property
    def start_jump(self) -> np.ndarray:
        """S = max(min_p, R): the largest output in the step a unit starts, or before the step it stops."""
        return np.maximum(self.min_p, self.ramp)

    @property
    def sto_e_init(self) -> np.ndarray:
        """e(-1) = 0.5 max_e."""
        return 0.5 * self.sto_e_max

    @property
    def sto_retention(self) -> np.ndarray:
        """Share of the energy kept over one step: 1 - sd·Δt/24."""
        return 1.0 - self.sto_sd * STEP_HOURS / 24.0

    @property
    def total_demand(self) -> np.ndarray:
        """Σ_l D(l,t)."""
        return self.demand.sum(axis=0)

    @property
    def peak_demand_mw(self) -> float:
        """Largest total demand of the horizon."""
        return float(self.total_demand.max()) if self.steps else 0.0

    @property
    def balance_tol_mw(self) -> float:
        """0.01 MW per GW of peak demand, at least 0.01 MW."""
        return max(BALANCE_TOL_MIN_MW, BALANCE_TOL_MW_PER_GW * self.peak_demand_mw / 1000.0)

    @property
    def energy_tol_mwh(self) -> np.ndarray:
        """Per storage: max(0.001·max_e, 0.01) MWh."""
        return np.maximum(ENERGY_TOL_SHARE * self.sto_e_max, ENERGY_TOL_MIN_MWH)

    @property
    def buy_price(self) -> np.ndarray:
        """π⁺ = π + 2."""
        return self.price + MARKET_SPREAD_EUR_PER_MWH

    @property
    def sell_price(self) -> np.ndarray:
        """π⁻ = π − 2."""
        return self.price - MARKET_SPREAD_EUR_PER_MWH


def resolve_code(case: str) -> str:
    """SimBench code of a case given by code or short name."""
    return SHORT_NAMES.get(case.strip().lower(), case.strip())


def parse_start(start_iso: str) -> datetime:
    """A START as given: naive (wall clock in Germany, as SimBench labels rows) or with an offset (an instant)."""
    return datetime.fromisoformat(start_iso)


def row_of(code: str, moment: datetime) -> int:
    """The profile row SimBench's own `time` column labels with ``moment``.

    A naive moment is a label; one with an offset is an instant, written as the German wall-clock label it
    has (the first of two equal October labels is summer time, +02:00; the second is winter time, +01:00).
    """
    labels = _time_labels(code)
    if moment.tzinfo is None:
        label, second = moment.strftime(PROFILE_TIME_FORMAT), None
    else:
        local = moment.astimezone(LABEL_ZONE)
        label, second = local.strftime(PROFILE_TIME_FORMAT), local.utcoffset() == timedelta(hours=1)
    rows = np.flatnonzero(labels == label)
    if len(rows) == 0:
        raise ValueError(f"no SimBench profile row is labelled {label!r} ({moment.isoformat()})")
    if len(rows) == 1:
        return int(rows[0])
    if second is None:
        raise ValueError(f"two SimBench profile rows are labelled {label!r}: give {moment.isoformat()} an offset")
    return int(rows[1] if second else rows[0])


def instant_of(code: str, row: int) -> datetime:
    """The instant of profile row ``row``: its label on the German wall clock, with the offset the label has."""
    labels = _time_labels(code)
    wall = datetime.strptime(str(labels[row]), PROFILE_TIME_FORMAT)
    twins = np.flatnonzero(labels == labels[row])
    if len(twins) > 1:  # an October label shown twice: summer time first, then winter time
        return wall.replace(tzinfo=timezone(timedelta(hours=2 if row == twins[0] else 1)))
    return wall.replace(tzinfo=LABEL_ZONE)


@functools.lru_cache(maxsize=8)
def _time_labels(code: str) -> np.ndarray:
    labels = _net(code).profiles["load"]["time"].astype(str).to_numpy()
    if len(labels) != STEPS_PER_YEAR:
        raise ValueError(f"{code}: load profile has {len(labels)} rows, expected {STEPS_PER_YEAR}")
    return labels


@functools.lru_cache(maxsize=8)
def _net(code: str) -> object:
    return simbench.get_simbench_net(code)


def _profile_rows(frame: pd.DataFrame, start_step: int, steps: int) -> pd.DataFrame:
    if len(frame) != STEPS_PER_YEAR:
        raise ValueError(f"profile has {len(frame)} rows, expected {STEPS_PER_YEAR}")
    return frame.iloc[start_step : start_step + steps]


def _check_window(start_step: int, steps: int) -> None:
    if steps < 1:
        raise ValueError("steps must be at least 1")
    if start_step < 0 or start_step + steps > STEPS_PER_YEAR:
        last = start_step + steps - 1
        raise ValueError(f"steps {start_step}..{last} leave the 2016 profiles (0..{STEPS_PER_YEAR - 1})")


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    array.setflags(write=False)
    return array


def _available(net: object, start_step: int, steps: int) -> np.ndarray:
    """A(r,t) = p_mw × renewables profile, clipped at 0 (the profiles hold a few values of order −1e-5)."""
    sgen = net.sgen
    if len(sgen) == 0:
        return np.zeros((0, steps))
    rows = _profile_rows(net.profiles["renewables"], start_step, steps)
    shares = rows[list(sgen["profile"])].to_numpy(dtype=float).T
    return np.clip(sgen["p_mw"].to_numpy(dtype=float)[:, None] * shares, 0.0, None)


def _demand(net: object, start_step: int, steps: int) -> np.ndarray:
    """D(l,t) = p_mw × load profile `<profile>_pload` (may be negative where the profile is)."""
    load = net.load
    if len(load) == 0:
        return np.zeros((0, steps))
    rows = _profile_rows(net.profiles["load"], start_step, steps)
    shares = rows[[f"{profile}_pload" for profile in load["profile"]]].to_numpy(dtype=float).T
    return load["p_mw"].to_numpy(dtype=float)[:, None] * shares


def _cost_rows(types: pd.Series) -> list[CostRow]:
    rows = []
    for kind in types:
        if kind not in COST_TABLE:
            raise KeyError(f"gen type {kind!r} is not in the reference cost table")
        rows.append(COST_TABLE[kind])
    return rows


@functools.lru_cache(maxsize=1)
def _price_fleet() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cost sorted ascending, cumulative max_p of that order, residual load of every step of the year)."""
    net = _net(PRICE_CASE)
    gen = net.gen
    cost = np.array([row.cost_eur_per_mwh for row in _cost_rows(gen["type"])])
    order = np.argsort(cost, kind="stable")
    cumulative = np.cumsum(gen["max_p_mw"].to_numpy(dtype=float)[order])
    residual = _demand(net, 0, STEPS_PER_YEAR).sum(axis=0) - _available(net, 0, STEPS_PER_YEAR).sum(axis=0)
    return cost[order], cumulative, residual


def residual_load(start_step: int, steps: int) -> np.ndarray:
    """Residual load of the EHV reference grid (total demand − total available RES), MW."""
    _check_window(start_step, steps)
    return _price_fleet()[2][start_step : start_step + steps].copy()


def price_for_residual(residual: np.ndarray) -> np.ndarray:
    """Merit-order price of the EHV reference fleet for given residual loads (MW).

    The plants, cheapest first, cover the residual load; the price is the cost per MWh of the first plant whose
    cumulative max_p_mw reaches it, of the most expensive plant if the fleet cannot cover it, and 0 if it is ≤ 0.
    """
    cost, cumulative, _ = _price_fleet()
    residual = np.asarray(residual, dtype=float)
    index = np.minimum(np.searchsorted(cumulative, residual, side="left"), len(cost) - 1)
    return np.where(residual > 0.0, cost[index], 0.0)


def merit_order_price(start_step: int, steps: int) -> np.ndarray:
    """π(t) for `steps` steps from profile row `start_step` (the same series for every case)."""
    return price_for_residual(residual_load(start_step, steps))


def market_limit(ext_max_p: pd.Series) -> float | None:
    """Σ external-grid max_p_mw; None (no limit) when any external grid has no max_p_mw ("no limit where SimBench
    gives none": that grid alone can carry any flow, so the sum is unbounded). No external grid at all: 0 MW.
    """
    values = pd.to_numeric(ext_max_p, errors="coerce").astype(float)
    if values.isna().any() or np.isinf(values).any():
        return None
    return float(values.sum())


def load_reference(code: str, start_iso: str, steps: int) -> ReferenceData:
    """Problem data of a case (SimBench code or short name) from `start_iso` for `steps` 15-minute steps."""
    code = resolve_code(code)
    start = parse_start(start_iso)
    start_step = row_of(code, start)
    _check_window(start_step, steps)
    net = _net(code)

    gen = net.gen
    rows = _cost_rows(gen["type"])
    min_p = gen["min_p_mw"].to_numpy(dtype=float)
    max_p = gen["max_p_mw"].to_numpy(dtype=float)
    if len(gen):
        plant_rows = _profile_rows(net.profiles["powerplants"], start_step, 1)
        init_on = plant_rows[list(gen["profile"])].to_numpy(dtype=float)[0] > 0.0
    else:
        init_on = np.zeros(0, dtype=bool)

    storage = net.storage[net.storage["max_e_mwh"].astype(float) > 0.0]

    return ReferenceData(
        code=code,
        start=instant_of(code, start_step),
        start_step=start_step,
        steps=steps,
        thermal_names=tuple(gen["name"].astype(str)),
        thermal_types=tuple(gen["type"].astype(str)),
        min_p=_readonly(min_p),
        max_p=_readonly(max_p),
        cost=_readonly(np.array([row.cost_eur_per_mwh for row in rows])),
        start_cost=_readonly(np.array([row.start_eur_per_mw for row in rows]) * max_p),
        ramp=_readonly(np.array([row.ramp_share_per_step for row in rows]) * max_p),
        min_up=_readonly(np.array([hours_to_steps(row.min_up_h) for row in rows], dtype=int)),
        min_down=_readonly(np.array([hours_to_steps(row.min_down_h) for row in rows], dtype=int)),
        init_on=_readonly(init_on),
        init_p=_readonly(np.where(init_on, min_p, 0.0)),
        res_names=tuple(net.sgen["name"].astype(str)),
        res_avail=_readonly(_available(net, start_step, steps)),
        sto_names=tuple(storage["name"].astype(str)),
        sto_p_max=_readonly(storage["sn_mva"].to_numpy(dtype=float)),
        sto_e_max=_readonly(storage["max_e_mwh"].to_numpy(dtype=float)),
        sto_eta=_readonly(np.sqrt(storage["efficiency_percent"].to_numpy(dtype=float))),
        sto_sd=_readonly(storage["self-discharge_percent_per_day"].to_numpy(dtype=float) / 100.0),
        load_names=tuple(net.load["name"].astype(str)),
        demand=_readonly(_demand(net, start_step, steps)),
        market_limit=market_limit(net.ext_grid["max_p_mw"]),
        price=_readonly(merit_order_price(start_step, steps)),
    )


# ---------------------------------------------------------------------------------------------------------------------
# Schedules in the JSON output format
# ---------------------------------------------------------------------------------------------------------------------


def _assets_by_id(schedule: dict) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for asset in schedule.get("assets") or []:
        if isinstance(asset, dict) and isinstance(asset.get("id"), str) and asset["id"] not in found:
            found[asset["id"]] = asset
    return found


def _series(values: object, steps: int) -> np.ndarray | None:
    """A float array of length `steps`, or None when `values` is not one."""
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        return None
    if array.shape != (steps,) or not np.all(np.isfinite(array)):
        return None
    return array


def _previous(values: np.ndarray, initial: float) -> np.ndarray:
    """values shifted one step later, `initial` in front."""
    return np.concatenate(([initial], values[:-1]))


def _starts(on: np.ndarray, init_on: bool) -> int:
    u = np.round(on).astype(int)
    u_prev = _previous(u, int(init_on))
    return int(np.sum((u == 1) & (u_prev == 0)))


def schedule_cost(schedule: dict, data: ReferenceData) -> float:
    """Objective of a schedule: Σ_t Δt·(Σ cost·p + π⁺·b − π⁻·s + 3000·slack) + Σ starts·start cost.

    Assets are matched by id; an absent or malformed series contributes nothing (check_schedule reports it).
    """
    steps = data.steps
    dt = STEP_HOURS
    assets = _assets_by_id(schedule)
    total = 0.0
    for g, name in enumerate(data.thermal_names):
        asset = assets.get(name, {})
        p = _series(asset.get("p_mw"), steps)
        if p is not None:
            total += dt * float(data.cost[g]) * float(p.sum())
        on = _series(asset.get("on"), steps)
        if on is not None:
            total += float(data.start_cost[g]) * _starts(on, bool(data.init_on[g]))
    market = schedule.get("market") or {}
    buy = _series(market.get("buy_mw"), steps)
    if buy is not None:
        total += dt * float(np.dot(data.buy_price, buy))
    sell = _series(market.get("sell_mw"), steps)
    if sell is not None:
        total -= dt * float(np.dot(data.sell_price, sell))
    unserved = _series(schedule.get("unserved_mw"), steps)
    if unserved is not None:
        total += dt * UNSERVED_EUR_PER_MWH * float(unserved.sum())
    return total


class _Report:
    """Collects violations; one message per (subject, rule) naming the first steps and the count."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, message: str) -> None:
        self.messages.append(message)

    def steps(self, subject: str, rule: str, mask: np.ndarray, detail: object) -> None:
        """`mask[t]` marks a violation at step t; `detail(t)` describes the first one."""
        where = np.flatnonzero(mask)
        if len(where) == 0:
            return
        first = int(where[0])
        listed = ", ".join(str(int(t)) for t in where[:10]) + (", …" if len(where) > 10 else "")
        self.messages.append(f"{subject} step {first}: {rule}: {detail(first)} ({len(where)} step(s): {listed})")


def _thermal_rules(report: _Report, data: ReferenceData, g: int, p: np.ndarray, on: np.ndarray) -> None:
    name = data.thermal_names[g]
    tol = BOUND_TOL_MW
    rounded = np.round(on)
    bad_on = (np.abs(on - rounded) > 1e-6) | ((rounded != 0) & (rounded != 1))
    report.steps(name, "on must be 0 or 1", bad_on, lambda t: f"on={on[t]}")
    u = np.clip(rounded, 0, 1).astype(int)
    lo, hi, ramp, jump = data.min_p[g], data.max_p[g], data.ramp[g], data.start_jump[g]
    report.steps(name, "p_mw below on·min_p_mw", p < u * lo - tol, lambda t: f"p={p[t]:.6f} on={u[t]} min_p={lo}")
    report.steps(name, "p_mw above on·max_p_mw", p > u * hi + tol, lambda t: f"p={p[t]:.6f} on={u[t]} max_p={hi}")

    p_prev = _previous(p, float(data.init_p[g]))
    u_prev = _previous(u, int(data.init_on[g]))
    stays = (u == 1) & (u_prev == 1)
    starts = (u == 1) & (u_prev == 0)
    stops = (u == 0) & (u_prev == 1)
    rise = p - p_prev

    def move(t: int) -> str:
        return f"{p_prev[t]:.6f} → {p[t]:.6f}"

    report.steps(name, f"ramp up above R={ramp}", stays & (rise > ramp + tol), move)
    report.steps(name, f"ramp down above R={ramp}", stays & (-rise > ramp + tol), move)
    report.steps(
        name,
        f"start-up output above max(min_p, R)={jump}",
        starts & (rise > jump + tol),
        move,
    )
    report.steps(
        name,
        f"output before shut-down above max(min_p, R)={jump}",
        stops & (-rise > jump + tol),
        move,
    )

    # minimum up / down time: only transitions inside the horizon (the one into step 0 included)
    steps = data.steps
    for rule, transitions, state, length in (
        ("min up time", starts, 1, int(data.min_up[g])),
        ("min down time", stops, 0, int(data.min_down[g])),
    ):
        if length <= 1:
            continue
        broken = np.zeros(steps, dtype=bool)
        origin = np.full(steps, -1)
        for t in np.flatnonzero(transitions):
            window = np.arange(t, min(t + length, steps))
            wrong = window[u[window] != state]
            if len(wrong):
                broken[wrong[0]] = True
                origin[wrong[0]] = t
        report.steps(
            name,
            f"{rule} of {length} steps",
            broken,
            lambda t, origin=origin, state=state: (
                f"{'off' if state else 'on'} {t - origin[t]} step(s) after the "
                f"{'start' if state else 'stop'} at step {origin[t]}"
            ),
        )


def _storage_rules(
    report: _Report, data: ReferenceData, s: int, charge: np.ndarray, discharge: np.ndarray, soc: np.ndarray
) -> None:
    name = data.sto_names[s]
    tol = BOUND_TOL_MW
    etol = float(data.energy_tol_mwh[s])
    p_max, e_max, eta = data.sto_p_max[s], data.sto_e_max[s], data.sto_eta[s]
    report.steps(name, "charge_mw below 0", charge < -tol, lambda t: f"c={charge[t]:.6f}")
    report.steps(name, f"charge_mw above sn_mva={p_max}", charge > p_max + tol, lambda t: f"c={charge[t]:.6f}")
    report.steps(name, "discharge_mw below 0", discharge < -tol, lambda t: f"d={discharge[t]:.6f}")
    report.steps(name, f"discharge_mw above sn_mva={p_max}", discharge > p_max + tol, lambda t: f"d={discharge[t]:.6f}")
    report.steps(name, "soc_mwh below 0", soc < -etol, lambda t: f"e={soc[t]:.6f}")
    report.steps(name, f"soc_mwh above max_e_mwh={e_max}", soc > e_max + etol, lambda t: f"e={soc[t]:.6f}")
    e0 = float(data.sto_e_init[s])
    expected = _previous(soc, e0) * data.sto_retention[s] + eta * charge * STEP_HOURS - discharge * STEP_HOURS / eta
    report.steps(
        name,
        f"energy balance off by more than {etol} MWh",
        np.abs(soc - expected) > etol,
        lambda t: f"soc={soc[t]:.6f}, balance gives {expected[t]:.6f}",
    )
    if soc[-1] < e0 - etol:
        report.add(f"{name} step {data.steps - 1}: final soc_mwh {soc[-1]:.6f} below the initial {e0:.6f}")


def _check_time(report: _Report, data: ReferenceData, subject: str, value: object, step: int) -> None:
    """An output time must carry its offset and name the profile row of its step by SimBench's labels."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        report.add(f"{subject}: {value!r} is not an ISO 8601 time")
        return
    if moment.tzinfo is None:
        report.add(f"{subject}: {value!r} has no UTC offset")
        return
    try:
        row = row_of(data.code, moment)
    except ValueError as exc:
        report.add(f"{subject}: {exc}")
        return
    if row != data.start_step + step:
        report.add(f"{subject}: {value!r} is profile row {row}, expected row {data.start_step + step}")


def check_schedule(schedule: dict, data: ReferenceData) -> list[str]:
    """Every rule of the reference problem the schedule breaks (empty list: feasible within the tolerances)."""
    report = _Report()
    steps = data.steps
    tol = BOUND_TOL_MW

    def series(values: object, where: str) -> np.ndarray | None:
        array = _series(values, steps)
        if array is None:
            report.add(f"{where}: not a list of {steps} finite numbers")
        return array

    # header
    if "case" in schedule and schedule["case"] != data.code:
        report.add(f"case: {schedule['case']!r}, expected {data.code!r}")
    if "step_hours" in schedule and schedule["step_hours"] != STEP_HOURS:
        report.add(f"step_hours: {schedule['step_hours']!r}, expected {STEP_HOURS}")
    if "start" in schedule:
        _check_time(report, data, "start", schedule["start"], 0)
    times = schedule.get("times")
    if times is not None:
        if not isinstance(times, list) or len(times) != data.steps:
            report.add(f"times: expected a list of {data.steps} times")
        else:
            for t, moment in enumerate(times):
                _check_time(report, data, f"times step {t}", moment, t)
    prices = series(schedule.get("prices_eur_per_mwh"), "prices_eur_per_mwh")
    if prices is not None:
        report.steps(
            "prices_eur_per_mwh",
            f"differs from the merit-order price by more than {PRICE_TOL_EUR_PER_MWH}",
            np.abs(prices - data.price) > PRICE_TOL_EUR_PER_MWH,
            lambda t: f"{prices[t]} instead of {data.price[t]}",
        )

    # assets: present once, known, right kind
    expected_kind = {name: "thermal" for name in data.thermal_names}
    expected_kind.update({name: "renewable" for name in data.res_names})
    expected_kind.update({name: "storage" for name in data.sto_names})
    expected_kind.update({name: "load" for name in data.load_names})
    seen: set[str] = set()
    raw_assets = schedule.get("assets")
    if not isinstance(raw_assets, list):
        report.add("assets: missing or not a list")
        raw_assets = []
    for position, asset in enumerate(raw_assets):
        name = asset.get("id") if isinstance(asset, dict) else None
        if not isinstance(name, str):
            report.add(f"assets[{position}]: no string id")
            continue
        if name in seen:
            report.add(f"{name}: listed more than once")
        seen.add(name)
        if name not in expected_kind:
            report.add(f"{name}: not an asset of {data.code}")
        elif asset.get("kind") != expected_kind[name]:
            report.add(f"{name}: kind {asset.get('kind')!r}, expected {expected_kind[name]!r}")
    for name in expected_kind:
        if name not in seen:
            report.add(f"{name}: missing asset ({expected_kind[name]})")
    assets = _assets_by_id(schedule)

    supply = np.zeros(steps)

    for g, name in enumerate(data.thermal_names):
        if name not in assets:
            continue
        p = series(assets[name].get("p_mw"), f"{name} p_mw")
        on = series(assets[name].get("on"), f"{name} on")
        if p is not None:
            supply += p
        if p is not None and on is not None:
            _thermal_rules(report, data, g, p, on)

    for r, name in enumerate(data.res_names):
        if name not in assets:
            continue
        p = series(assets[name].get("p_mw"), f"{name} p_mw")
        if p is None:
            continue
        supply += p
        avail = data.res_avail[r]
        report.steps(name, "p_mw below 0", p < -tol, lambda t, p=p: f"p={p[t]:.6f}")
        report.steps(
            name, "p_mw above available", p > avail + tol, lambda t, p=p, a=avail: f"p={p[t]:.6f} available={a[t]:.6f}"
        )

    for s, name in enumerate(data.sto_names):
        if name not in assets:
            continue
        charge = series(assets[name].get("charge_mw"), f"{name} charge_mw")
        discharge = series(assets[name].get("discharge_mw"), f"{name} discharge_mw")
        soc = series(assets[name].get("soc_mwh"), f"{name} soc_mwh")
        if charge is not None and discharge is not None:
            supply += discharge - charge
        if charge is not None and discharge is not None and soc is not None:
            _storage_rules(report, data, s, charge, discharge, soc)

    for load_index, name in enumerate(data.load_names):
        if name not in assets:
            continue
        p = series(assets[name].get("p_mw"), f"{name} p_mw")
        if p is None:
            continue
        demand = data.demand[load_index]
        report.steps(
            name,
            "p_mw differs from demand D (loads are served in full)",
            np.abs(p - demand) > tol,
            lambda t, p=p, d=demand: f"p={p[t]:.6f} D={d[t]:.6f}",
        )

    market = schedule.get("market")
    if not isinstance(market, dict):
        report.add("market: missing or not an object")
        market = {}
    limit = math.inf if data.market_limit is None else data.market_limit
    for key, sign in (("buy_mw", 1.0), ("sell_mw", -1.0)):
        flow = series(market.get(key), f"market {key}")
        if flow is None:
            continue
        supply += sign * flow
        report.steps(f"market {key}", "below 0", flow < -tol, lambda t, f=flow: f"{f[t]:.6f}")
        report.steps(f"market {key}", f"above the limit {limit}", flow > limit + tol, lambda t, f=flow: f"{f[t]:.6f}")
    unserved = series(schedule.get("unserved_mw"), "unserved_mw")
    if unserved is not None:
        supply += unserved
        report.steps("unserved_mw", "below 0", unserved < -tol, lambda t: f"{unserved[t]:.6f}")

    total_demand = data.total_demand
    btol = data.balance_tol_mw
    report.steps(
        "balance",
        f"supply differs from demand by more than {btol:.6f} MW",
        np.abs(supply - total_demand) > btol,
        lambda t: f"supply {supply[t]:.6f} demand {total_demand[t]:.6f}",
    )

    claimed = schedule.get("objective_eur")
    if isinstance(claimed, int | float) and not isinstance(claimed, bool):
        cost = schedule_cost(schedule, data)
        if not abs(claimed - cost) <= max(OBJECTIVE_TOL_MIN_EUR, OBJECTIVE_TOL_REL * abs(cost)):
            report.add(f"objective_eur: {claimed} but the schedule costs {cost}")
    elif claimed is not None:
        report.add(f"objective_eur: {claimed!r} is not a number")
    return report.messages


def empty_schedule(data: ReferenceData) -> dict:
    """The JSON frame of a schedule for `data` with the header filled and no assets."""
    return {
        "case": data.code,
        "status": "FEASIBLE",
        "objective_eur": None,
        "best_bound_eur": None,
        "solve_seconds": 0.0,
        "wall_seconds": 0.0,
        "decision": "",
        "start": data.start.isoformat(timespec="minutes"),
        "step_hours": STEP_HOURS,
        "prices_eur_per_mwh": [float(x) for x in data.price],
        "assets": [],
        "market": {"buy_mw": [0.0] * data.steps, "sell_mw": [0.0] * data.steps},
        "unserved_mw": [0.0] * data.steps,
    }


def build_schedule(
    data: ReferenceData,
    thermal_p: np.ndarray,
    thermal_on: np.ndarray,
    res_p: np.ndarray,
    charge: np.ndarray,
    discharge: np.ndarray,
    soc: np.ndarray,
    buy: np.ndarray,
    sell: np.ndarray,
    unserved: np.ndarray,
) -> dict:
    """A schedule in the JSON format from arrays (thermal/res/storage arrays are (assets, T)); objective recomputed."""

    def floats(values: np.ndarray) -> list[float]:
        return [float(x) for x in values]

    schedule = empty_schedule(data)
    assets = schedule["assets"]
    for g, name in enumerate(data.thermal_names):
        assets.append(
            {
                "id": name,
                "iri": "",
                "kind": "thermal",
                "p_mw": floats(thermal_p[g]),
                "on": [int(x) for x in np.round(thermal_on[g])],
            }
        )
    for r, name in enumerate(data.res_names):
        assets.append({"id": name, "iri": "", "kind": "renewable", "p_mw": floats(res_p[r])})
    for s, name in enumerate(data.sto_names):
        assets.append(
            {
                "id": name,
                "iri": "",
                "kind": "storage",
                "charge_mw": floats(charge[s]),
                "discharge_mw": floats(discharge[s]),
                "soc_mwh": floats(soc[s]),
            }
        )
    for load_index, name in enumerate(data.load_names):
        assets.append({"id": name, "iri": "", "kind": "load", "p_mw": floats(data.demand[load_index])})
    schedule["market"] = {"buy_mw": floats(buy), "sell_mw": floats(sell)}
    schedule["unserved_mw"] = floats(unserved)
    schedule["objective_eur"] = schedule_cost(schedule, data)
    return schedule


def trivial_schedule(data: ReferenceData) -> dict:
    """A feasible, far from optimal schedule.

    Thermal units keep their initial state (on units at min_p, so no ramp and no transition); RES produce what is
    available; each storage charges just enough to offset self-discharge (with 1 % to spare, so e(T−1) ≥ e(−1));
    the market closes the balance up to its limit, unserved energy covers the rest of a deficit and RES are
    curtailed for the rest of a surplus.
    """
    steps = data.steps
    thermal_on = np.repeat(data.init_on.astype(int)[:, None], steps, axis=1)
    thermal_p = np.repeat(data.init_p[:, None], steps, axis=1)
    res_p = np.array(data.res_avail, dtype=float, copy=True)

    e0 = data.sto_e_init
    keep = np.minimum(1.01 * e0 * data.sto_sd / 24.0 / data.sto_eta, data.sto_p_max)
    charge = np.repeat(keep[:, None], steps, axis=1)
    discharge = np.zeros_like(charge)
    soc = np.zeros_like(charge)
    level = e0.copy()
    for t in range(steps):
        level = level * data.sto_retention + data.sto_eta * charge[:, t] * STEP_HOURS
        soc[:, t] = level

    limit = math.inf if data.market_limit is None else data.market_limit
    net_need = data.total_demand - thermal_p.sum(axis=0) - res_p.sum(axis=0) + charge.sum(axis=0)
    buy = np.clip(net_need, 0.0, limit)
    unserved = np.clip(net_need, 0.0, None) - buy
    surplus = np.clip(-net_need, 0.0, None)
    sell = np.minimum(surplus, limit)
    excess = surplus - sell
    res_total = res_p.sum(axis=0)
    if np.any(excess > res_total + 1e-9):
        raise RuntimeError("thermal minimum output exceeds demand plus the market limit; no trivial schedule")
    with np.errstate(divide="ignore", invalid="ignore"):
        keep_share = np.where(res_total > 0, 1.0 - excess / res_total, 1.0)
    res_p = res_p * keep_share[None, :]
    return build_schedule(data, thermal_p, thermal_on, res_p, charge, discharge, soc, buy, sell, unserved)
