"""Topology checks: islands, unsupplied buses, assets behind open switches."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from pyoxigraph import NamedNode, RdfFormat, Store

from enertwin.kg.namespaces import ET_BASE, GRAPH_BASE, ID_BASE
from enertwin.kg.topology import (
    ISLAND_CHECK,
    OPEN_SWITCH_ASSET_CHECK,
    UNSUPPLIED_BUS_CHECK,
    AssetRow,
    BranchRow,
    BusRow,
    SwitchRow,
    check_topology,
    count_by_check,
    find_topology_violations,
    read_topology,
)
from enertwin.kg.violation import Severity, Violation

PREFIXES = f"""\
@prefix et: <{ET_BASE}> .
@prefix etid: <{ID_BASE}> .
"""


def iri(local: str) -> str:
    return ID_BASE + local


def store_with(*grids: tuple[str, str]) -> Store:
    """An in-memory store with each (graph name, Turtle body) in its own named graph."""
    store = Store()
    for graph, body in grids:
        store.load(PREFIXES + body, format=RdfFormat.TURTLE, to_graph=NamedNode(GRAPH_BASE + graph))
    return store


def by_shape(violations: list[Violation], shape: str) -> list[Violation]:
    return [v for v in violations if v.shape == shape]


def foci(violations: list[Violation], shape: str) -> list[str]:
    return [v.focus for v in by_shape(violations, shape)]


def buses(grid: str, *numbers: int, out_of_service: tuple[int, ...] = ()) -> str:
    return "".join(
        f'etid:{grid}-bus{n} a et:Bus ; et:sourceName "{grid} Bus {n}" ; '
        f"et:inService {'false' if n in out_of_service else 'true'} ; et:inGrid etid:{grid} .\n"
        for n in numbers
    )


# A connected grid: external grid at bus 1, line 1-2, transformer 2-3, closed
# coupler 3-4, a closed line switch; a PV unit at bus 3, a load at bus 4.
CONNECTED = (
    buses("a", 1, 2, 3, 4)
    + """
etid:a-line1 a et:Line ; et:sourceName "a Line 1" ; et:fromBus etid:a-bus1 ; et:toBus etid:a-bus2 ;
    et:inService true .
etid:a-trafo1 a et:Transformer ; et:sourceName "a Trafo 1" ; et:hvBus etid:a-bus2 ; et:lvBus etid:a-bus3 ;
    et:inService true .
etid:a-sw1 a et:Switch ; et:sourceName "a Coupler 1" ; et:switchBus etid:a-bus3 ;
    et:switchedElement etid:a-bus4 ; et:isClosed true .
etid:a-sw2 a et:Switch ; et:sourceName "a Line switch 1" ; et:switchBus etid:a-bus2 ;
    et:switchedElement etid:a-line1 ; et:isClosed true .
etid:a-ext1 a et:ExternalGrid ; et:sourceName "a Ext 1" ; et:atBus etid:a-bus1 .
etid:a-pv1 a et:RenewableUnit ; et:sourceName "a PV 1" ; et:atBus etid:a-bus3 .
etid:a-load1 a et:Load ; et:sourceName "a Load 1" ; et:atBus etid:a-bus4 .
"""
)

# Two parts: bus 1 with the external grid and a line to bus 2; buses 3-4-5 with
# a storage at 3 and a load at 4, bus 5 bare, joined to nothing that is fed.
ISLAND = (
    buses("b", 1, 2, 3, 4, 5)
    + """
etid:b-line1 a et:Line ; et:sourceName "b Line 1" ; et:fromBus etid:b-bus1 ; et:toBus etid:b-bus2 ;
    et:inService true .
etid:b-line2 a et:Line ; et:sourceName "b Line 2" ; et:fromBus etid:b-bus3 ; et:toBus etid:b-bus4 ;
    et:inService true .
etid:b-line3 a et:Line ; et:sourceName "b Line 3" ; et:fromBus etid:b-bus4 ; et:toBus etid:b-bus5 ;
    et:inService true .
