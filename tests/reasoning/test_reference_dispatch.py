"""Tests of the independent reference implementation of the portfolio-dispatch problem."""

from __future__ import annotations

import copy
from functools import cache

import numpy as np
import pytest

from .reference_dispatch import (
    COST_TABLE,
    STEPS_PER_YEAR,
    ReferenceData,
    check_schedule,
    load_reference,
    merit_order_price,
    price_for_residual,
    residual_load,
    schedule_cost,
    trivial_schedule,
)

DAY = "2016-01-14T00:00"
OTHER_DAY = "2016-07-01T12:00"
STEPS = 96


@cache
def reference(case: str, start: str = DAY, steps: int = STEPS) -> ReferenceData:
    return load_reference(case, start, steps)


@cache
def _trivial(case: str, start: str = DAY) -> dict:
    return trivial_schedule(reference(case, start))


def trivial(case: str, start: str = DAY) -> dict:
    """A fresh copy of the trivial schedule (tests mutate it)."""
    return copy.deepcopy(_trivial(case, start))


def asset(schedule: dict, name: str) -> dict:
    return next(a for a in schedule["assets"] if a["id"] == name)


def reprice(schedule: dict, data: ReferenceData) -> dict:
    """Keep objective_eur consistent after a mutation, so only the mutated rule is reported."""
    schedule["objective_eur"] = schedule_cost(schedule, data)
    return schedule


def shift_unserved(schedule: dict, step: int, mw: float) -> None:
    """Take `mw` off unserved energy at `step` (another asset now supplies it)."""
    assert schedule["unserved_mw"][step] >= mw
    schedule["unserved_mw"][step] -= mw


# ---------------------------------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------------------------------


def test_short_names_and_sizes() -> None:
    hv = reference("hv-mixed")
    ehv = reference("ehv-mixed")
    assert hv.code == "1-HV-mixed--2-sw"
    assert ehv.code == "1-EHV-mixed--2-sw"
    assert hv.start_step == 13 * 96
    assert len(hv.thermal_names) == 0
    assert hv.market_limit is None
    assert ehv.market_limit == pytest.approx(9516.0)
    assert len(ehv.thermal_names) == 338
    assert "EHV Storage 5" not in ehv.sto_names  # max_e_mwh = 0
    assert hv.demand.shape == (len(hv.load_names), STEPS)
    assert ehv.res_avail.shape == (len(ehv.res_names), STEPS)
    assert np.all(ehv.res_avail >= 0)
    assert np.array_equal(hv.price, ehv.price)


def test_cost_table_derivations() -> None:
    ehv = reference("ehv-mixed")
    g = ehv.thermal_names.index("EHV Gen 1")
    assert ehv.thermal_types[g] == "lignite"
    assert ehv.cost[g] == pytest.approx(22 + 6 * 1.10)
    assert ehv.start_cost[g] == pytest.approx(60 * ehv.max_p[g])
    assert ehv.ramp[g] == pytest.approx(0.25 * ehv.max_p[g])
    assert (ehv.min_up[g], ehv.min_down[g]) == (32, 24)
    assert COST_TABLE["imp0"].cost_eur_per_mwh == pytest.approx(45.0)
    assert np.array_equal(ehv.init_p, np.where(ehv.init_on, ehv.min_p, 0.0))


def test_window_errors() -> None:
    with pytest.raises(ValueError):
        load_reference("hv-mixed", "2016-12-31T23:45", 2)
    with pytest.raises(ValueError):
        load_reference("hv-mixed", "2016-01-14T00:10", 4)


# ---------------------------------------------------------------------------------------------------------------------
# trivial schedule passes
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["hv-mixed", "ehv-mixed"])
@pytest.mark.parametrize("start", [DAY, OTHER_DAY])
def test_trivial_schedule_is_feasible(case: str, start: str) -> None:
    data = reference(case, start)
    schedule = trivial(case, start)
    assert check_schedule(schedule, data) == []
    assert schedule["objective_eur"] == pytest.approx(schedule_cost(schedule, data))
    assert len(schedule["assets"]) == (
        len(data.thermal_names) + len(data.res_names) + len(data.sto_names) + len(data.load_names)
    )


# ---------------------------------------------------------------------------------------------------------------------
# mutations are reported with the right asset
# ---------------------------------------------------------------------------------------------------------------------


def only_about(problems: list[str], name: str, rule: str) -> None:
    assert problems, "the mutation was not detected"
    assert any(p.startswith(f"{name} ") and rule in p for p in problems), problems
    assert all(p.startswith((f"{name} ", f"{name}:")) for p in problems), problems


