"""Decisions as provenance records: what they read (by version and hash), replay, and later edits."""

from __future__ import annotations

from datetime import datetime

import pytest
from pyoxigraph import Literal, NamedNode, Quad

from enertwin.kg import namespaces as ns
from enertwin.kg.errors import InputError
from enertwin.kg.importers.simbench import grid_graph, grid_node
from enertwin.kg.provenance.ledger import entries, record_graph
from enertwin.kg.provenance.verify import verify
from enertwin.kg.store import COST_GRAPH, ONTOLOGY_GRAPH, Store
from enertwin.reasoning.dispatch import DispatchRun, optimize
from enertwin.reasoning.replay import replay

HV = "1-HV-mixed--2-sw"
EHV = "1-EHV-mixed--2-sw"
UNIT = NamedNode("https://w3id.org/enertwin/id/simbench/1-HV-mixed--2-sw/storage/HV1%20Storage%201")


@pytest.fixture(scope="module")
def run(grids: Store) -> DispatchRun:
    return optimize(grids, grid_node(HV).value, HV, datetime(2016, 1, 14, 6), 24)


def used_versions(store: Store, decision: NamedNode) -> dict[str, tuple[str, str]]:
    rows = store.query(
        "PREFIX prov: <http://www.w3.org/ns/prov#> PREFIX et: <https://w3id.org/enertwin/ontology#> "
        "SELECT ?logical ?version ?hash ?decision WHERE { ?decision prov:used ?version . "
        "?version a et:GraphVersion ; prov:specializationOf ?logical ; et:contentHash ?hash }",
        {"decision": decision},
    )
    return {r["logical"].value: (r["version"].value, r["hash"].value) for r in rows}  # type: ignore[union-attr]


def test_a_decision_is_a_signed_record_of_what_it_read(grids: Store, run: DispatchRun) -> None:
    assert run.record.graph.value.startswith(record_graph(1).value[:-1])
    used = used_versions(grids, run.record.decision)
    expected = {grid_graph(HV), grid_graph(EHV), COST_GRAPH, ONTOLOGY_GRAPH}
    assert set(used) == {g.value for g in expected}
    live = grids.versions()  # what a record names (after a change, not the storage graph's own IRI)
    for logical in expected:
        version, digest = used[logical.value]
        assert version == live[logical].value
        assert digest == grids.version_hash(live[logical], fresh=True)
    assert verify(grids).ok


def test_the_record_names_agent_role_and_settings(grids: Store, run: DispatchRun) -> None:
    rows = list(
        grids.query(
            "PREFIX prov: <http://www.w3.org/ns/prov#> PREFIX et: <https://w3id.org/enertwin/ontology#> "
            "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
            "SELECT DISTINCT ?decision ?role ?person ?seed ?solver WHERE { ?decision prov:qualifiedAssociation ?a ; "
            "et:randomSeed ?seed ; et:solverName ?solver . ?a prov:hadRole ?role ; prov:agent ?agent . "
            "?agent prov:actedOnBehalfOf ?p . ?p rdfs:label ?person }",
            {"decision": run.record.decision},
        )
    )
    assert len(rows) == 1
    row = rows[0]
    assert row["role"] == ns.OPTIMIZER_ROLE
    assert row["person"].value == "test-operator"  # type: ignore[union-attr]
    assert row["solver"].value.startswith("OR-Tools CP-SAT 9.15")  # type: ignore[union-attr]


def test_a_replay_is_identical(grids: Store, run: DispatchRun) -> None:
    outcome = replay(grids, run.record.decision.value)
    assert outcome.identical, outcome.first_difference
    assert outcome.replayed_hash == run.record.schedule_hash
    assert outcome.receipt is not None
    assert verify(grids).ok


def test_a_replay_reads_the_recorded_inputs_not_todays(grids: Store, run: DispatchRun) -> None:
    """Change a storage unit's power in the graph and double a load profile: today's run differs, the replay not."""
    graph = grid_graph(HV)
    load_key = next(
        str(r["key"].value)  # type: ignore[union-attr]
        for r in grids.query(
            "PREFIX et: <https://w3id.org/enertwin/ontology#> SELECT ?key ?grid WHERE "
            "{ ?load a et:Load ; et:hasProfile ?p ; et:inGrid ?grid . ?p et:seriesKey ?key } ORDER BY ?key LIMIT 1",
            {"grid": grid_node(HV)},
        )
    )
    before = grids.live()[graph]
    old = [Quad(UNIT, ns.RATED_APPARENT_POWER, r["o"], graph) for r in _values(grids, UNIT)]  # type: ignore[arg-type]
    new = Quad(UNIT, ns.RATED_APPARENT_POWER, Literal("1.0", datatype=ns.XSD_DOUBLE), graph)
    grids.change(graph, remove=old, add=[new])
    kept = grids.series._db.execute("SELECT * FROM series_values WHERE series_key = ?", [load_key]).df()
    grids.series._db.execute("UPDATE series_values SET value = value * 3 WHERE series_key = ?", [load_key])
    try:
        assert grids.versions()[graph] != before and grids.live()[graph] == before  # edited in place, not copied
        assert grids.has_version(before), "a version a decision used must be kept (as a reverse delta)"
        today = optimize(grids, grid_node(HV).value, HV, datetime(2016, 1, 14, 6), 24)
        assert today.record.schedule_hash != run.record.schedule_hash
        outcome = replay(grids, run.record.decision.value)
        assert outcome.identical, outcome.first_difference
    finally:
        grids.series._db.execute("DELETE FROM series_values WHERE series_key = ?", [load_key])
        grids.series._db.register("kept", kept)
        grids.series._db.execute("INSERT INTO series_values SELECT * FROM kept")  # exactly: x*3/3 need not be x
        grids.series._db.unregister("kept")
        grids.change(
            graph, remove=[Quad(UNIT, ns.RATED_APPARENT_POWER, r["o"], graph) for r in _values(grids, UNIT)], add=old
        )  # type: ignore[arg-type]