etid:b-ext1 a et:ExternalGrid ; et:sourceName "b Ext 1" ; et:atBus etid:b-bus1 .
etid:b-storage1 a et:Storage ; et:sourceName "b Storage 1" ; et:atBus etid:b-bus3 .
etid:b-load1 a et:Load ; et:sourceName "b Load 1" ; et:atBus etid:b-bus4 .
"""
)


def test_connected_grid_has_no_violations() -> None:
    assert check_topology(store_with(("a", CONNECTED))) == []


def test_island_with_load_is_reported_with_its_buses_and_assets() -> None:
    violations = check_topology(store_with(("b", ISLAND)))

    assert all(v.severity is Severity.WARNING for v in violations)
    (island,) = by_shape(violations, ISLAND_CHECK)
    assert island.focus == iri("b-bus3")  # lowest IRI of the island
    assert island.source_name == "b Bus 3"
    assert "3 buses (1 without assets) and 2 assets" in island.message
    for name in ("'b Bus 3'", "'b Bus 4'", "'b Bus 5'", "'b Load 1'", "'b Storage 1'"):
        assert name in island.message
    assert "No open switch separates it" in island.message
    assert "b Bus 1" not in island.message

    # Buses 3 and 4 carry assets; bare bus 5 is only counted in the island.
    assert foci(violations, UNSUPPLIED_BUS_CHECK) == [iri("b-bus3"), iri("b-bus4")]
    unsupplied = {v.focus: v for v in by_shape(violations, UNSUPPLIED_BUS_CHECK)}
    assert unsupplied[iri("b-bus4")].source_name == "b Bus 4"
    assert "'b Load 1'" in unsupplied[iri("b-bus4")].message
    # No switch would help: nothing behind an open switch.
    assert foci(violations, OPEN_SWITCH_ASSET_CHECK) == []
    assert len(violations) == 3


def test_load_behind_open_bus_bus_switch() -> None:
    body = (
        buses("c", 1, 2)
        + """
etid:c-sw1 a et:Switch ; et:sourceName "c Coupler 1" ; et:switchBus etid:c-bus1 ;
    et:switchedElement etid:c-bus2 ; et:isClosed false .
etid:c-ext1 a et:ExternalGrid ; et:sourceName "c Ext 1" ; et:atBus etid:c-bus1 .
etid:c-load1 a et:Load ; et:sourceName "c Load 1" ; et:atBus etid:c-bus2 .
"""
    )
    violations = check_topology(store_with(("c", body)))

    (behind,) = by_shape(violations, OPEN_SWITCH_ASSET_CHECK)
    assert behind.focus == iri("c-load1")
    assert behind.source_name == "c Load 1"
    assert behind.severity is Severity.WARNING
    assert "'c Coupler 1'" in behind.message
    assert "Load at bus 'c Bus 2'" in behind.message
    (island,) = by_shape(violations, ISLAND_CHECK)
    assert island.focus == iri("c-bus2")
    assert "Closing open switch(es) 'c Coupler 1' would connect it" in island.message
    assert foci(violations, UNSUPPLIED_BUS_CHECK) == [iri("c-bus2")]


def test_closing_the_same_coupler_connects_when_the_switch_points_the_other_way() -> None:
    body = (
        buses("c", 1, 2)
        + """
etid:c-sw1 a et:Switch ; et:switchBus etid:c-bus2 ; et:switchedElement etid:c-bus1 ; et:isClosed false .
etid:c-ext1 a et:ExternalGrid ; et:atBus etid:c-bus1 .
etid:c-load1 a et:Load ; et:atBus etid:c-bus2 .
"""
    )
    violations = check_topology(store_with(("c", body)))
    assert foci(violations, OPEN_SWITCH_ASSET_CHECK) == [iri("c-load1")]
    # Without a source name the message falls back to the IRI.
    assert f"<{iri('c-sw1')}>" in by_shape(violations, OPEN_SWITCH_ASSET_CHECK)[0].message


LINE_WITH_OPEN_END = (
    buses("d", 1, 2)
    + """
