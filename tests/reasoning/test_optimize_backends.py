"""The same dispatch on the in-memory store and on a remote `oxigraph serve` (the other tests use disk)."""

from __future__ import annotations

from datetime import datetime

import pytest

from enertwin.kg.importers.simbench import ensure_imported, grid_node
from enertwin.kg.store import Store
from enertwin.reasoning.dispatch import optimize
from enertwin.reasoning.explain import explain

from . import reference_dispatch as ref

HV = "1-HV-mixed--2-sw"


@pytest.fixture
def oxigraph_server(own_oxigraph_server: str) -> str:
    """A server of its own for each remote run: two grids imported into the session's server, cleared by
    earlier tests, made its reads crawl in CI (>15 min) where a fresh server takes about a minute."""
    return own_oxigraph_server


def test_dispatch_stores_and_explains_on_every_backend(store: Store, request: pytest.FixtureRequest) -> None:
    if request.node.callspec.params["store"] == "disk":
        pytest.skip("the other dispatch tests run on an on-disk store")
    ensure_imported(store, "hv-mixed")
    ensure_imported(store, "ehv-mixed")
    run = optimize(store, grid_node(HV).value, HV, datetime(2016, 5, 2, 12), 12)
    document = run.output()
    data = ref.load_reference(HV, "2016-05-02T12:00", 12)
    assert ref.check_schedule(document, data) == []
    assert document["objective_eur"] == pytest.approx(ref.schedule_cost(document, data), rel=1e-9)
    explanation = explain(store, document["decision"])
    assert explanation.problem.steps == 12 and len(explanation.marginal_price) == 12
