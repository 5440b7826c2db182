"""The Store facade: the same tests on pyoxigraph in memory, on disk, and a real `oxigraph serve`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyoxigraph import Literal, NamedNode, Quad, RdfFormat

from enertwin.kg import namespaces as ns
from enertwin.kg.backend_embedded import EmbeddedBackend
from enertwin.kg.errors import InputError, OntologyVersionError, StoreError, ValidationError
from enertwin.kg.store import COST_GRAPH, META_GRAPH, ONTOLOGY_GRAPH, STORE_NODE, Store

DATA = Path(__file__).resolve().parent.parent / "data"
PORTFOLIO = NamedNode(ns.GRAPH_BASE + "test/portfolio")
THERMAL = NamedNode(ns.ID_BASE + "test/thermal-1")
STORAGE = NamedNode(ns.ID_BASE + "test/storage-1")
BUS_1 = NamedNode(ns.ID_BASE + "test/bus-1")

COUNT_ASSETS = """
PREFIX et: <https://w3id.org/enertwin/ontology#>
SELECT (COUNT(DISTINCT ?a) AS ?n) WHERE {
  VALUES ?c { et:ThermalUnit et:RenewableUnit et:Storage et:Load et:ExternalGrid }
  ?a a ?c .
}
"""
VALUE_OF = """
SELECT ?s ?p ?v WHERE { ?s ?p ?v . }
"""


def _portfolio() -> bytes:
    return (DATA / "good_portfolio.ttl").read_bytes()


def _with_series(store: Store) -> None:
    store.series.replace(pd.DataFrame({"profile/PV1": np.linspace(0, 1, 96)}), "profile/")
    store.series.replace(pd.DataFrame({"prices/day-ahead": np.full(24, 40.0)}), "prices/")


def _value(store: Store, subject: NamedNode, prop: NamedNode) -> list[float | str]:
    values = [r["v"].value for r in store.query(VALUE_OF, {"s": subject, "p": prop})]  # type: ignore[union-attr]
    return sorted(_number(v) for v in values)


def _stored(store: Store, subject: NamedNode, prop: NamedNode) -> Quad:
    """The quad as the store holds it (Oxigraph keeps numbers in canonical form)."""
    [row] = list(store.query(VALUE_OF, {"s": subject, "p": prop}))
    return Quad(subject, prop, row["v"])  # type: ignore[arg-type]


def _number(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def _assets(store: Store) -> int:
    return int(next(iter(store.query(COUNT_ASSETS)))["n"].value)  # type: ignore[union-attr]


def test_new_store_holds_version_ontology_and_cost_model(store: Store) -> None:
    assert store.ontology_version() == ns.ONTOLOGY_VERSION
    assert {ONTOLOGY_GRAPH, COST_GRAPH} <= set(store.graphs())
    rows = list(store.query("PREFIX et: <https://w3id.org/enertwin/ontology#> SELECT ?e WHERE { ?e a et:CostEntry }"))
    assert len(rows) == 7
    assert _value(store, STORE_NODE, ns.ONTOLOGY_VERSION_PROP) == [ns.ONTOLOGY_VERSION]
    assert META_GRAPH not in store.graphs()


def test_valid_portfolio_is_written_and_queryable(store: Store) -> None:
    _with_series(store)
    report = store.replace_graph(PORTFOLIO, _portfolio())
    assert report.triples > 100
    assert _assets(store) == 5
    assert _value(store, THERMAL, ns.MAX_ACTIVE_POWER) == [10.0]


def test_replacing_a_graph_twice_leaves_one_copy(store: Store) -> None:
    _with_series(store)
    first = store.replace_graph(PORTFOLIO, _portfolio())
    before = store.canonical_dump()
    second = store.replace_graph(PORTFOLIO, _portfolio())
    assert first.triples == second.triples
    assert _assets(store) == 5
    assert _value(store, THERMAL, ns.MAX_ACTIVE_POWER) == [10.0]
    assert len(store.canonical_dump()) == len(before)  # same triples; only the version graph name differs


def test_identical_replace_is_recognised_and_changes_nothing(store: Store) -> None:
    _with_series(store)
    assert not store.replace_graph(PORTFOLIO, _portfolio()).unchanged
    before = store.canonical_dump()
    again = store.replace_graph(PORTFOLIO, _portfolio())
    assert again.unchanged
    assert store.canonical_dump() == before


def test_replace_after_a_change_restores_the_loaded_content(store: Store) -> None:
    _with_series(store)
    store.replace_graph(PORTFOLIO, _portfolio())
    new = Quad(THERMAL, ns.MAX_ACTIVE_POWER, Literal("12.5", datatype=ns.XSD_DOUBLE))
    store.change(PORTFOLIO, remove=[_stored(store, THERMAL, ns.MAX_ACTIVE_POWER)], add=[new])
    report = store.replace_graph(PORTFOLIO, _portfolio())
    assert not report.unchanged
    assert _value(store, THERMAL, ns.MAX_ACTIVE_POWER) == [10.0]


def test_bad_batch_is_rejected_whole_and_store_is_unchanged(store: Store) -> None:
    _with_series(store)
    store.replace_graph(PORTFOLIO, _portfolio())
    before = store.canonical_dump()
    bad = _portfolio().replace(b'et:maxActivePower "10.0"', b'et:maxActivePower "1.0"')
    with pytest.raises(ValidationError) as raised:
        store.replace_graph(PORTFOLIO, bad)
    message = str(raised.value)
    assert THERMAL.value in message
    assert "MV1.101 SGen gas 1" in message  # the asset's source name
    assert "https://w3id.org/enertwin/shapes#" in message  # the shape
    assert "nothing was written" in message
    assert store.canonical_dump() == before


def test_bad_batch_into_new_graph_leaves_nothing(store: Store) -> None:
    _with_series(store)
    before = store.canonical_dump()
    bad = _portfolio().replace(b'et:roundTripEfficiency "0.9"', b'et:roundTripEfficiency "1.5"')
    with pytest.raises(ValidationError) as raised:
        store.replace_graph(PORTFOLIO, bad)
    assert any(v.focus == STORAGE.value for v in raised.value.violations)
    assert store.canonical_dump() == before
    assert PORTFOLIO not in store.graphs()


def test_syntax_error_names_the_graph_and_writes_nothing(store: Store) -> None:
    before = store.canonical_dump()
    with pytest.raises(InputError, match="not valid"):
        store.replace_graph(PORTFOLIO, b"this is not turtle")
    assert store.canonical_dump() == before


def test_missing_series_values_are_a_violation(store: Store) -> None:
    before = store.canonical_dump()
    with pytest.raises(ValidationError, match="series store"):
        store.replace_graph(PORTFOLIO, _portfolio())
    assert store.canonical_dump() == before


def test_small_change_is_validated_and_applied(store: Store) -> None:
    _with_series(store)
    store.replace_graph(PORTFOLIO, _portfolio())
    old = _stored(store, THERMAL, ns.MAX_ACTIVE_POWER)
    new = Quad(THERMAL, ns.MAX_ACTIVE_POWER, Literal("12.5", datatype=ns.XSD_DOUBLE))
    store.change(PORTFOLIO, remove=[old], add=[new])
    assert _value(store, THERMAL, ns.MAX_ACTIVE_POWER) == [12.5]


def test_change_matches_numbers_in_any_lexical_form(store: Store) -> None:
    _with_series(store)
    store.replace_graph(PORTFOLIO, _portfolio())
    as_written = Quad(THERMAL, ns.MAX_ACTIVE_POWER, Literal("10.0", datatype=ns.XSD_DOUBLE))
    new = Quad(THERMAL, ns.MAX_ACTIVE_POWER, Literal("1.25e1", datatype=ns.XSD_DOUBLE))
    store.change(PORTFOLIO, remove=[as_written], add=[new])
    assert _value(store, THERMAL, ns.MAX_ACTIVE_POWER) == [12.5]


def test_bad_change_is_rejected_and_store_is_unchanged(store: Store) -> None:
    _with_series(store)
    store.replace_graph(PORTFOLIO, _portfolio())
    before = store.canonical_dump()
    old = _stored(store, THERMAL, ns.MAX_ACTIVE_POWER)
    new = Quad(THERMAL, ns.MAX_ACTIVE_POWER, Literal("1.0", datatype=ns.XSD_DOUBLE))
    with pytest.raises(ValidationError) as raised:
        store.change(PORTFOLIO, remove=[old], add=[new])
    assert {v.focus for v in raised.value.violations} == {THERMAL.value}
    assert store.canonical_dump() == before


def test_removing_a_bus_breaks_the_assets_that_stand_on_it(store: Store) -> None:
    _with_series(store)
    store.replace_graph(PORTFOLIO, _portfolio())
    before = store.canonical_dump()
    bus_quads = [
        Quad(BUS_1, q["p"], q["o"])  # type: ignore[arg-type]
        for q in store.query("SELECT ?s ?p ?o WHERE { ?s ?p ?o }", {"s": BUS_1})
    ]
    with pytest.raises(ValidationError) as raised:
        store.change(PORTFOLIO, remove=bus_quads)
    assert THERMAL.value in {v.focus for v in raised.value.violations}
    assert store.canonical_dump() == before


def test_dropping_the_cost_model_that_units_need_is_rejected(store: Store) -> None:
    _with_series(store)
    uses_reference_fuel = _portfolio().replace(
        b"et:hasFuelType etid:test\\/fuel-gas", b"et:hasFuelType etid:fuel\\/gas"
    )
    store.replace_graph(PORTFOLIO, uses_reference_fuel)
    before = store.canonical_dump()
    with pytest.raises(ValidationError):
        store._drop_graph(COST_GRAPH)
    assert store.canonical_dump() == before


def test_dropping_a_graph_removes_it(store: Store) -> None:
    _with_series(store)
    store.replace_graph(PORTFOLIO, _portfolio())
    store._drop_graph(PORTFOLIO)
    assert PORTFOLIO not in store.graphs()
    assert _assets(store) == 0


def test_user_values_are_bound_as_terms_not_pasted(store: Store) -> None:
    _with_series(store)
    store.replace_graph(PORTFOLIO, _portfolio())
    hostile = Literal('x" } } ; DROP ALL ; SELECT * { ?s ?p "')
    rows = list(store.query("SELECT ?s ?v WHERE { ?s ?p ?v }", {"v": hostile}))
    assert rows == []
    assert _assets(store) == 5


def test_user_cost_model_replaces_the_default(store: Store) -> None:
    turtle = (Path(__file__).resolve().parents[2] / "kg" / "cost_table.ttl").read_bytes()
    cheaper = turtle.replace(b'et:marginalCost "48.0"', b'et:marginalCost "30.0"')
    store._load_cost_model(cheaper)
    rows = store.query(
        "PREFIX et: <https://w3id.org/enertwin/ontology#> "
        'SELECT ?c WHERE { ?e et:forFuelType ?f ; et:marginalCost ?c . ?f et:fuelCode "gas" }'
    )
    assert [float(r["c"].value) for r in rows] == [30.0]  # type: ignore[union-attr]


def test_bad_cost_model_is_rejected(store: Store) -> None:
    turtle = (Path(__file__).resolve().parents[2] / "kg" / "cost_table.ttl").read_bytes()
    before = store.canonical_dump()
    with pytest.raises(ValidationError, match="ramp"):
        store._load_cost_model(turtle.replace(b'et:rampShare "0.25"', b'et:rampShare "1.5"'))
    assert store.canonical_dump() == before


def test_store_of_another_ontology_version_is_refused(tmp_path: Path, stamp_version) -> None:
    location = tmp_path / "store"
    stamp_version(location, "0.0.1")
    before = _raw_dump(location)
    with pytest.raises(OntologyVersionError, match=r"0\.0\.1"):
        Store.open(location)
    assert _raw_dump(location) == before


def _raw_dump(location: Path) -> list[bytes]:
    """The disk store's quads, read without opening it through Store (which would check its version)."""
    backend = EmbeddedBackend(location / "graph")
    try:
        return sorted(line for line in backend.dump_nquads().splitlines() if line.strip())
    finally:
        backend.close()