etid:d-line1 a et:Line ; et:sourceName "d Line 1" ; et:fromBus etid:d-bus1 ; et:toBus etid:d-bus2 ;
    et:inService true .
etid:d-sw1 a et:Switch ; et:sourceName "d Line switch 1" ; et:switchBus etid:d-bus2 ;
    et:switchedElement etid:d-line1 ; et:isClosed false .
etid:d-ext1 a et:ExternalGrid ; et:sourceName "d Ext 1" ; et:atBus etid:d-bus1 .
etid:d-gen1 a et:ThermalUnit ; et:sourceName "d Gen 1" ; et:atBus etid:d-bus2 .
"""
)


def test_open_switch_at_a_line_end_disconnects_the_line() -> None:
    violations = check_topology(store_with(("d", LINE_WITH_OPEN_END)))
    (behind,) = by_shape(violations, OPEN_SWITCH_ASSET_CHECK)
    assert behind.focus == iri("d-gen1")
    assert "ThermalUnit" in behind.message
    assert "'d Line switch 1'" in behind.message
    assert foci(violations, ISLAND_CHECK) == [iri("d-bus2")]


def test_open_switch_does_not_matter_when_a_parallel_line_feeds_the_bus() -> None:
    parallel = """
etid:d-line2 a et:Line ; et:fromBus etid:d-bus1 ; et:toBus etid:d-bus2 ; et:inService true .
"""
    assert check_topology(store_with(("d", LINE_WITH_OPEN_END + parallel))) == []


def test_open_switches_at_both_line_ends_are_both_named() -> None:
    other_end = """
etid:d-sw2 a et:Switch ; et:sourceName "d Line switch 2" ; et:switchBus etid:d-bus1 ;
    et:switchedElement etid:d-line1 ; et:isClosed false .
"""
    violations = check_topology(store_with(("d", LINE_WITH_OPEN_END + other_end)))
    (behind,) = by_shape(violations, OPEN_SWITCH_ASSET_CHECK)
    assert "'d Line switch 1'" in behind.message
    assert "'d Line switch 2'" in behind.message


def test_open_switches_in_series_are_all_named() -> None:
    # ext at 1 -open- 2 (bare) -open- 3 (load): closing both is needed.
    body = (
        buses("e", 1, 2, 3)
        + """
etid:e-sw1 a et:Switch ; et:sourceName "e Coupler 1" ; et:switchBus etid:e-bus1 ;
    et:switchedElement etid:e-bus2 ; et:isClosed false .
etid:e-sw2 a et:Switch ; et:sourceName "e Coupler 2" ; et:switchBus etid:e-bus2 ;
    et:switchedElement etid:e-bus3 ; et:isClosed false .
etid:e-ext1 a et:ExternalGrid ; et:atBus etid:e-bus1 .
etid:e-load1 a et:Load ; et:sourceName "e Load 1" ; et:atBus etid:e-bus3 .
"""
    )
    violations = check_topology(store_with(("e", body)))
    (behind,) = by_shape(violations, OPEN_SWITCH_ASSET_CHECK)
    assert "'e Coupler 2', 'e Coupler 1'" in behind.message  # nearest first
    # The bare bus 2 is a component without assets: no island warning for it.
    assert foci(violations, ISLAND_CHECK) == [iri("e-bus3")]


def test_out_of_service_line_that_cuts_a_bus_is_reported() -> None:
    body = (
        buses("f", 1, 2)
        + """
etid:f-line1 a et:Line ; et:sourceName "f Line 1" ; et:fromBus etid:f-bus1 ; et:toBus etid:f-bus2 ;
    et:inService false .
