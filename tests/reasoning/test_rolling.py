"""Rolling windows: one schedule for the whole horizon, feasible by the reference rules."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from enertwin.kg.errors import InputError
from enertwin.kg.importers.simbench import grid_node
from enertwin.kg.store import Store
from enertwin.reasoning.dispatch import optimize
from enertwin.reasoning.portfolio_reader import read_problem
from enertwin.reasoning.rolling import solve_rolling

from . import reference_dispatch as ref

HV, EHV = "1-HV-mixed--2-sw", "1-EHV-mixed--2-sw"


def test_hv_two_days_in_windows_match_the_whole_horizon(grids: Store) -> None:
    whole = optimize(grids, grid_node(HV).value, HV, datetime(2016, 3, 1), 192, window=192)
    rolled = optimize(grids, grid_node(HV).value, HV, datetime(2016, 3, 1), 192, window=96, overlap=32)
    data = ref.load_reference(HV, "2016-03-01T00:00", 192)
    document = rolled.output()
    assert ref.check_schedule(document, data) == []
    assert document["objective_eur"] == pytest.approx(ref.schedule_cost(document, data), rel=1e-9)
    assert whole.result.best_bound_eur is not None and rolled.result.objective_eur is not None
    assert rolled.result.objective_eur - whole.result.best_bound_eur <= 0.005 * abs(whole.result.best_bound_eur)
    assert rolled.result.status == "FEASIBLE" and rolled.result.best_bound_eur is None


def test_ehv_windows_carry_minimum_up_and_down_times(grids: Store) -> None:
    # lignite must stay on 8 h (32 steps) and off 6 h: windows of 24 steps cut through both
    run = optimize(grids, grid_node(EHV).value, EHV, datetime(2016, 1, 14), 64, window=24, overlap=8)
    data = ref.load_reference(EHV, "2016-01-14T00:00", 64)
    document = run.output()
    assert ref.check_schedule(document, data) == []
    assert document["objective_eur"] == pytest.approx(ref.schedule_cost(document, data), rel=1e-9)
    schedule = run.result.schedule
    assert schedule is not None and schedule.thermal_on.shape == (338, 64)


def test_overlap_must_be_shorter_than_the_window(grids: Store) -> None:
    problem = read_problem(grids, grid_node(HV).value, HV, datetime(2016, 1, 14), 48)
    with pytest.raises(
        InputError, match=re.escape("overlap (24 steps) must be at least 0 and shorter than the window (24)")
    ):
        solve_rolling(problem, window=24, overlap=24)
