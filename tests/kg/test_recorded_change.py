"""``set_value``: one fact of one asset changed, validated and recorded on every backend; old versions stay readable."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyoxigraph import Literal, NamedNode, Quad

from enertwin.kg import namespaces as ns
from enertwin.kg.errors import CommitConflict, InputError, ValidationError
from enertwin.kg.importers.simbench import grid_graph, grid_node, import_simbench
from enertwin.kg.provenance.ledger import Ledger, entries
from enertwin.kg.provenance.recorded_change import set_value
from enertwin.kg.provenance.verify import verify
from enertwin.kg.store import Store
from enertwin.reasoning.dispatch import DispatchRun, optimize
from enertwin.reasoning.replay import replay

DATA = Path(__file__).parent.parent / "data"
PORTFOLIO = NamedNode(ns.GRAPH_BASE + "test/portfolio")
THERMAL = NamedNode(ns.ID_BASE + "test/thermal-1")
HV = "1-HV-mixed--2-sw"
EHV = "1-EHV-mixed--2-sw"  # the market's price reference
VALUE_OF = "SELECT ?s ?p ?v WHERE { ?s ?p ?v }"


def _values(store: Store, subject: NamedNode, prop: NamedNode) -> list[float]:
    return sorted(float(r["v"].value) for r in store.query(VALUE_OF, {"s": subject, "p": prop}))  # type: ignore[union-attr]


def _portfolio_store(store: Store) -> Store:
    store.series.replace(pd.DataFrame({"profile/PV1": np.linspace(0, 1, 96)}), "profile/")
    store.series.replace(pd.DataFrame({"prices/day-ahead": np.full(24, 40.0)}), "prices/")
    store.replace_graph(PORTFOLIO, (DATA / "good_portfolio.ttl").read_bytes())
    return store


def test_a_change_is_validated_recorded_and_verifies(store: Store) -> None:
    _portfolio_store(store)
    ledger = Ledger(store)
    done = set_value(store, ledger, "MV1.101 SGen gas 1", "et:maxActivePower", "12.5", reason="new rating plate")
    assert done.asset == THERMAL and done.after == Literal("12.5", datatype=ns.XSD_DOUBLE)
    assert _values(store, THERMAL, ns.MAX_ACTIVE_POWER) == [12.5]
    assert store.versions()[PORTFOLIO] == done.version != done.applied_to
    record = store.backend.dump_graph(store.live()[done.receipt.graph])
    assert b"new rating plate" in record and done.delta_hash.encode() in record
    assert done.applied_to.value.encode() in record and done.version.value.encode() in record
    verdict = verify(store, deep=True)
    assert verdict.ok, verdict.first_bad
    assert b"10" in store.version_content(done.applied_to)  # the version it was applied to is still readable


def test_a_value_the_shapes_reject_changes_nothing(store: Store) -> None:
    _portfolio_store(store)
    ledger = Ledger(store)
    set_value(store, ledger, THERMAL.value, "et:maxActivePower", "11")
    before, records = store.canonical_dump(), len(entries(store))
    with pytest.raises(ValidationError):
        set_value(store, ledger, THERMAL.value, "et:maxActivePower", "-5")
    assert store.canonical_dump() == before and len(entries(store)) == records


@pytest.mark.parametrize(
    ("asset", "prop", "value", "message"),
    [
        ("no such asset", "et:maxActivePower", "1", "no asset is named 'no such asset'"),
        ("MV1.101 SGen gas 1", "xx:maxActivePower", "1", "no known prefix"),
        ("MV1.101 SGen gas 1", "et:maxActivePower", "lots", "is not a valid"),
    ],
)
def test_bad_input_names_what_is_wrong(asset: str, prop: str, value: str, message: str) -> None:
    store = _portfolio_store(Store.open(None))
    with pytest.raises(InputError, match=message):
        set_value(store, Ledger(store), asset, prop, value)


def test_an_ambiguous_name_is_refused() -> None:
    store = _portfolio_store(Store.open(None))
    pv = NamedNode(ns.ID_BASE + "test/pv-1")
    own = Quad(pv, ns.SOURCE_NAME, Literal("MV1.101 SGen PV 1"), PORTFOLIO)
    store.change(PORTFOLIO, remove=[own], add=[Quad(pv, ns.SOURCE_NAME, Literal("MV1.101 SGen gas 1"), PORTFOLIO)])
    with pytest.raises(InputError, match="ambiguous"):
        set_value(store, Ledger(store), "MV1.101 SGen gas 1", "et:maxActivePower", "3")


@pytest.fixture(scope="module")
def decided(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, DispatchRun]]:
    """A disk store with hv-mixed and ehv-mixed imported and one decision on them."""
    store = Store.open(tmp_path_factory.mktemp("change") / "store")
    import_simbench(store, HV)
    import_simbench(store, EHV)
    run = optimize(store, grid_node(HV).value, HV, datetime(2016, 1, 14, 6), 8)
    yield store, run
    store.close()


def _thermal(store: Store) -> tuple[NamedNode, float]:
    pattern = f"GRAPH ?g {{ ?u a {ns.THERMAL_UNIT} ; {ns.MAX_ACTIVE_POWER} ?p }}"
    query = f"SELECT ?g ?u ?p WHERE {{ {pattern} }} ORDER BY ?u LIMIT 1"
    rows = store.query(query, {"g": store.live()[grid_graph(EHV)]})
    row = next(iter(rows))
    return row["u"], float(row["p"].value)  # type: ignore[return-value,union-attr]


def test_replay_after_many_changes_is_identical_and_deep_verify_checks_the_old_version(
    decided: tuple[Store, DispatchRun],
) -> None:
    store, run = decided
    ledger = Ledger(store)
    unit, power = _thermal(store)
    used = store.versions()[grid_graph(EHV)]
    for i in range(40):
        set_value(store, ledger, unit.value, "et:maxActivePower", str(power + 1 + i % 3), reason=f"step {i}")
    assert store.versions()[grid_graph(EHV)] != used and store.live()[grid_graph(EHV)] == used
    outcome = replay(store, run.record.decision.value, ledger)
    assert outcome.identical
    assert verify(store, deep=True).ok
    # a delta tampered with behind the store's back: the decision's version no longer reconstructs
    delta = NamedNode(f"{store.versions()[grid_graph(EHV)].value}/delta/added")
    store.backend.update(f"DELETE WHERE {{ GRAPH {delta} {{ ?s ?p ?o }} }}")
    verdict = verify(store, deep=True)
    assert not verdict.ok and verdict.first_bad is not None
    assert "changed since" in verdict.first_bad.problem


def test_a_change_whose_version_moved_is_a_conflict_and_changes_nothing(store: Store) -> None:
    """The guarded update: validated against one version, applied after another writer moved on, it does nothing."""
    _portfolio_store(store)
    store.version_hash(store.versions()[PORTFOLIO])  # vouched for: changes name new versions
    old = list(store.backend.quads_with([THERMAL], "s", [store.live()[PORTFOLIO]], [ns.MAX_ACTIVE_POWER]))
    late = store.prepare_change(
        PORTFOLIO, remove=old, add=[Quad(THERMAL, ns.MAX_ACTIVE_POWER, Literal("13", datatype=ns.XSD_DOUBLE))]
    )
    store.change(PORTFOLIO, remove=old, add=[Quad(THERMAL, ns.MAX_ACTIVE_POWER, Literal("12", datatype=ns.XSD_DOUBLE))])
    before = store.canonical_dump()
    with pytest.raises(CommitConflict):
        store.apply_change(late)
    assert store.canonical_dump() == before and _values(store, THERMAL, ns.MAX_ACTIVE_POWER) == [12.0]
