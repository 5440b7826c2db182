"""`enertwin explain`: marginal prices and reasons, every reason traced to facts in the graph."""

from __future__ import annotations

import re
from datetime import datetime

import numpy as np
import pytest
from pyoxigraph import NamedNode

from enertwin.kg.errors import InputError
from enertwin.kg.importers.simbench import grid_node
from enertwin.kg.store import Store
from enertwin.reasoning.dispatch import DispatchRun, optimize
from enertwin.reasoning.explain import Explanation, explain

HV, EHV = "1-HV-mixed--2-sw", "1-EHV-mixed--2-sw"
FACT = re.compile(r"^<([^>]+)> et:(\w+)$")


@pytest.fixture(scope="module")
def hv_run(grids: Store) -> DispatchRun:
    return optimize(grids, grid_node(HV).value, HV, datetime(2016, 1, 14), 24)


@pytest.fixture(scope="module")
def ehv_run(grids: Store) -> DispatchRun:
    return optimize(grids, grid_node(EHV).value, EHV, datetime(2016, 1, 14, 6), 16)


@pytest.fixture(scope="module")
def ehv_explained(grids: Store, ehv_run: DispatchRun) -> Explanation:
    return explain(grids, ehv_run.record.schedule.value)


def test_hv_sells_its_surplus_so_the_sell_price_is_marginal(grids: Store, hv_run: DispatchRun) -> None:
    explanation = explain(grids, hv_run.record.schedule.value)
    market = explanation.problem.market
    assert hv_run.result.schedule is not None and np.all(hv_run.result.schedule.sell > 0)
    assert np.allclose(explanation.marginal_price, market.sell_price, atol=1e-6)
    assert {r.code for r in explanation.reasons if r.name == "market"} == {"market_sets_price"}


def test_decision_and_schedule_iris_explain_the_same(grids: Store, hv_run: DispatchRun) -> None:
    by_schedule = explain(grids, hv_run.record.schedule.value)
    by_decision = explain(grids, hv_run.record.decision.value)
    assert by_schedule.reasons == by_decision.reasons


def test_every_fact_a_reason_names_is_in_the_graph(grids: Store, ehv_explained: Explanation) -> None:
    facts = {fact for reason in ehv_explained.reasons for fact in reason.facts}
    assert facts
    for fact in sorted(facts):
        match = FACT.match(fact)
        assert match, fact
        iri, prop = match.groups()
        query = "PREFIX et: <https://w3id.org/enertwin/ontology#> ASK { ?s ?p ?o }"
        bindings = {"s": NamedNode(iri), "p": NamedNode(f"https://w3id.org/enertwin/ontology#{prop}")}
        assert grids.ask(query, bindings), f"{fact} is not in the graph"


def test_thermal_reasons_agree_with_the_schedule_and_the_price(
    ehv_explained: Explanation, ehv_run: DispatchRun
) -> None:
    problem, schedule = ehv_explained.problem, ehv_run.result.schedule
    assert schedule is not None
    index = {unit.iri: i for i, unit in enumerate(problem.thermal)}
    seen = set()
    for reason in ehv_explained.reasons:
        if reason.asset not in index:
            continue
        i, t = index[reason.asset], reason.step
        unit, price = problem.thermal[i], ehv_explained.marginal_price[t]
        p, on = schedule.thermal_p[i, t], schedule.thermal_on[i, t]
        seen.add(reason.code)
        if reason.code == "at_capacity":
            assert on and p == pytest.approx(unit.max_p, abs=1e-3) and unit.costs.cost_per_mwh <= price + 0.01
        elif reason.code == "too_expensive":
            assert not on and unit.costs.cost_per_mwh >= price - 0.01
        elif reason.code == "marginal":
            assert on and abs(unit.costs.cost_per_mwh - price) <= 0.01
        elif reason.code in ("avoids_restart", "min_up"):
            assert on and p == pytest.approx(unit.min_p, abs=1e-3) and unit.costs.cost_per_mwh > price
    assert {"at_capacity", "too_expensive"} <= seen
    assert len([r for r in ehv_explained.reasons if r.asset in index]) == len(problem.thermal) * problem.steps


def test_marginal_prices_lie_between_the_market_prices(ehv_explained: Explanation) -> None:
    market = ehv_explained.problem.market
    assert np.all(ehv_explained.marginal_price >= market.sell_price - 1e-6)
    costs = [u.costs.cost_per_mwh for u in ehv_explained.problem.thermal] + [ehv_explained.problem.value_of_lost_load]
    assert np.all(ehv_explained.marginal_price <= max(costs) + 1e-6)


def test_as_dict_has_one_entry_per_step(ehv_explained: Explanation) -> None:
    document = ehv_explained.as_dict()
    assert [s["step"] for s in document["steps"]] == list(range(16))  # type: ignore[index]
    assert document["steps"][0]["time"] == "2016-01-14T06:00+01:00"  # type: ignore[index]


def test_unknown_decision_is_bad_input(grids: Store) -> None:
    with pytest.raises(InputError, match=re.escape("no dispatch decision or schedule <https://example.org/nope>")):
        explain(grids, "https://example.org/nope")
