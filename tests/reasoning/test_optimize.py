"""`enertwin optimize` end to end, judged by the independent reference (reference_dispatch.py).

One on-disk store with both SimBench grids is imported once for the module; every (case, start, steps) is solved
at most once and its run shared by the tests that look at it (the EHV day of 96 steps takes ~30 s).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pytest
from pydantic import ValidationError as PydanticValidationError
from pyoxigraph import NamedNode

from enertwin import Twin
from enertwin.kg.errors import InputError
from enertwin.kg.importers.simbench import grid_node, resolve_code
from enertwin.kg.store import Store, default_cost_table
from enertwin.reasoning.dispatch import DispatchRun, optimize
from enertwin.reasoning.portfolio_reader import DEFAULT_COST_MODEL, read_problem, reference_grids
from enertwin.reasoning.solver import SolverSettings

from . import reference_dispatch as ref

HV = "1-HV-mixed--2-sw"
EHV = "1-EHV-mixed--2-sw"
EHV_DAY_OPTIMUM_EUR = 24_929_643.94  # proven by HiGHS (bench/reference_highs.py), ehv-mixed 2016-01-14, 96 steps
PREFIXES = """PREFIX et: <https://w3id.org/enertwin/ontology#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
"""


@dataclass(frozen=True)
class Case:
    name: str  # short name or SimBench code, as a user gives it
    start: str
    steps: int

    @property
    def code(self) -> str:
        return ref.resolve_code(self.name)

    def __str__(self) -> str:
        return f"{self.name}@{self.start}x{self.steps}"


HV_DAY = Case("hv-mixed", "2016-01-14T00:00", 96)
HV_SUMMER = Case("hv-mixed", "2016-07-01T00:00", 96)  # summer time: row 17,468, labelled 01.07.2016 00:00
HV_SPRING_NIGHT = Case("hv-mixed", "2016-03-26T12:00", 96)  # across 27 March: no rows labelled 02:00-02:45
HV_AUTUMN_NIGHT = Case("hv-mixed", "2016-10-29T18:00", 96)  # across 30 October: 02:00-02:45 labelled twice
HV_SECOND_TWO = Case("hv-mixed", "2016-10-30T02:00+01:00", 16)  # the second 02:00 of 30 October, by its offset
HV_AUTUMN = Case("hv-mixed", "2016-10-03T12:00", 96)
EHV_DAY = Case("ehv-mixed", "2016-01-14T00:00", 96)
EHV_SPRING = Case("ehv-mixed", "2016-04-20T06:00", 32)
CASES = [HV_DAY, HV_SUMMER, HV_AUTUMN, HV_SPRING_NIGHT, HV_AUTUMN_NIGHT, HV_SECOND_TWO, EHV_DAY, EHV_SPRING]


@dataclass(frozen=True)
class Solved:
    run: DispatchRun
    doc: dict
    data: ref.ReferenceData


# ---------------------------------------------------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kg(grids: Store) -> Store:
    """The session's store with hv-mixed and ehv-mixed (tests that change its cost model restore it)."""
    return grids


@pytest.fixture(scope="module")
def solved(kg: Store) -> Callable[[Case], Solved]:
    """Solve a case with default settings once; later calls return the same run."""
    runs: dict[Case, Solved] = {}

    def solve(case: Case) -> Solved:
        if case not in runs:
            run = optimize(kg, grid_node(case.code).value, case.code, datetime.fromisoformat(case.start), case.steps)
            runs[case] = Solved(run, run.output(), reference(case))
        return runs[case]

    return solve


_references: dict[Case, ref.ReferenceData] = {}


def reference(case: Case) -> ref.ReferenceData:
    if case not in _references:
        _references[case] = ref.load_reference(case.name, case.start, case.steps)
    return _references[case]


def decisions(store: Store) -> int:
    rows = store.query(PREFIXES + "SELECT (COUNT(?d) AS ?n) WHERE { ?d a et:Decision }")
    return int(next(iter(rows))["n"].value)


