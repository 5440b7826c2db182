"""SimBench import: counts as SimBench reports them, profiles in DuckDB, idempotence, bad codes."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest
import simbench

from enertwin.kg.errors import InputError
from enertwin.kg.importers.simbench import grid_graph, grid_node, import_simbench, resolve_code, series_prefix
from enertwin.kg.importers.simbench_mapping import table_maps
from enertwin.kg.store import Store

COUNT_BY_CLASS = """
PREFIX et: <https://w3id.org/enertwin/ontology#>
SELECT ?grid ?class (COUNT(?x) AS ?n) WHERE { ?x a ?class ; et:inGrid ?grid . }
GROUP BY ?grid ?class
"""
PROFILE_OF = """
PREFIX et: <https://w3id.org/enertwin/ontology#>
SELECT ?asset ?key WHERE { ?asset et:sourceName ?name ; et:hasProfile ?series . ?series et:seriesKey ?key . }
"""


@cache
def _net(code: str) -> object:
    return simbench.get_simbench_net(code)


def _counts(store: Store, code: str) -> dict[str, int]:
    rows = store.query(COUNT_BY_CLASS, {"grid": grid_node(code)})
    by_class = {r["class"].value: int(r["n"].value) for r in rows}  # type: ignore[union-attr]
    return {m.table: by_class.get(m.cls.value, 0) for m in table_maps()}


@pytest.mark.parametrize("code", ["1-HV-mixed--2-sw", "1-EHV-mixed--2-sw"])
def test_import_gives_the_counts_simbench_reports(code: str) -> None:
    with Store.open(None) as store:
        result = import_simbench(store, code)
        expected = {m.table: len(_net(code)[m.table]) for m in table_maps()}  # type: ignore[index]
        assert result.counts == expected
        assert _counts(store, code) == expected


def test_two_grids_live_side_by_side(tmp_path) -> None:
    with Store.open(tmp_path / "store") as store:
        import_simbench(store, "hv-mixed")
        import_simbench(store, "1-MV-rural--2-sw")
        assert {grid_graph("1-HV-mixed--2-sw"), grid_graph("1-MV-rural--2-sw")} <= set(store.graphs())
        for code in ("1-HV-mixed--2-sw", "1-MV-rural--2-sw"):
            expected = {m.table: len(_net(code)[m.table]) for m in table_maps()}  # type: ignore[index]
            assert _counts(store, code) == expected


def test_reimport_leaves_one_copy(tmp_path) -> None:
    with Store.open(tmp_path / "store") as store:
        first = import_simbench(store, "1-HV-mixed--2-sw")
        values = store.series.count()
        second = import_simbench(store, "1-HV-mixed--2-sw")
        assert second.triples == first.triples
        assert store.series.count() == values
        assert _counts(store, "1-HV-mixed--2-sw")["load"] == len(_net("1-HV-mixed--2-sw").load)  # type: ignore[attr-defined]


def test_load_profile_reads_back_as_simbench_has_it() -> None:
    code = "1-HV-mixed--2-sw"
    net = _net(code)
    with Store.open(None) as store:
        import_simbench(store, code)
        load = net.load.iloc[0]  # type: ignore[attr-defined]
        suffix = "/load/" + load["name"].replace(" ", "%20")
        [row] = [r for r in store.query(PROFILE_OF) if r["asset"].value.endswith(suffix)]  # type: ignore[union-attr]
        key = row["key"].value  # type: ignore[union-attr]
        assert key.startswith(series_prefix(code))
        values = store.series.read(key, start=96 * 13, count=96)
        expected = net.profiles["load"][f"{load['profile']}_pload"].to_numpy()[96 * 13 : 96 * 14]  # type: ignore[attr-defined]
        np.testing.assert_allclose(values, expected)


def test_unknown_code_is_a_clear_error_and_changes_nothing() -> None:
    with Store.open(None) as store:
        before = store.canonical_dump()
        with pytest.raises(InputError, match=r"unknown SimBench code '1-HV-mixd--2-sw'.*Did you mean 1-HV-mixed--2-sw"):
            import_simbench(store, "1-HV-mixd--2-sw")
        assert store.canonical_dump() == before


def test_short_names_resolve() -> None:
    assert resolve_code("hv-mixed") == "1-HV-mixed--2-sw"
    assert resolve_code("ehv-mixed") == "1-EHV-mixed--2-sw"


@pytest.mark.slow
def test_complete_data_set_imports_and_validates(tmp_path) -> None:
    code = "1-complete_data-mixed-all-2-sw"
    with Store.open(tmp_path / "store") as store:
        result = import_simbench(store, code)
        assert result.counts["load"] == len(_net(code).load)  # type: ignore[attr-defined]
        assert result.triples > 1_700_000


def test_import_against_a_cost_model_without_oil_is_rejected_whole(tmp_path) -> None:
    from pathlib import Path

    from enertwin.kg.errors import ValidationError

    table = (Path(__file__).resolve().parents[2] / "kg" / "cost_table.ttl").read_text()
    without_oil = table.replace("etid:costs\\/reference\\/oil , ", "")
    start = without_oil.index("etid:costs\\/reference\\/oil a et:CostEntry")
    end = without_oil.index(" .", without_oil.index("et:minDownTime", start)) + 2
    without_oil = without_oil[:start] + without_oil[end:]
    with Store.open(tmp_path / "store") as store:
        store._load_cost_model(without_oil)
        before = store.canonical_dump()
        values = store.series.count()
        try:
            import_simbench(store, "ehv-mixed")
        except ValidationError as exc:
            oil_units = int((_net("1-EHV-mixed--2-sw").gen["type"] == "oil").sum())  # type: ignore[attr-defined]
            assert len({v.focus for v in exc.violations}) == oil_units
            assert all(v.source_name and v.source_name.startswith("EHV Gen") for v in exc.violations)
            assert "no cost entry" in str(exc)
        else:
            raise AssertionError("the import should have been rejected")
        assert store.canonical_dump() == before
        assert store.series.count() == values


def test_mapping_names_only_terms_the_ontology_declares() -> None:
    from importlib.resources import files

    from pyoxigraph import RdfFormat, parse

    from enertwin.kg.importers.simbench_mapping import element_links

    ontology = parse((files("enertwin.ontology") / "enertwin.ttl").read_bytes(), RdfFormat.TURTLE)
    declared = {t.subject for t in ontology if t.predicate.value.endswith("#type")}
    used = {m.cls for m in table_maps()} | {c.prop for m in table_maps() for c in m.columns}
    used |= {prop for m in table_maps() for prop, _ in m.extra} | {link.prop for link in element_links()}
    assert used <= declared, sorted(str(t) for t in used - declared)
    assert [m.table for m in table_maps()][:3] == ["bus", "line", "trafo"]


TIME_BASE = """
PREFIX et: <https://w3id.org/enertwin/ontology#>
SELECT DISTINCT ?grid ?zone ?start WHERE {
  ?grid et:timeZone ?zone . ?asset et:inGrid ?grid ; et:hasProfile/et:startTime ?start
}
"""


def test_profiles_are_recorded_as_instants_with_their_zone() -> None:
    """SimBench labels rows in German time: the graph says so, and row 0 is 2016-01-01T00:00+01:00."""
    with Store.open(None) as store:
        import_simbench(store, "1-LV-rural1--0-sw")
        rows = [
            (r["zone"].value, r["start"].value)
            for r in store.query(TIME_BASE, {"grid": grid_node("1-LV-rural1--0-sw")})
        ]  # type: ignore[union-attr]
    assert rows == [("Europe/Berlin", "2016-01-01T00:00:00+01:00")]


def test_profile_labels_that_are_no_regular_series_are_refused() -> None:
    from datetime import timedelta

    from enertwin.kg.importers.simbench_time import profile_start

    step = timedelta(minutes=15)
    load = _net("1-LV-rural1--0-sw").profiles["load"]  # type: ignore[attr-defined]
    assert profile_start({"load": load}, step, "x").isoformat() == "2016-01-01T00:00:00+01:00"
    with pytest.raises(InputError, match=r"profile table 'load': row 8000 is labelled .* rows must be 0:15:00 apart"):
        profile_start({"load": load.drop(index=8000).reset_index(drop=True)}, step, "x")
    regular = pd.date_range("2016-01-01 00:00", periods=len(load), freq="15min").strftime("%d.%m.%Y %H:%M")
    naive = load.assign(time=list(regular))
    with pytest.raises(InputError, match="are not Europe/Berlin wall-clock times in order"):
        profile_start({"load": naive}, step, "x")  # labels that ignore the clock change: 02:00 of 27 March exists
    later = [f"01.01.2017 00:{m:02d}" for m in (0, 15, 30, 45)]
    shifted = load.assign(time=load["time"].tolist()[4:] + later)  # a table one hour behind the others
    with pytest.raises(InputError, match=r"'renewables' starts at 2016-01-01T01:00:00\+01:00"):
        profile_start({"load": load, "renewables": shifted}, step, "x")