def test_thermal_above_max() -> None:
    data = reference("ehv-mixed")
    schedule = trivial("ehv-mixed")
    g = int(np.flatnonzero(data.init_on & (data.min_p > 0))[0])
    name = data.thermal_names[g]
    # exactly at max is fine only if ramps allow; go well above max within one step and back
    asset(schedule, name)["p_mw"][40] = float(data.max_p[g]) + 1.0
    problems = check_schedule(reprice(schedule, data), data)
    assert any(p.startswith(f"{name} step 40: p_mw above on·max_p_mw") for p in problems), problems
    assert all(p.startswith(name) or p.startswith("balance") for p in problems), problems


def test_thermal_ramp() -> None:
    data = reference("ehv-mixed")
    schedule = trivial("ehv-mixed")
    g = data.thermal_names.index("EHV Gen 1")  # lignite, on at min_p
    assert data.init_on[g]
    extra = float(data.ramp[g]) + 1.0
    asset(schedule, data.thermal_names[g])["p_mw"][10] += extra
    shift_unserved(schedule, 10, extra)
    problems = check_schedule(reprice(schedule, data), data)
    only_about(problems, "EHV Gen 1", "ramp up")
    assert any("step 11: ramp down" in p for p in problems), problems


def test_storage_energy_step() -> None:
    for case in ("hv-mixed", "ehv-mixed"):
        data = reference(case)
        schedule = trivial(case)
        name = data.sto_names[-1]
        asset(schedule, name)["soc_mwh"][30] += 1.0
        problems = check_schedule(schedule, data)
        only_about(problems, name, "energy balance")
        assert any(p.startswith(f"{name} step 30: energy balance") for p in problems), problems


def test_storage_final_level() -> None:
    data = reference("hv-mixed")
    schedule = trivial("hv-mixed")
    name = data.sto_names[0]
    store = asset(schedule, name)
    eta = float(data.sto_eta[0])
    store["discharge_mw"][50] = eta / 0.25  # takes 1 MWh out of the store
    level = float(data.sto_e_init[0])
    for t in range(STEPS):
        level = (
            level * float(data.sto_retention[0])
            + eta * store["charge_mw"][t] * 0.25
            - store["discharge_mw"][t] * 0.25 / eta
        )
        store["soc_mwh"][t] = level
    schedule["market"]["sell_mw"][50] += store["discharge_mw"][50]
    problems = check_schedule(reprice(schedule, data), data)
    assert problems == [problems[0]] and problems[0].startswith(f"{name} step {STEPS - 1}: final soc_mwh"), problems


def test_min_up_violation() -> None:
    data = reference("ehv-mixed")
    schedule = trivial("ehv-mixed")
    g = next(
        i
        for i, kind in enumerate(data.thermal_types)
        if kind == "hard coal" and not data.init_on[i] and data.min_p[i] > 0
    )
    name = data.thermal_names[g]
    unit = asset(schedule, name)
    for t in (20, 21):  # on for 2 steps, min up is 24 steps
        unit["on"][t] = 1
        unit["p_mw"][t] = float(data.min_p[g])
        shift_unserved(schedule, t, float(data.min_p[g]))
    problems = check_schedule(reprice(schedule, data), data)
    only_about(problems, name, "min up time")
    assert any(p.startswith(f"{name} step 22: min up time") and "start at step 20" in p for p in problems), problems


def test_min_down_violation() -> None:
    data = reference("ehv-mixed")
    schedule = trivial("ehv-mixed")
    g = data.thermal_names.index("EHV Gen 1")  # lignite, on, min down 24 steps
    unit = asset(schedule, "EHV Gen 1")
    for t in (5, 6):
        unit["on"][t] = 0
        unit["p_mw"][t] = 0.0
        schedule["unserved_mw"][t] += float(data.min_p[g])
    problems = check_schedule(reprice(schedule, data), data)
    only_about(problems, "EHV Gen 1", "min down time")
    assert any(p.startswith("EHV Gen 1 step 7: min down time") for p in problems), problems


def test_initially_on_unit_may_stop_at_once() -> None:
    data = reference("ehv-mixed")
    schedule = trivial("ehv-mixed")
    g = data.thermal_names.index("EHV Gen 1")
    unit = asset(schedule, "EHV Gen 1")
    unit["on"] = [0] * STEPS
    unit["p_mw"] = [0.0] * STEPS
    for t in range(STEPS):
        schedule["unserved_mw"][t] += float(data.min_p[g])
    assert check_schedule(reprice(schedule, data), data) == []


