"""The provenance commands end to end: init, audit verify/proof/check-proof/export, replay, approve, override."""

from __future__ import annotations

import json
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyoxigraph
import pytest
from prov.model import ProvDocument
from pyoxigraph import NamedNode, Quad, RdfFormat, parse
from typer.testing import CliRunner

from enertwin.api.cli import app
from enertwin.kg import namespaces as ns
from enertwin.kg.provenance.ledger import record_graph
from enertwin.kg.store import META_GRAPH, Store

runner = CliRunner()
HV = "1-HV-mixed--2-sw"


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A disk store with hv-mixed (and its price reference) imported and one decision: (store, decision IRI)."""
    folder = tmp_path_factory.mktemp("audited")
    store, output = str(folder / "store"), folder / "out.json"
    arguments = ["optimize", "--case", "hv-mixed", "--start", "2016-01-14T06:00", "--steps", "8", "--store", store]
    ran = runner.invoke(app, [*arguments, "--json", str(output)])
    assert ran.exit_code == 0, ran.output
    schedule = json.loads(output.read_text())["decision"]
    return store, schedule.removesuffix("/schedule")


def test_init_creates_a_private_key_and_publishes_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENERTWIN_HOME", str(tmp_path / "home"))
    store = str(tmp_path / "store")
    first = runner.invoke(app, ["init", "--store", store, "--person", "Ada", "--organisation", "Grid Co"])
    assert first.exit_code == 0, first.output
    key = tmp_path / "home" / "keys" / "ed25519.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert "created" in first.output and "published" in first.output
    again = runner.invoke(app, ["init", "--store", store])
    assert again.exit_code == 0 and "exists, kept" in again.output and "already published" in again.output
    with Store.open(store) as opened:
        rows = list(
            opened.query(f"SELECT ?k ?who WHERE {{ ?k {ns.PUBLIC_KEY} ?p ; {ns.PROV_WAS_ATTRIBUTED_TO} ?who }}")
        )
    assert [r["who"].value for r in rows] == [f"{ns.ID_BASE}person/Ada"]  # type: ignore[union-attr]


def test_verify_passes_a_clean_store(audited: tuple[str, str]) -> None:
    store, _ = audited
    result = runner.invoke(app, ["audit", "verify", "--store", store, "--json"])
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.output)
    assert verdict["ok"] and verdict["records"] >= 4  # key, two imports, the decision


def test_verify_names_the_tampered_record_and_exits_7(audited: tuple[str, str], tmp_path: Path) -> None:
    store, decision = audited
    with Store.open(store) as opened:
        physical = opened.live()[record_graph(2)]
        opened.backend.update(f"INSERT DATA {{ GRAPH {physical} {{ <{decision}> {ns.REASON} 'edited later' }} }}")
    try:
        result = runner.invoke(app, ["audit", "verify", "--store", store])
        assert result.exit_code == 7
        assert f"record 2 <{record_graph(2).value}>" in result.output
        assert "a triple was added, removed or changed" in result.output
    finally:
        with Store.open(store) as opened:
            physical = opened.live()[record_graph(2)]
            opened.backend.update(f"DELETE DATA {{ GRAPH {physical} {{ <{decision}> {ns.REASON} 'edited later' }} }}")
    assert runner.invoke(app, ["audit", "verify", "--store", store]).exit_code == 0


def test_a_proof_checks_offline_and_a_forged_one_does_not(audited: tuple[str, str], tmp_path: Path) -> None:
    store, decision = audited
    result = runner.invoke(app, ["audit", "proof", decision, "--store", store])
    assert result.exit_code == 0, result.output
    proof = json.loads(result.output)
    assert proof["tree_size"] >= 4 and proof["leaf_index"] == proof["tree_size"] - 1
    saved = tmp_path / "proof.json"
    saved.write_text(json.dumps(proof))
    checked = runner.invoke(app, ["audit", "check-proof", str(saved)])
    assert checked.exit_code == 0 and "ok: record" in checked.output
    proof["record_hash"] = "0" * 64
    saved.write_text(json.dumps(proof))
    assert runner.invoke(app, ["audit", "check-proof", str(saved)]).exit_code == 7
    unknown = runner.invoke(app, ["audit", "proof", "https://example.org/nothing", "--store", store])
    assert unknown.exit_code == 2 and "no provenance record" in unknown.output


@pytest.mark.parametrize("fmt", ["turtle", "trig", "jsonld", "provjson"])
def test_export_parses_with_standard_tools(audited: tuple[str, str], fmt: str, tmp_path: Path) -> None:
    store, decision = audited
    target = tmp_path / f"records.{fmt}"
    result = runner.invoke(app, ["audit", "export", decision, "--store", store, "--format", fmt, "--out", str(target)])
    assert result.exit_code == 0, result.output
    text = target.read_text()
    if fmt == "provjson":
        document = ProvDocument.deserialize(content=text, format="json")
        assert any(str(a.identifier).endswith(decision.rsplit("/", 1)[1]) for a in document.get_records())
    else:
        rdf = {"turtle": RdfFormat.TURTLE, "trig": RdfFormat.TRIG, "jsonld": RdfFormat.JSON_LD}[fmt]
        assert any(str(getattr(q, "subject", "")) == f"<{decision}>" for q in parse(text.encode(), rdf))


def test_replay_reports_identical(audited: tuple[str, str]) -> None:
    store, decision = audited
    result = runner.invoke(app, ["replay", decision, "--store", store, "--json"])
    assert result.exit_code == 0, result.output
    outcome = json.loads(result.output)
    assert outcome["identical"] and outcome["recorded_hash"] == outcome["replayed_hash"]


def test_approvals_and_overrides_are_recorded_and_reported(audited: tuple[str, str]) -> None:
    store, decision = audited
    assert runner.invoke(app, ["approve", decision, "--store", store, "--reason", "looks right"]).exit_code == 0
    refused = runner.invoke(app, ["override", decision, "--store", store])
    assert refused.exit_code == 2 and "needs a reason" in refused.output
    assert runner.invoke(app, ["override", decision, "--store", store, "--reason", "unit in repair"]).exit_code == 0
    report = runner.invoke(app, ["report", "approvals", "--store", store, "--format", "json"])
    assert report.exit_code == 0, report.output
    rows = json.loads(report.output)
    reasons = sorted(str(row.get("reason")) for row in rows)
    assert reasons == ["looks right", "unit in repair"]
    assert all("test-operator" in json.dumps(row) for row in rows)
    assert runner.invoke(app, ["audit", "verify", "--store", store]).exit_code == 0


def test_a_removed_record_is_named(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    assert runner.invoke(app, ["init", "--store", store]).exit_code == 0
    assert runner.invoke(app, ["costs", "load", _cost_model(tmp_path), "--store", store]).exit_code == 0
    with Store.open(store) as opened:
        opened.backend.update(f"DELETE WHERE {{ GRAPH {META_GRAPH} {{ {record_graph(2)} {ns.CURRENT_VERSION} ?v }} }}")
    result = runner.invoke(app, ["audit", "verify", "--store", store])
    assert result.exit_code == 7 and "record 2" in result.output and "missing" in result.output


def _cost_model(tmp_path: Path) -> str:
    from enertwin.kg.store import default_cost_table

    path = tmp_path / "costs.ttl"
    path.write_bytes(default_cost_table().replace(b"6.0", b"7.0", 1))
    return str(path)


def _key_publication_turtle(key: str, public: str) -> bytes:
    """Triples that look like a key publication (the attack: a cost model that publishes an operator's key)."""
    return (
        f'<{key}> a <{ns.SIGNING_KEY.value}> ; <{ns.PUBLIC_KEY.value}> "{public}" ;'
        f" <http://www.w3.org/ns/prov#wasGeneratedBy> <{ns.ID_BASE}forged-publication> .\n"
        f"<{ns.ID_BASE}forged-publication> a <{ns.KEY_PUBLICATION.value}> .\n"
    ).encode()


def test_a_cost_model_cannot_publish_a_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from enertwin.kg.provenance.keys import Signer
    from enertwin.kg.provenance.ledger import key_node
    from enertwin.kg.store import default_cost_table

    store = str(tmp_path / "store")
    assert runner.invoke(app, ["init", "--store", store]).exit_code == 0
    monkeypatch.setenv("ENERTWIN_HOME", str(tmp_path / "bob"))  # a second, legitimate operator
    bob = Signer.create(tmp_path / "bob" / "keys")
    forged = tmp_path / "costs.ttl"
    forged.write_bytes(default_cost_table() + _key_publication_turtle(key_node(bob.key_id).value, bob.public_key))
    attack = runner.invoke(app, ["costs", "load", str(forged), "--store", store])
    assert attack.exit_code == 2, attack.output
    assert "may not publish signing keys" in attack.output and "only ledger records" in attack.output
    assert runner.invoke(app, ["costs", "load", _cost_model(tmp_path), "--store", store]).exit_code == 0
    assert runner.invoke(app, ["audit", "verify", "--store", store]).exit_code == 0


def test_key_triples_outside_the_ledger_publish_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from enertwin.kg.provenance.keys import Signer
    from enertwin.kg.provenance.ledger import key_node, public_key_of
    from enertwin.kg.store import COST_GRAPH

    store = str(tmp_path / "store")
    assert runner.invoke(app, ["init", "--store", store]).exit_code == 0
    monkeypatch.setenv("ENERTWIN_HOME", str(tmp_path / "bob"))
    bob = Signer.create(tmp_path / "bob" / "keys")
    with Store.open(store) as opened:  # planted past the write check, straight into the cost graph's version
        physical = opened.live()[COST_GRAPH]
        triples = _key_publication_turtle(key_node(bob.key_id).value, bob.public_key).decode()
        opened.backend.update(f"INSERT DATA {{ GRAPH {physical} {{ {triples} }} }}")
        assert public_key_of(opened, key_node(bob.key_id)) is None
    assert runner.invoke(app, ["costs", "load", _cost_model(tmp_path), "--store", store]).exit_code == 0
    result = runner.invoke(app, ["audit", "verify", "--store", store])
    assert result.exit_code == 0, result.output


# -- audit verify --deep: stored values and graphs changed with DuckDB and Oxigraph themselves ----------------


@contextmanager
def series_changed(store: str, table: str, change: str, *values: object) -> Iterator[None]:
    """Run ``change`` on the store's series.duckdb with DuckDB itself; put ``table`` back exactly afterwards."""
    with duckdb.connect(str(Path(store) / "series.duckdb")) as db:
        db.execute(f"CREATE TABLE kept AS SELECT * FROM {table}")
        db.execute(change, list(values))
    try:
        yield
    finally:
        with duckdb.connect(str(Path(store) / "series.duckdb")) as db:
            db.execute(f"DELETE FROM {table}")
            db.execute(f"INSERT INTO {table} SELECT * FROM kept")
            db.execute("DROP TABLE kept")


def test_verify_deep_passes_an_untouched_store(audited: tuple[str, str]) -> None:
    store, _ = audited
    result = runner.invoke(app, ["audit", "verify", "--deep", "--store", store])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: ")


def test_verify_deep_names_imported_profile_values_times_ten(audited: tuple[str, str]) -> None:
    store, _ = audited
    with duckdb.connect(str(Path(store) / "series.duckdb")) as db:
        query = "SELECT min(series_key) FROM series_values WHERE starts_with(series_key, ?)"
        key = db.execute(query, [f"simbench/{HV}/load/"]).fetchall()[0][0]
    with series_changed(
        store, "series_values", "UPDATE series_values SET value = value * 10 WHERE series_key = ?", key
    ):
        assert runner.invoke(app, ["audit", "verify", "--store", store]).exit_code == 0
        result = runner.invoke(app, ["audit", "verify", "--deep", "--store", store])
    assert result.exit_code == 7
    line = " ".join(result.output.split())
    assert re.search(rf"record \d+ <{re.escape(ns.GRAPH_BASE)}record/\d+> does not verify", line), line
    assert f"the values of series '{key}' in the series store differ from the hashes its import recorded" in line
    assert runner.invoke(app, ["audit", "verify", "--deep", "--store", store]).exit_code == 0


def test_verify_deep_names_a_changed_input_snapshot(audited: tuple[str, str]) -> None:
    store, _ = audited
    with series_changed(store, "series_snapshots", "UPDATE series_snapshots SET value = value + 1 WHERE step = 0"):
        assert runner.invoke(app, ["audit", "verify", "--store", store]).exit_code == 0
        result = runner.invoke(app, ["audit", "verify", "--deep", "--store", store])
    assert result.exit_code == 7
    line = " ".join(result.output.split())
    graph = re.escape(ns.GRAPH_BASE)
    assert re.search(rf"record \d+ <{graph}record/\d+> does not verify: the series snapshot <", line), line
    assert "it read does not hold" in line and "its values were changed" in line
    assert runner.invoke(app, ["audit", "verify", "--deep", "--store", store]).exit_code == 0


def test_verify_deep_names_a_graph_no_decision_read_changed_in_oxigraph(tmp_path: Path) -> None:
    store, code = str(tmp_path / "store"), "1-HV-mixed--0-sw"
    imported = runner.invoke(app, ["import", "simbench", code, "--store", store])
    assert imported.exit_code == 0, imported.output
    with Store.open(store) as opened:
        version = opened.live()[NamedNode(f"{ns.GRAPH_BASE}simbench/{code}")]
    graph = pyoxigraph.Store(str(tmp_path / "store" / "graph"))
    graph.add(Quad(NamedNode(f"{ns.ID_BASE}tampered"), ns.RDFS_LABEL, pyoxigraph.Literal("added in Oxigraph"), version))
    graph.flush()
    del graph
    assert runner.invoke(app, ["audit", "verify", "--store", store]).exit_code == 0
    result = runner.invoke(app, ["audit", "verify", "--deep", "--store", store])
    assert result.exit_code == 7
    line = " ".join(result.output.split())
    assert f"record 2 <{record_graph(2).value}> does not verify" in line
    assert f"the graph version <{version.value}> it generated (the live version of" in line
    assert "no longer hash to the recorded content hash" in line