# ---------------------------------------------------------------------------------------------------------------------
# schedules pass the independent checker
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=str)
def test_schedule_is_feasible_and_costed_right(solved: Callable[[Case], Solved], case: Case) -> None:
    s = solved(case)
    doc, data = s.doc, s.data
    assert doc["status"] in ("OPTIMAL", "FEASIBLE"), doc["status"]
    assert doc["case"] == case.code
    assert doc["step_hours"] == 0.25
    assert datetime.fromisoformat(doc["start"]) == data.start  # an instant, with its offset
    assert ref.check_schedule(doc, data) == []
    cost = ref.schedule_cost(doc, data)
    objective, bound = doc["objective_eur"], doc["best_bound_eur"]
    assert objective == pytest.approx(cost, rel=1e-6, abs=0.01)
    assert bound <= objective
    if case.name == "hv-mixed":
        assert (objective - bound) / abs(objective) <= 1e-4, (objective, bound)
    assert len(doc["assets"]) == (
        len(data.thermal_names) + len(data.res_names) + len(data.sto_names) + len(data.load_names)
    )


def test_ehv_day_reaches_the_proven_optimum(solved: Callable[[Case], Solved]) -> None:
    doc = solved(EHV_DAY).doc
    assert doc["objective_eur"] == pytest.approx(EHV_DAY_OPTIMUM_EUR, rel=1e-3)
    # a lower bound above the proven optimum would be wrong
    assert doc["best_bound_eur"] <= EHV_DAY_OPTIMUM_EUR * (1 + 1e-6)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_prices_are_the_merit_order_price(solved: Callable[[Case], Solved], case: Case) -> None:
    s = solved(case)
    expected = ref.merit_order_price(s.data.start_step, case.steps)
    assert np.allclose(s.doc["prices_eur_per_mwh"], expected, rtol=0, atol=1e-6)
    assert np.array_equal(s.data.price, expected)


def test_hv_and_ehv_share_the_price(solved: Callable[[Case], Solved]) -> None:
    assert solved(HV_DAY).doc["prices_eur_per_mwh"] == solved(EHV_DAY).doc["prices_eur_per_mwh"]


def test_last_step_of_the_profiles(kg: Store) -> None:
    """The horizon may end exactly where the profiles end."""
    case = Case("hv-mixed", "2016-12-31T23:45", 1)
    run = optimize(kg, grid_node(HV).value, HV, datetime.fromisoformat(case.start), 1)
    doc = run.output()
    data = reference(case)
    assert data.start_step == ref.STEPS_PER_YEAR - 1
    assert ref.check_schedule(doc, data) == []


# ---------------------------------------------------------------------------------------------------------------------
# the decision is stored: graph and DuckDB
# ---------------------------------------------------------------------------------------------------------------------


def _decision_facts(store: Store, schedule: NamedNode) -> dict[str, object]:
    query = (
        PREFIXES
        + f"""SELECT ?decision ?status ?objective ?bound ?grid ?steps WHERE {{
  {schedule} a et:Schedule ; prov:wasGeneratedBy ?decision .
  ?decision a et:Decision ; et:solverStatus ?status ; et:objectiveValue ?objective ; et:bestBound ?bound ;
            et:dispatchedGrid ?grid ; et:stepCount ?steps .
}}"""
    )
    rows = list(store.query(query))
    assert len(rows) == 1, rows
    row = rows[0]
    return {
        "decision": row["decision"],
        "status": row["status"].value,
        "objective": float(row["objective"].value),
        "bound": float(row["bound"].value),
        "grid": row["grid"].value,
        "steps": int(row["steps"].value),
    }