def test_store_path_that_is_a_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a-file"
    path.write_text("not a store")
    with pytest.raises(StoreError, match="is a file"):
        Store.open(path)


def test_directory_that_is_not_a_store_is_refused_and_left_alone(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(StoreError, match="not an enertwin store"):
        Store.open(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_unreachable_endpoint_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="does not answer"):
        Store.open("http://127.0.0.1:9")


def test_series_slices_come_back_as_numpy(store: Store) -> None:
    _with_series(store)
    values = store.series.read("profile/PV1", start=10, count=5)
    assert isinstance(values, np.ndarray)
    np.testing.assert_allclose(values, np.linspace(0, 1, 96)[10:15])
    with pytest.raises(InputError, match="no time series"):
        store.series.read("profile/unknown")


def test_turtle_and_ntriples_give_the_same_content(store: Store) -> None:
    import pyoxigraph

    _with_series(store)
    triples = pyoxigraph.serialize(pyoxigraph.parse(_portfolio(), RdfFormat.TURTLE), format=RdfFormat.N_TRIPLES)
    store.replace_graph(PORTFOLIO, triples, RdfFormat.N_TRIPLES)
    assert _assets(store) == 5


def test_a_change_keeps_a_vouched_version_as_a_reverse_delta_without_copying(store: Store) -> None:
    """Edits of a version nothing vouches for stay in it; a hashed version is kept as a delta, the graph not copied."""
    _with_series(store)
    store.replace_graph(PORTFOLIO, _portfolio())
    first = store.live()[PORTFOLIO]
    edited = Quad(THERMAL, ns.MAX_ACTIVE_POWER, Literal("12.5", datatype=ns.XSD_DOUBLE))
    store.change(PORTFOLIO, remove=[_stored(store, THERMAL, ns.MAX_ACTIVE_POWER)], add=[edited])
    assert store.versions()[PORTFOLIO] == first and _value(store, THERMAL, ns.MAX_ACTIVE_POWER) == [12.5]
    vouched = store.version_hash(first)  # what a record does before it names a version
    graphs_before = set(store.backend.named_graphs())
    back = Quad(THERMAL, ns.MAX_ACTIVE_POWER, Literal("10.0", datatype=ns.XSD_DOUBLE))
    report = store.change(PORTFOLIO, remove=[_stored(store, THERMAL, ns.MAX_ACTIVE_POWER)], add=[back])
    second = store.versions()[PORTFOLIO]
    assert second != first and report.version == second and _value(store, THERMAL, ns.MAX_ACTIVE_POWER) == [10.0]
    assert store.live()[PORTFOLIO] == first  # the content stayed where it was: no copy of the graph
    added = set(store.backend.named_graphs()) - graphs_before
    assert added <= {NamedNode(f"{second.value}/delta/removed"), NamedNode(f"{second.value}/delta/added")}
    assert store.has_version(first) and store.version_hash(first, fresh=True) == vouched
    assert b"12.5" in store.version_content(first) and b"12.5" not in store.version_content(second)


def test_many_changes_keep_every_vouched_version_readable(store: Store) -> None:
    """A chain of reverse deltas reconstructs each pinned version; a view of it reads it as it was."""
    _with_series(store)
    store.replace_graph(PORTFOLIO, _portfolio())
    hashes = {}
    for value in ("11", "12", "13", "14"):
        version = store.versions()[PORTFOLIO]
        hashes[version] = store.version_hash(version)
        new = Quad(THERMAL, ns.MAX_ACTIVE_POWER, Literal(value, datatype=ns.XSD_DOUBLE))
        store.change(PORTFOLIO, remove=[_stored(store, THERMAL, ns.MAX_ACTIVE_POWER)], add=[new])
    assert len(hashes) == 4 and _value(store, THERMAL, ns.MAX_ACTIVE_POWER) == [14.0]
    for version, digest in hashes.items():
        assert store.version_hash(version, fresh=True) == digest
    oldest = next(iter(hashes))
    view = store.view({**store.versions(), PORTFOLIO: oldest}, store.series)
    assert _value(view, THERMAL, ns.MAX_ACTIVE_POWER) == [10.0]
    assert _value(store, THERMAL, ns.MAX_ACTIVE_POWER) == [14.0]
    store.replace_graph(PORTFOLIO, _portfolio())  # nothing retained them: the chain goes with the replaced graph
    assert not any(store.has_version(v) for v in hashes)
    assert store.orphans() == [] or all("OrphanGraphVersion" not in o.shape for o in store.orphans())