def test_start_up_cost_counted() -> None:
    data = reference("ehv-mixed")
    schedule = trivial("ehv-mixed")
    g = next(i for i, kind in enumerate(data.thermal_types) if kind == "gas" and not data.init_on[i])
    unit = asset(schedule, data.thermal_names[g])
    before = schedule_cost(schedule, data)
    unit["on"] = [0] * 10 + [1] * (STEPS - 10)
    unit["p_mw"] = [0.0] * 10 + [float(data.min_p[g])] * (STEPS - 10)
    for t in range(10, STEPS):
        shift_unserved(schedule, t, float(data.min_p[g]))
    after = schedule_cost(schedule, data)
    energy = 0.25 * (STEPS - 10) * float(data.min_p[g]) * (float(data.cost[g]) - 3000.0)
    assert after - before == pytest.approx(energy + float(data.start_cost[g]))
    assert check_schedule(reprice(schedule, data), data) == []


def test_balance_break() -> None:
    for case in ("hv-mixed", "ehv-mixed"):
        data = reference(case)
        schedule = trivial(case)
        schedule["unserved_mw"][5] += 1.0
        problems = check_schedule(reprice(schedule, data), data)
        assert len(problems) == 1 and problems[0].startswith("balance step 5:"), problems


def test_balance_tolerance() -> None:
    data = reference("ehv-mixed")
    schedule = trivial("ehv-mixed")
    schedule["unserved_mw"][5] += 0.9 * data.balance_tol_mw
    assert check_schedule(reprice(schedule, data), data) == []


def test_dropped_asset() -> None:
    for case in ("hv-mixed", "ehv-mixed"):
        data = reference(case)
        schedule = trivial(case)
        name = data.load_names[3]
        schedule["assets"] = [a for a in schedule["assets"] if a["id"] != name]
        problems = check_schedule(schedule, data)
        assert problems == [f"{name}: missing asset (load)"], problems


def test_load_not_served_in_full() -> None:
    data = reference("hv-mixed")
    schedule = trivial("hv-mixed")
    name = data.load_names[0]
    asset(schedule, name)["p_mw"][7] += 0.5
    problems = check_schedule(schedule, data)
    only_about(problems, name, "differs from demand")


def test_res_above_available_and_market_limit() -> None:
    data = reference("ehv-mixed")
    schedule = trivial("ehv-mixed")
    r = int(np.argmax(data.res_avail[:, 0]))
    name = data.res_names[r]
    asset(schedule, name)["p_mw"][0] += 5.0
    schedule["unserved_mw"][0] -= 5.0
    problems = check_schedule(reprice(schedule, data), data)
    only_about(problems, name, "above available")

    schedule = trivial("ehv-mixed")
    schedule["market"]["buy_mw"][3] += 10.0
    schedule["unserved_mw"][3] -= 10.0
    problems = check_schedule(reprice(schedule, data), data)
    assert len(problems) == 1 and problems[0].startswith("market buy_mw step 3: above the limit"), problems


def test_wrong_price_and_objective() -> None:
    data = reference("hv-mixed")
    schedule = trivial("hv-mixed")
    schedule["prices_eur_per_mwh"][9] += 1e-4
    schedule["objective_eur"] += 1.0
    problems = check_schedule(schedule, data)
    assert len(problems) == 2
    assert problems[0].startswith("prices_eur_per_mwh step 9:")
    assert problems[1].startswith("objective_eur:")


# ---------------------------------------------------------------------------------------------------------------------
# merit-order price
# ---------------------------------------------------------------------------------------------------------------------


def test_price_zero_without_residual_load() -> None:
    prices = price_for_residual(np.array([-1000.0, -1e-9, 0.0, 1e-9, 1e9]))
    costs = sorted(row.cost_eur_per_mwh for row in COST_TABLE.values())
    assert prices[0] == prices[1] == prices[2] == 0.0
    assert prices[3] == pytest.approx(costs[0])  # waste, the cheapest
    assert prices[4] == pytest.approx(costs[-1])  # fleet cannot cover: oil, the most expensive


def test_price_matches_brute_force() -> None:
    ehv = reference("ehv-mixed")
    order = np.argsort(ehv.cost, kind="stable")
    residual = residual_load(ehv.start_step, STEPS)
    for t in range(0, STEPS, 7):
        covered = 0.0
        price = float(ehv.cost[order[-1]])
        for g in order:
            covered += float(ehv.max_p[g])
            if covered >= residual[t]:
                price = float(ehv.cost[g])
                break
        assert ehv.price[t] == pytest.approx(price)
    assert np.allclose(residual, ehv.total_demand - ehv.res_avail.sum(axis=0))


def test_price_monotone_in_residual_load() -> None:
    prices = merit_order_price(0, STEPS_PER_YEAR)
    order = np.argsort(residual_load(0, STEPS_PER_YEAR), kind="stable")
    assert np.all(np.diff(prices[order]) >= 0)
    assert set(np.unique(prices)) <= {0.0} | {row.cost_eur_per_mwh for row in COST_TABLE.values()}