def _series_key(store: Store, schedule: NamedNode, asset_iri: str | None, quantity: str) -> str:
    """The DuckDB key of the schedule's series of ``quantity`` for an asset (None: the portfolio's, e.g. buy_mw)."""
    asset = f"et:forAsset {NamedNode(asset_iri)}" if asset_iri else "FILTER NOT EXISTS { ?series et:forAsset ?any }"
    query = (
        PREFIXES
        + f"""SELECT ?key WHERE {{
  {schedule} et:hasSeries ?series .
  ?series a et:ScheduleSeries ; et:scheduledQuantity ?quantity ; et:seriesKey ?key .
  {"?series " + asset + " ." if asset_iri else asset}
  FILTER(STR(?quantity) = "{quantity}")
}}"""
    )
    keys = [str(r["key"].value) for r in store.query(query)]
    assert len(keys) == 1, (asset_iri, quantity, keys)
    return keys[0]


@pytest.mark.parametrize("case", [HV_DAY, EHV_SPRING], ids=str)
def test_decision_is_in_the_graph(kg: Store, solved: Callable[[Case], Solved], case: Case) -> None:
    s = solved(case)
    record = s.run.record
    assert s.doc["decision"] == record.schedule.value
    assert kg.has_graph(record.graph)
    facts = _decision_facts(kg, record.schedule)
    assert facts["decision"] == record.decision
    assert facts["status"] == s.doc["status"]
    assert facts["objective"] == s.doc["objective_eur"]
    assert facts["bound"] == s.doc["best_bound_eur"]
    assert facts["grid"] == grid_node(case.code).value
    assert facts["steps"] == case.steps
    used = PREFIXES + f"ASK {{ {record.decision} prov:used {NamedNode(DEFAULT_COST_MODEL)} }}"
    assert kg.ask(used)


def test_stored_series_equal_the_json(kg: Store, solved: Callable[[Case], Solved]) -> None:
    s = solved(EHV_SPRING)
    schedule = s.run.record.schedule
    assets = {a["id"]: a for a in s.doc["assets"]}
    # a thermal unit whose output moves, and a storage that is used
    thermal = next(
        a for a in s.doc["assets"] if a["kind"] == "thermal" and sum(a["on"]) > 0 and len(set(a["p_mw"])) > 1
    )
    storage = max(
        (a for a in s.doc["assets"] if a["kind"] == "storage"),
        key=lambda a: sum(a["charge_mw"]) + sum(a["discharge_mw"]),
    )
    checked = [
        (thermal, "p_mw", "p_mw"),
        (thermal, "on", "on"),
        (storage, "charge_mw", "charge_mw"),
        (storage, "discharge_mw", "discharge_mw"),
        (storage, "soc_mwh", "soc_mwh"),
    ]
    for asset, quantity, field in checked:
        key = _series_key(kg, schedule, asset["iri"], quantity)
        assert key.startswith(s.run.record.series_prefix)
        stored = kg.series.read(key)
        assert stored.shape == (EHV_SPRING.steps,)
        assert np.allclose(stored, assets[asset["id"]][field], rtol=0, atol=1e-6), (asset["id"], quantity)
    for quantity, values in (
        ("buy_mw", s.doc["market"]["buy_mw"]),
        ("sell_mw", s.doc["market"]["sell_mw"]),
        ("unserved_mw", s.doc["unserved_mw"]),
        ("price_eur_per_mwh", s.doc["prices_eur_per_mwh"]),
    ):
        key = _series_key(kg, schedule, None, quantity)
        assert np.allclose(kg.series.read(key), values, rtol=0, atol=1e-6), quantity


# ---------------------------------------------------------------------------------------------------------------------
# bad options: clear InputErrors, nothing stored
# ---------------------------------------------------------------------------------------------------------------------


def test_unknown_case() -> None:
    with pytest.raises(InputError, match="unknown SimBench code 'nope'"):
        resolve_code("nope")
    assert resolve_code("hv-mixed") == HV
    assert resolve_code(EHV) == EHV