def test_a_changed_snapshot_version_is_refused(grids: Store, run: DispatchRun) -> None:
    version = NamedNode(used_versions(grids, run.record.decision)[COST_GRAPH.value][0])
    extra = f"<{ns.ID_BASE}tamper> <{ns.RDFS_LABEL.value}> 'x'"
    grids.backend.update(f"INSERT DATA {{ GRAPH {version} {{ {extra} }} }}")
    try:
        with pytest.raises(InputError, match="changed since"):
            replay(grids, run.record.decision.value)
    finally:
        grids.backend.update(f"DELETE DATA {{ GRAPH {version} {{ {extra} }} }}")


def test_a_changed_series_snapshot_is_refused(grids: Store, run: DispatchRun) -> None:
    db = grids.series._db
    kept = db.execute("SELECT * FROM series_snapshots WHERE step = 0").df()
    db.execute("UPDATE series_snapshots SET value = value + 1 WHERE step = 0")
    try:
        with pytest.raises(InputError, match="its values were changed"):
            replay(grids, run.record.decision.value)
    finally:
        db.execute("DELETE FROM series_snapshots WHERE step = 0")
        db.register("kept", kept)
        db.execute("INSERT INTO series_snapshots SELECT * FROM kept")  # exactly: x+1-1 need not be x
        db.unregister("kept")


def test_tampering_with_a_decision_record_is_found(grids: Store, run: DispatchRun) -> None:
    seq = next(e.seq for e in entries(grids) if record_graph(e.seq) == run.record.graph)
    physical = grids.live()[run.record.graph]
    old = next(
        iter(
            grids.backend.select(
                f"SELECT ?v WHERE {{ GRAPH {physical} {{ {run.record.decision} {ns.OBJECTIVE_VALUE} ?v }} }}"
            )
        )
    )["v"]
    lower = Literal("1.0", datatype=ns.XSD_DOUBLE)
    swap = (
        f"DELETE DATA {{ GRAPH {physical} {{ {run.record.decision} {ns.OBJECTIVE_VALUE} {old} }} }} ; "
        f"INSERT DATA {{ GRAPH {physical} {{ {run.record.decision} {ns.OBJECTIVE_VALUE} {lower} }} }}"
    )
    grids.backend.update(swap)
    try:
        bad = verify(grids).first_bad
        assert bad is not None and bad.seq == seq and "changed" in bad.problem
    finally:
        grids.backend.update(
            f"DELETE DATA {{ GRAPH {physical} {{ {run.record.decision} {ns.OBJECTIVE_VALUE} {lower} }} }} ; "
            f"INSERT DATA {{ GRAPH {physical} {{ {run.record.decision} {ns.OBJECTIVE_VALUE} {old} }} }}"
        )
    assert verify(grids).ok


def test_deep_verify_finds_changed_schedule_values(grids: Store, run: DispatchRun) -> None:
    key = f"{run.record.series_prefix}market/buy"
    db = grids.series._db
    db.execute("UPDATE series_values SET value = value + 0.5 WHERE series_key = ? AND step = 3", [key])
    try:
        assert verify(grids).ok  # the records themselves are untouched
        bad = verify(grids, deep=True).first_bad
        assert bad is not None and bad.graph == run.record.graph.value
        assert "differ from its signed hash" in bad.problem
    finally:
        db.execute("UPDATE series_values SET value = value - 0.5 WHERE series_key = ? AND step = 3", [key])
    assert verify(grids, deep=True).ok


def test_deep_verify_finds_a_changed_input_version(grids: Store, run: DispatchRun) -> None:
    version = NamedNode(used_versions(grids, run.record.decision)[COST_GRAPH.value][0])
    extra = f"<{ns.ID_BASE}tamper> <{ns.RDFS_LABEL.value}> 'x'"
    grids.backend.update(f"INSERT DATA {{ GRAPH {version} {{ {extra} }} }}")
    try:
        bad = verify(grids, deep=True).first_bad
        # the first record vouching for it says so: the decision that used it, or the cost load that generated it
        assert bad is not None and f"<{version.value}> it " in bad.problem and "has changed" in bad.problem
    finally:
        grids.backend.update(f"DELETE DATA {{ GRAPH {version} {{ {extra} }} }}")


def test_imports_are_records_with_their_version(grids: Store) -> None:
    rows = list(
        grids.query(
            "PREFIX prov: <http://www.w3.org/ns/prov#> PREFIX et: <https://w3id.org/enertwin/ontology#> "
            "SELECT DISTINCT ?activity ?hash ?count ?graph WHERE { ?r et:recordsActivity ?activity . "
            "?activity a et:Import ; "
            "prov:generated ?v . ?v prov:specializationOf ?graph ; et:inputHash ?hash ; et:tripleCount ?count }",
            {"graph": grid_graph(HV)},
        )
    )
    assert len(rows) == 1
    assert int(rows[0]["count"].value) > 10_000  # type: ignore[union-attr]


def _values(store: Store, node: NamedNode) -> list:  # type: ignore[type-arg]
    return list(store.query(f"SELECT ?s ?o WHERE {{ ?s <{ns.RATED_APPARENT_POWER.value}> ?o }}", {"s": node}))