etid:f-sw1 a et:Switch ; et:switchBus etid:f-bus2 ; et:switchedElement etid:f-line1 ; et:isClosed false .
etid:f-ext1 a et:ExternalGrid ; et:atBus etid:f-bus1 .
etid:f-load1 a et:Load ; et:sourceName "f Load 1" ; et:atBus etid:f-bus2 .
"""
    )
    violations = check_topology(store_with(("f", body)))
    assert foci(violations, ISLAND_CHECK) == [iri("f-bus2")]
    assert foci(violations, UNSUPPLIED_BUS_CHECK) == [iri("f-bus2")]
    # Closing the switch of an out-of-service line would not help.
    assert foci(violations, OPEN_SWITCH_ASSET_CHECK) == []


def test_out_of_service_transformer_cuts_the_lv_side() -> None:
    body = (
        buses("g", 1, 2)
        + """
etid:g-trafo1 a et:Transformer ; et:hvBus etid:g-bus1 ; et:lvBus etid:g-bus2 ; et:inService false .
etid:g-ext1 a et:ExternalGrid ; et:atBus etid:g-bus1 .
etid:g-load1 a et:Load ; et:atBus etid:g-bus2 .
"""
    )
    violations = check_topology(store_with(("g", body)))
    assert foci(violations, UNSUPPLIED_BUS_CHECK) == [iri("g-bus2")]


def test_out_of_service_bus_with_assets_is_unsupplied() -> None:
    body = (
        buses("h", 1, 2, out_of_service=(2,))
        + """
etid:h-line1 a et:Line ; et:fromBus etid:h-bus1 ; et:toBus etid:h-bus2 ; et:inService true .
etid:h-ext1 a et:ExternalGrid ; et:atBus etid:h-bus1 .
etid:h-load1 a et:Load ; et:sourceName "h Load 1" ; et:atBus etid:h-bus2 .
"""
    )
    violations = check_topology(store_with(("h", body)))
    (unsupplied,) = violations
    assert unsupplied.shape == UNSUPPLIED_BUS_CHECK
    assert unsupplied.focus == iri("h-bus2")
    assert "out of service" in unsupplied.message
    assert "'h Load 1'" in unsupplied.message


def test_out_of_service_external_grid_supplies_nothing_and_out_of_service_assets_need_nothing() -> None:
    body = (
        buses("i", 1, 2)
        + """