@pytest.mark.parametrize(
    ("start", "steps", "words"),
    [
        (datetime(2017, 6, 1), 96, "outside the profiles"),
        (datetime(2015, 12, 31), 96, "outside the profiles"),
        (datetime(2015, 12, 31, 23, 45), 4, "outside the profiles"),  # starts one step early, ends inside
        (datetime(2016, 12, 31, 0, 0), 200, "outside the profiles"),  # runs past the end
        (datetime(2016, 12, 31, 23, 45), 2, "outside the profiles"),
        (datetime(2016, 1, 14, 0, 7), 96, "not on a 15-minute step"),
        (datetime(2016, 1, 14, 0, 0, 30), 96, "not on a 15-minute step"),
        (datetime(2016, 1, 14), 0, "steps must be a positive"),
        (datetime(2016, 1, 14), -4, "steps must be a positive"),
        (datetime(2016, 3, 27, 2, 0), 4, "does not exist in Europe/Berlin"),  # the clocks skip 02:00-02:59
        (datetime(2016, 10, 30, 2, 30), 4, "happens twice in Europe/Berlin"),  # the clocks show it twice
    ],
    ids=[
        "after-2016",
        "before-2016",
        "one-step-early",
        "past-the-end",
        "one-step-past-the-end",
        "off-step-minutes",
        "off-step-seconds",
        "zero-steps",
        "negative-steps",
        "spring-gap",
        "autumn-twice",
    ],
)
def test_bad_horizon(kg: Store, start: datetime, steps: int, words: str) -> None:
    before = decisions(kg)
    grid = grid_node(HV).value
    with pytest.raises(InputError, match=words) as caught:
        optimize(kg, grid, HV, start, steps)
    message = str(caught.value)
    if "outside" in words:
        assert start.isoformat(timespec="minutes") in message and str(steps) in message
        assert "2016-01-01T00:00+01:00" in message and "2016-12-31T23:45+01:00" in message
    if "15-minute" in words:
        assert start.isoformat() in message
    if "positive" in words:
        assert str(steps) in message
    with pytest.raises(InputError, match=words):
        read_problem(kg, grid, HV, start, steps)
    assert decisions(kg) == before


def test_unknown_cost_model(kg: Store) -> None:
    before = decisions(kg)
    wanted = "https://example.org/costs/none"
    with pytest.raises(InputError, match=re.escape(f"no cost model <{wanted}>")) as caught:
        optimize(kg, grid_node(HV).value, HV, datetime(2016, 1, 14), 96, cost_model=wanted)
    assert DEFAULT_COST_MODEL in str(caught.value)  # names the ones there are
    assert decisions(kg) == before


def test_unknown_grid(kg: Store) -> None:
    with pytest.raises(InputError, match=re.escape("no grid <https://example.org/grid/none>")):
        optimize(kg, "https://example.org/grid/none", "x", datetime(2016, 1, 14), 96)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"time_limit": -1.0}, "time_limit"),
        ({"time_limit": 0.0}, "time_limit"),
        ({"relative_gap": 1.0}, "relative_gap"),
        ({"relative_gap": 1.5}, "relative_gap"),
        ({"relative_gap": -0.1}, "relative_gap"),
        ({"workers": -1}, "workers"),
        ({"seed": -1}, "seed"),
        ({"deterministic_time": 0.0}, "deterministic_time"),
        ({"no_such_option": 1}, "no_such_option"),
    ],
    ids=lambda v: v if isinstance(v, str) else next(iter(v)),
)
def test_solver_settings_reject_bad_values(options: dict, field: str) -> None:
    with pytest.raises(PydanticValidationError) as caught:
        SolverSettings(**options)
    assert [e["loc"] for e in caught.value.errors()] == [(field,)]
    SolverSettings(time_limit=0.5, relative_gap=0.0, workers=1, seed=3, deterministic_time=1.0)


