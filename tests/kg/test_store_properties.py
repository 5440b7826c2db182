"""Property tests: random valid edits are accepted, random invalid ones are rejected whole."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyoxigraph import Literal, NamedNode, Quad

from enertwin.kg import namespaces as ns
from enertwin.kg.errors import ValidationError
from enertwin.kg.store import Store

DATA = Path(__file__).resolve().parent.parent / "data"
PORTFOLIO = NamedNode(ns.GRAPH_BASE + "test/portfolio")
THERMAL = NamedNode(ns.ID_BASE + "test/thermal-1")
STORAGE = NamedNode(ns.ID_BASE + "test/storage-1")
VALUE = "SELECT ?s ?p ?v WHERE { ?s ?p ?v }"


@pytest.fixture(scope="module")
def portfolio_store() -> Store:
    store = Store.open(None)
    store.series.replace(pd.DataFrame({"profile/PV1": np.zeros(4)}), "profile/")
    store.series.replace(pd.DataFrame({"prices/day-ahead": np.zeros(4)}), "prices/")
    store.replace_graph(PORTFOLIO, (DATA / "good_portfolio.ttl").read_bytes())
    return store


def _stored(store: Store, subject: NamedNode, prop: NamedNode) -> Quad:
    [row] = list(store.query(VALUE, {"s": subject, "p": prop}))
    return Quad(subject, prop, row["v"])  # type: ignore[arg-type]


def _double(value: float) -> Literal:
    return Literal(repr(value), datatype=ns.XSD_DOUBLE)


def _set(store: Store, subject: NamedNode, prop: NamedNode, value: float) -> None:
    store.change(PORTFOLIO, remove=[_stored(store, subject, prop)], add=[Quad(subject, prop, _double(value))])


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
settings_ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@settings_
@given(low=st.floats(min_value=0, max_value=1e4), extra=st.floats(min_value=0, max_value=1e4))
def test_any_valid_thermal_limits_are_accepted(portfolio_store: Store, low: float, extra: float) -> None:
    _set(portfolio_store, THERMAL, ns.MAX_ACTIVE_POWER, 1e9)
    _set(portfolio_store, THERMAL, ns.MIN_ACTIVE_POWER, low)
    _set(portfolio_store, THERMAL, ns.MAX_ACTIVE_POWER, low + extra)
    assert float(_stored(portfolio_store, THERMAL, ns.MAX_ACTIVE_POWER).object.value) == pytest.approx(low + extra)


@settings_
@given(efficiency=finite.filter(lambda x: not 0 < x <= 1))
def test_any_efficiency_outside_0_1_is_rejected_whole(portfolio_store: Store, efficiency: float) -> None:
    before = portfolio_store.canonical_dump()
    with pytest.raises(ValidationError) as raised:
        _set(portfolio_store, STORAGE, ns.ROUND_TRIP_EFFICIENCY, efficiency)
    assert {v.focus for v in raised.value.violations} == {STORAGE.value}
    assert portfolio_store.canonical_dump() == before


@settings_
@given(low=st.floats(min_value=0, max_value=1e4), gap=st.floats(min_value=1e-3, max_value=1e4))
def test_any_minimum_above_maximum_is_rejected_whole(portfolio_store: Store, low: float, gap: float) -> None:
    before = portfolio_store.canonical_dump()
    current_max = float(_stored(portfolio_store, THERMAL, ns.MAX_ACTIVE_POWER).object.value)
    with pytest.raises(ValidationError, match="minimum"):
        _set(portfolio_store, THERMAL, ns.MIN_ACTIVE_POWER, current_max + gap + low)
    assert portfolio_store.canonical_dump() == before
