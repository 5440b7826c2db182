"""Intraday re-dispatch on a kept model: the same model as a fresh build, the same answer as a fresh solve."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pytest

from enertwin.kg.errors import InputError
from enertwin.kg.importers.simbench import grid_node
from enertwin.kg.store import Store
from enertwin.reasoning.cpsat_model import build_model, scaling_for
from enertwin.reasoning.intraday import IntradayDispatcher
from enertwin.reasoning.model_update import build_kept, update_model
from enertwin.reasoning.portfolio_reader import read_problem
from enertwin.reasoning.problem import DispatchProblem
from enertwin.reasoning.rolling import carry_state, head, window_problem
from enertwin.reasoning.schedule import Schedule, to_output
from enertwin.reasoning.solver import DispatchResult, SolverSettings, solve

from . import reference_dispatch as ref

HV, EHV = "1-HV-mixed--2-sw", "1-EHV-mixed--2-sw"
START = datetime(2016, 1, 14)
SETTINGS = SolverSettings(workers=2, seed=1)


@dataclass(frozen=True, eq=False)
class CarriedReference(ref.ReferenceData):
    """The reference data of one interval, starting from the state the interval before left."""

    carried_energy: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def sto_e_init(self) -> np.ndarray:
        """e(−1): the energy actually stored (the end rule asks for at least as much, see ``advance``)."""
        return self.carried_energy


def advance(problem: DispatchProblem, schedule: Schedule) -> DispatchProblem:
    """The state after the first step of ``schedule`` was carried out; stores must end as they start."""
    state = carry_state(problem, head(schedule, 1))
    storage = tuple(dataclasses.replace(s, end_mwh=s.start_mwh) for s in state.storage)
    return dataclasses.replace(state, storage=storage)


def reference_of(problem: DispatchProblem, code: str, first: int) -> CarriedReference:
    """The checker's data for ``problem``, whose horizon begins ``first`` steps after START."""
    start = (START + timedelta(minutes=15 * first)).isoformat(timespec="minutes")
    data = ref.load_reference(code, start, problem.steps)
    units = {u.name: u for u in problem.thermal}
    init_on = np.array([units[name].initial_on for name in data.thermal_names], dtype=bool)
    init_p = np.array([units[name].initial_p for name in data.thermal_names])
    stores = {s.name: s for s in problem.storage}
    energy = np.array([stores[name].initial_mwh for name in data.sto_names])
    fields = {f.name: getattr(data, f.name) for f in dataclasses.fields(ref.ReferenceData)}
    fields.update(init_on=init_on, init_p=init_p)
    return CarriedReference(**fields, carried_energy=energy)


def assert_correct(result: DispatchResult, fresh: DispatchResult, data: ref.ReferenceData) -> None:
    """Feasible by the independent checker, held states kept, and as good as a fresh solve within the gap."""
    assert result.schedule is not None and result.objective_eur is not None and result.best_bound_eur is not None
    document = to_output(result.problem, result.schedule, {"objective_eur": result.objective_eur})
    assert ref.check_schedule(document, data) == []
    for i, unit in enumerate(result.problem.thermal):
        assert np.all(result.schedule.thermal_on[i, : unit.held_steps] == int(unit.initial_on)), unit.name
    assert fresh.objective_eur is not None and fresh.best_bound_eur is not None
    allowed = max(SETTINGS.absolute_gap, SETTINGS.relative_gap * abs(fresh.objective_eur))
    assert result.objective_eur - fresh.best_bound_eur <= allowed
    assert fresh.objective_eur - result.best_bound_eur <= allowed
    assert result.gap_eur is not None and 0 <= result.gap_eur <= allowed


def proto_parts(problem: DispatchProblem, proto: object) -> tuple[list[list[int]], list[str], dict[int, int]]:
    """Variable domains, constraints and objective of a model, in a form to compare."""
    domains = [list(v.domain) for v in proto.variables]  # type: ignore[attr-defined]
    constraints = [str(c) for c in proto.constraints]  # type: ignore[attr-defined]
    objective = proto.objective  # type: ignore[attr-defined]
    return domains, constraints, {v: c for v, c in zip(objective.vars, objective.coeffs, strict=True) if c}


@pytest.fixture(scope="module")
def ehv_day(grids: Store) -> DispatchProblem:
    return read_problem(grids, grid_node(EHV).value, EHV, START, 40)