etid:i-ext1 a et:ExternalGrid ; et:atBus etid:i-bus1 ; et:inService false .
etid:i-load1 a et:Load ; et:atBus etid:i-bus1 .
etid:i-load2 a et:Load ; et:atBus etid:i-bus2 ; et:inService false .
"""
    )
    violations = check_topology(store_with(("i", body)))
    assert foci(violations, ISLAND_CHECK) == [iri("i-bus1")]
    assert foci(violations, UNSUPPLIED_BUS_CHECK) == [iri("i-bus1")]


def test_restriction_to_one_grid() -> None:
    store = store_with(("a", CONNECTED), ("b", ISLAND))

    assert check_topology(store, NamedNode(iri("a"))) == []
    only_b = check_topology(store, NamedNode(iri("b")))
    everything = check_topology(store)
    assert only_b == everything
    assert len(only_b) == 3
    assert all(v.focus.startswith(iri("b-")) for v in only_b)

    rows_a = read_topology(store, NamedNode(iri("a")))
    assert {bus.iri for bus in rows_a.buses} == {iri(f"a-bus{n}") for n in (1, 2, 3, 4)}
    assert {branch.iri for branch in rows_a.branches} == {iri("a-line1"), iri("a-trafo1")}
    assert {switch.iri for switch in rows_a.switches} == {iri("a-sw1"), iri("a-sw2")}
    assert {asset.iri for asset in rows_a.assets} == {iri("a-ext1"), iri("a-pv1"), iri("a-load1")}
    assert check_topology(store, NamedNode(iri("no-such-grid"))) == []


def test_rows_read_from_the_store() -> None:
    rows = read_topology(store_with(("d", LINE_WITH_OPEN_END)))
    assert BusRow(iri("d-bus1"), "d Bus 1", True) in rows.buses
    assert BranchRow(iri("d-line1"), iri("d-bus1"), iri("d-bus2"), "line", "d Line 1", True) in rows.branches
    assert rows.switches == (SwitchRow(iri("d-sw1"), iri("d-bus2"), iri("d-line1"), False, "d Line switch 1"),)
    assert AssetRow(iri("d-gen1"), ET_BASE + "ThermalUnit", iri("d-bus2"), "d Gen 1", True) in rows.assets


def test_pure_function_dedupes_rows_and_ignores_unknown_references() -> None:
    rows_buses = [BusRow("urn:b1"), BusRow("urn:b2"), BusRow("urn:b2")]
    branches = [BranchRow("urn:l1", "urn:b1", "urn:b2"), BranchRow("urn:l2", "urn:b2", "urn:elsewhere")]
    switches = [SwitchRow("urn:s1", "urn:b2", "urn:unknown", closed=False)]
    assets = [
        AssetRow("urn:x", ET_BASE + "ExternalGrid", "urn:b1"),
        AssetRow("urn:x", ET_BASE + "ExternalGrid", "urn:b1"),
        AssetRow("urn:load", ET_BASE + "Load", "urn:b2"),
        AssetRow("urn:lost", ET_BASE + "Load", "urn:nowhere"),
    ]
    assert find_topology_violations(rows_buses, branches, switches, assets) == []


def test_message_names_a_few_and_counts_the_rest() -> None:
    rows_buses = [BusRow(f"urn:bus{n:02}", f"Bus {n:02}") for n in range(12)]
    branches = [BranchRow(f"urn:line{n}", f"urn:bus{n:02}", f"urn:bus{n + 1:02}") for n in range(11)]
    assets = [AssetRow(f"urn:load{n:02}", ET_BASE + "Load", f"urn:bus{n:02}", f"Load {n:02}") for n in range(12)]
    violations = find_topology_violations(rows_buses, branches, [], assets)
    island = violations[0]
    assert island.shape == ISLAND_CHECK
    assert "'Bus 00', 'Bus 01', 'Bus 02', 'Bus 03', 'Bus 04' and 7 more" in island.message
    assert count_by_check(violations) == {"IslandCheck": 1, "UnsuppliedBusCheck": 12}


def test_large_synthetic_grid_is_fast() -> None:
    """A grid the size of all SimBench nets together (~40 k buses) in a few seconds."""
    n = 40_000
    rows_buses = [BusRow(f"urn:bus{i}", f"Bus {i}") for i in range(n)]
    # Radial feeders of 100 buses hanging off bus 0; every 10th starts with an open line switch;
    # open couplers join odd buses to the next bus.
    branches = [BranchRow(f"urn:line{i}", f"urn:bus{i - 1 if i % 100 else 0}", f"urn:bus{i}") for i in range(1, n)]
    switches = [SwitchRow(f"urn:sw{i}", f"urn:bus{i}", f"urn:line{i}", closed=i % 1000 != 0) for i in range(1, n)] + [
        SwitchRow(f"urn:cp{i}", f"urn:bus{i}", f"urn:bus{i + 1}", closed=False) for i in range(1, n - 1, 2)
    ]
    assets = [AssetRow("urn:ext", ET_BASE + "ExternalGrid", "urn:bus0")] + [
        AssetRow(f"urn:load{i}", ET_BASE + "Load", f"urn:bus{i}") for i in range(1, n, 2)
    ]
    start = time.perf_counter()
    violations = find_topology_violations(rows_buses, branches, switches, assets)
    elapsed = time.perf_counter() - start
    counts = count_by_check(violations)
    print(f"synthetic {n} buses: {counts} in {elapsed:.2f} s")
    # Feeders 1000, 2000, ... 39000 hang behind an open line switch: 39 islands
    # of 100 buses and 50 loads, each one closed switch away from supply.
    assert counts == {"IslandCheck": 39, "UnsuppliedBusCheck": 39 * 50, "OpenSwitchAssetCheck": 39 * 50}
    assert elapsed < 10


def simbench_rows(code: str) -> tuple[list[BusRow], list[BranchRow], list[SwitchRow], list[AssetRow]]:
    """Topology rows straight from a SimBench net (pandapower tables), not through the graph."""
    simbench = pytest.importorskip("simbench")
    net = simbench.get_simbench_net(code)

    def bus(index: object) -> str:
        return f"urn:sb:bus/{index}"

    rows_buses = [BusRow(bus(i), str(row["name"]), bool(row["in_service"])) for i, row in net.bus.iterrows()]
    branches = [
        BranchRow(
            f"urn:sb:line/{i}",
            bus(row["from_bus"]),
            bus(row["to_bus"]),
            "line",
            str(row["name"]),
            bool(row["in_service"]),
        )
        for i, row in net.line.iterrows()
    ] + [
        BranchRow(
            f"urn:sb:trafo/{i}",
            bus(row["hv_bus"]),
            bus(row["lv_bus"]),
            "trafo",
            str(row["name"]),
            bool(row["in_service"]),
        )
        for i, row in net.trafo.iterrows()
    ]
    element = {"b": "urn:sb:bus/", "l": "urn:sb:line/", "t": "urn:sb:trafo/"}
    switches = [
        SwitchRow(
            f"urn:sb:switch/{i}",
            bus(row["bus"]),
            element[row["et"]] + str(row["element"]),
            bool(row["closed"]),
            str(row["name"]),
        )
        for i, row in net.switch.iterrows()
        if row["et"] in element
    ]
    classes = {
        "ext_grid": "ExternalGrid",
        "load": "Load",
        "sgen": "RenewableUnit",
        "gen": "ThermalUnit",
        "storage": "Storage",
    }
    assets = [
        AssetRow(f"urn:sb:{table}/{i}", ET_BASE + cls, bus(row["bus"]), str(row["name"]), bool(row["in_service"]))
        for table, cls in classes.items()
        for i, row in getattr(net, table).iterrows()
    ]
    return rows_buses, branches, switches, assets


@pytest.fixture(scope="module")
def hv_mixed() -> tuple[list[BusRow], list[BranchRow], list[SwitchRow], list[AssetRow]]:
    return simbench_rows("1-HV-mixed--2-sw")


def test_simbench_hv_mixed_with_switches(hv_mixed) -> None:
    rows_buses, branches, switches, assets = hv_mixed
    violations = find_topology_violations(rows_buses, branches, switches, assets)
    assert isinstance(violations, list)
    print(
        f"1-HV-mixed--2-sw: {len(rows_buses)} buses, {len(branches)} branches, {len(switches)} switches "
        f"({sum(not s.closed for s in switches)} open), {len(assets)} assets -> {count_by_check(violations)}"
    )
    for violation in violations[:10]:
        print(violation.describe())
    # SimBench nets are ready for a power flow: everything is fed.
    assert violations == []


def test_simbench_hv_mixed_with_every_switch_opened(hv_mixed) -> None:
    """Only switches change, so every island must be one that closing switches reconnects."""
    rows_buses, branches, switches, assets = hv_mixed
    all_open = [replace(switch, closed=False) for switch in switches]
    violations = find_topology_violations(rows_buses, branches, all_open, assets)
    counts = count_by_check(violations)
    print(f"1-HV-mixed--2-sw, all {len(all_open)} switches open -> {counts}")
    for violation in violations[:3]:
        print(violation.describe())

    islands = by_shape(violations, ISLAND_CHECK)
    assert islands
    assert all("Closing open switch(es)" in island.message for island in islands)
    bus_of = {asset.iri: asset.bus for asset in assets}
    unsupplied_buses = set(foci(violations, UNSUPPLIED_BUS_CHECK))
    behind = foci(violations, OPEN_SWITCH_ASSET_CHECK)
    assert {bus_of[asset] for asset in behind} == unsupplied_buses
    assert len(behind) == sum(1 for asset in assets if asset.bus in unsupplied_buses)
