"""``enertwin set``: one fact changed from the command line, validated (exit 5 changes nothing) and recorded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyoxigraph import NamedNode
from typer.testing import CliRunner

from enertwin.api.cli import app
from enertwin.kg import namespaces as ns
from enertwin.kg.importers.simbench import grid_graph
from enertwin.kg.provenance.ledger import entries
from enertwin.kg.store import Store

runner = CliRunner()
EHV = "1-EHV-mixed--2-sw"
DATA = Path(__file__).parent.parent / "data"
THERMAL = NamedNode(ns.ID_BASE + "test/thermal-1")


@pytest.fixture(scope="module")
def decided(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A disk store with hv-mixed and ehv-mixed imported and one decision: (store, decision IRI)."""
    folder = tmp_path_factory.mktemp("set")
    store, output = str(folder / "store"), folder / "out.json"
    arguments = ["optimize", "--case", "hv-mixed", "--start", "2016-01-14T06:00", "--steps", "8", "--store", store]
    ran = runner.invoke(app, [*arguments, "--json", str(output)])
    assert ran.exit_code == 0, ran.output
    return store, json.loads(output.read_text())["decision"].removesuffix("/schedule")


def _ehv_thermal_name(store: str) -> tuple[str, float]:
    with Store.open(store, read_only=True) as opened:
        pattern = f"GRAPH ?g {{ ?u a {ns.THERMAL_UNIT} ; {ns.SOURCE_NAME} ?name ; {ns.MAX_ACTIVE_POWER} ?p }}"
        rows = list(
            opened.query(
                f"SELECT ?g ?name ?p WHERE {{ {pattern} }} ORDER BY ?name", {"g": opened.live()[grid_graph(EHV)]}
            )
        )
    names = [str(r["name"].value) for r in rows]  # type: ignore[union-attr]
    unique = [(n, float(r["p"].value)) for n, r in zip(names, rows, strict=True) if names.count(n) == 1]  # type: ignore[union-attr]
    return unique[0]


def test_set_changes_records_and_replay_stays_identical(decided: tuple[str, str]) -> None:
    store, decision = decided
    name, power = _ehv_thermal_name(store)
    for step in range(5):
        ran = runner.invoke(
            app, ["set", name, "et:maxActivePower", str(power + step + 1), "--store", store, "--reason", "re-rated"]
        )
        assert ran.exit_code == 0, ran.output
        assert "recorded as" in ran.output
    verified = runner.invoke(app, ["audit", "verify", "--deep", "--store", store])
    assert verified.exit_code == 0, verified.output
    replayed = runner.invoke(app, ["replay", decision, "--store", store, "--json"])
    assert replayed.exit_code == 0, replayed.output
    assert json.loads(replayed.output)["identical"] is True


def test_a_rejected_value_exits_5_and_changes_nothing(decided: tuple[str, str]) -> None:
    store, _ = decided
    name, _ = _ehv_thermal_name(store)
    with Store.open(store, read_only=True) as opened:
        before, records = opened.canonical_dump(), len(entries(opened))
    ran = runner.invoke(app, ["set", name, "et:maxActivePower", "--store", store, "--", "-5"])
    assert ran.exit_code == 5, ran.output
    with Store.open(store, read_only=True) as opened:
        assert opened.canonical_dump() == before and len(entries(opened)) == records


def test_an_unknown_asset_or_prefix_is_bad_input(decided: tuple[str, str]) -> None:
    store, _ = decided
    unknown = runner.invoke(app, ["set", "no such unit", "et:maxActivePower", "1", "--store", store])
    assert unknown.exit_code == 2 and "no such unit" in unknown.output
    prefix = runner.invoke(app, ["set", "no such unit", "zz:maxActivePower", "1", "--store", store])
    assert prefix.exit_code == 2 and "zz:maxActivePower" in prefix.output


@pytest.mark.parametrize("store", ["remote"], indirect=True)
def test_set_on_a_remote_store(store: Store) -> None:
    store.series.replace(pd.DataFrame({"profile/PV1": np.linspace(0, 1, 96)}), "profile/")
    store.series.replace(pd.DataFrame({"prices/day-ahead": np.full(24, 40.0)}), "prices/")
    store.replace_graph(NamedNode(ns.GRAPH_BASE + "test/portfolio"), (DATA / "good_portfolio.ttl").read_bytes())
    url = store.backend.url  # type: ignore[attr-defined]
    ran = runner.invoke(app, ["set", THERMAL.value, "et:maxActivePower", "12.5", "--store", url, "--json"])
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.output)["after"].startswith('"12.5"')
    rejected = runner.invoke(app, ["set", THERMAL.value, "et:maxActivePower", "--store", url, "--", "-1"])
    assert rejected.exit_code == 5, rejected.output
    verified = runner.invoke(app, ["audit", "verify", "--deep", "--store", url])
    assert verified.exit_code == 0, verified.output