@pytest.mark.parametrize("outward", [False, True])
def test_an_updated_model_is_the_model_a_fresh_build_makes(ehv_day: DispatchProblem, outward: bool) -> None:
    first = window_problem(ehv_day, ehv_day, 0, 12)
    scaling = scaling_for(first).widened() if outward else scaling_for(first)
    kept, _ = build_kept(first, scaling)
    # a later interval: other data, units switched and held, outputs off their minimum, stores elsewhere
    moved = window_problem(ehv_day, ehv_day, 7, 12)
    thermal = tuple(
        dataclasses.replace(
            u,
            initial_on=not u.initial_on if i % 3 == 0 else u.initial_on,
            initial_output=(u.min_p + 0.37 * (u.max_p - u.min_p)) if (i % 3 == 0) != u.initial_on else 0.0,
            held_steps=min(i % 5, max(0, u.min_up_steps - 1, u.min_down_steps - 1)),
        )
        for i, u in enumerate(moved.thermal)
    )
    storage = tuple(
        dataclasses.replace(s, start_mwh=0.2 * s.capacity_mwh, end_mwh=0.3 * s.capacity_mwh) for s in moved.storage
    )
    moved = dataclasses.replace(moved, thermal=thermal, storage=storage)
    update_model(kept, moved)
    # the builder holds a state by equalities; the kept model by fixed domains (the same restriction)
    free = dataclasses.replace(moved, thermal=tuple(dataclasses.replace(u, held_steps=0) for u in moved.thermal))
    fresh = build_model(free, dataclasses.replace(scaling_for(moved), outward=outward))
    domains, constraints, objective = proto_parts(moved, fresh.model.proto)
    for tv, unit in zip(fresh.thermal, moved.thermal, strict=True):
        for on in tv.on[: unit.held_steps]:
            domains[on.index] = [int(unit.initial_on)] * 2
    assert any(u.held_steps for u in moved.thermal)
    assert proto_parts(moved, kept.model.proto) == (domains, constraints, objective)
    assert kept.demand == fresh.demand and kept.scaling == fresh.scaling


def test_hv_redispatch_matches_a_fresh_solve_interval_by_interval(grids: Store) -> None:
    full = read_problem(grids, grid_node(HV).value, HV, START, 96 + 3)
    problem = window_problem(full, full, 0, 96)
    dispatcher = IntradayDispatcher(problem, SETTINGS)
    for first in range(3):
        result = dispatcher.redispatch(problem)
        assert result.status == "OPTIMAL"
        assert_correct(result, solve(problem, SETTINGS), reference_of(problem, HV, first))
        assert result.schedule is not None
        problem = window_problem(full, advance(problem, result.schedule), first + 1, 96)
    assert problem.storage[0].start_mwh != full.storage[0].initial_mwh


def test_ehv_redispatch_carries_commitments_and_running_minimum_times(ehv_day: DispatchProblem) -> None:
    problem = window_problem(ehv_day, ehv_day, 0, 16)
    dispatcher = IntradayDispatcher(problem, SETTINGS)
    held = 0
    for first in range(3):
        result = dispatcher.redispatch(problem)
        assert_correct(result, solve(problem, SETTINGS), reference_of(problem, EHV, first))
        assert result.schedule is not None
        problem = window_problem(ehv_day, advance(problem, result.schedule), first + 1, 16)
        held += sum(u.held_steps for u in problem.thermal)
    assert held > 0  # some unit switched and is inside its minimum up or down time


def test_a_kept_model_refuses_another_horizon_or_portfolio(grids: Store, ehv_day: DispatchProblem) -> None:
    problem = read_problem(grids, grid_node(HV).value, HV, START, 8)
    dispatcher = IntradayDispatcher(problem, SETTINGS)
    with pytest.raises(InputError, match=re.escape("9 steps of 0.25 h instead of 8")):
        dispatcher.redispatch(read_problem(grids, grid_node(HV).value, HV, START, 9))
    with pytest.raises(InputError, match="other thermal assets"):
        dispatcher.redispatch(window_problem(ehv_day, ehv_day, 0, 8))


def test_a_held_state_counts_down_across_intervals_without_a_switch(ehv_day: DispatchProblem) -> None:
    unit = dataclasses.replace(ehv_day.thermal[0], initial_on=True, held_steps=5)
    state = dataclasses.replace(ehv_day, thermal=(unit, *ehv_day.thermal[1:]))
    steps = ehv_day.steps
    on = np.ones((len(state.thermal), steps), dtype=np.int8)
    zeros = np.zeros((len(state.thermal), steps))
    empty = np.zeros((len(state.storage), steps))
    kept = Schedule(zeros, on, np.zeros((len(state.renewables), steps)), empty, empty, empty, *([np.zeros(steps)] * 3))
    assert carry_state(state, head(kept, 2)).thermal[0].held_steps == 3
    assert carry_state(state, head(kept, 7)).thermal[0].held_steps == 0