# ---------------------------------------------------------------------------------------------------------------------
# costs are graph data
# ---------------------------------------------------------------------------------------------------------------------

NEW_SPREAD = 5.0
NEW_HARD_COAL_MARGINAL = 40.0  # 40 + 6·0.85 = 45.1 €/MWh: now dearer than the imports (45), the merit order changes


def _edited_cost_table() -> bytes:
    text = default_cost_table().decode("utf-8")
    for old, new in (
        ('et:marketSpread "2.0"', f'et:marketSpread "{NEW_SPREAD}"'),
        ('et:marginalCost "32.0"', f'et:marginalCost "{NEW_HARD_COAL_MARGINAL}"'),  # hard coal
    ):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text.encode("utf-8")


@pytest.fixture
def edited_costs(kg: Store, solved: Callable[[Case], Solved], monkeypatch: pytest.MonkeyPatch) -> Iterator[Solved]:
    """The store's cost model with a higher spread and dearer hard coal, the checker told the same; yields the run
    of HV_DAY under the reference costs (solved before the change)."""
    before = solved(HV_DAY)
    Twin(kg).load_costs(_edited_cost_table(), "the edited cost table")
    row = ref.COST_TABLE["hard coal"]
    monkeypatch.setattr(ref, "MARKET_SPREAD_EUR_PER_MWH", NEW_SPREAD)
    monkeypatch.setitem(
        ref.COST_TABLE,
        "hard coal",
        ref.CostRow(
            NEW_HARD_COAL_MARGINAL,
            row.tco2_per_mwh,
            row.start_eur_per_mw,
            row.ramp_share_per_step,
            row.min_up_h,
            row.min_down_h,
        ),
    )
    ref._price_fleet.cache_clear()
    try:
        yield before
    finally:
        Twin(kg).load_costs(default_cost_table(), "the shipped cost table")
        ref._price_fleet.cache_clear()


def test_changed_costs_change_problem_and_objective(kg: Store, edited_costs: Solved) -> None:
    case, old = HV_DAY, edited_costs
    start = datetime.fromisoformat(case.start)

    # the problem read from the graph follows the new data
    problem = read_problem(kg, grid_node(HV).value, HV, start, case.steps)
    assert problem.market.spread == NEW_SPREAD
    new_price = ref.merit_order_price(old.data.start_step, case.steps)
    assert not np.array_equal(new_price, old.data.price)
    assert np.allclose(problem.market.price, new_price, rtol=0, atol=1e-9)
    assert np.allclose(problem.market.buy_price - problem.market.sell_price, 2 * NEW_SPREAD)
    ehv = read_problem(kg, grid_node(EHV).value, EHV, start, 1)
    coal = [u for u in ehv.thermal if u.costs.fuel_code == "hard coal"]
    assert coal
    assert all(u.costs.cost_per_mwh == pytest.approx(NEW_HARD_COAL_MARGINAL + 6.0 * 0.85) for u in coal)

    # the optimum follows too, and each schedule is optimal only under its own costs
    run = optimize(kg, grid_node(HV).value, HV, start, case.steps)
    doc = run.output()
    new_data = ref.load_reference(case.name, case.start, case.steps)
    assert np.array_equal(new_data.price, new_price)
    assert ref.check_schedule(doc, new_data) == []
    new_objective = doc["objective_eur"]
    assert new_objective == pytest.approx(ref.schedule_cost(doc, new_data), rel=1e-6)
    old_objective = old.doc["objective_eur"]
    assert not math.isclose(new_objective, old_objective, rel_tol=1e-3)
    slack = 1e-4
    assert ref.schedule_cost(old.doc, new_data) >= new_objective - slack * abs(new_objective)
    assert ref.schedule_cost(doc, old.data) >= old_objective - slack * abs(old_objective)


def test_reference_grids_name_the_price_grid(kg: Store) -> None:
    assert reference_grids(kg) == [grid_node(EHV).value]
