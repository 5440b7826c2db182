"""How SimBench tables (as pandapower builds them) map onto the ontology.

The mapping is data: one :class:`TableMap` per SimBench table, one
:class:`ColumnMap` per column that becomes a triple. The importer loops over it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from pyoxigraph import NamedNode

from enertwin.kg import namespaces as ns


class Kind(Enum):
    """How a column's value is written."""

    DOUBLE = "double"
    BOOLEAN = "boolean"
    INTEGER = "integer"
    STRING = "string"
    BUS = "bus"  # an index into net.bus, written as the bus IRI
    FUEL = "fuel"  # a fuel code, written as the fuel-type IRI of the cost table
    PROFILE = "profile"  # a profile name, written as the series IRI


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """One column of a SimBench table and the property it becomes."""

    column: str
    prop: NamedNode
    kind: Kind


@dataclass(frozen=True, slots=True)
class TableMap:
    """One SimBench table: the class of its rows and the columns kept."""

    table: str
    cls: NamedNode
    slug: str
    columns: tuple[ColumnMap, ...]
    profile_table: str | None = None
    profile_suffix: str = ""
    extra: tuple[tuple[NamedNode, NamedNode], ...] = field(default=())


_COMMON = (
    ColumnMap("in_service", ns.IN_SERVICE, Kind.BOOLEAN),
    ColumnMap("subnet", ns.SUBNET, Kind.STRING),
    ColumnMap("voltLvl", ns.VOLTAGE_LEVEL, Kind.INTEGER),
)

DAY_AHEAD_MARKET = NamedNode(ns.ID_BASE + "market/day-ahead")

TABLES: tuple[TableMap, ...] = (
    TableMap("bus", ns.BUS, "bus", (ColumnMap("vn_kv", ns.NOMINAL_VOLTAGE, Kind.DOUBLE), *_COMMON)),
    TableMap(
        "line",
        ns.LINE,
        "line",
        (
            ColumnMap("from_bus", ns.FROM_BUS, Kind.BUS),
            ColumnMap("to_bus", ns.TO_BUS, Kind.BUS),
            ColumnMap("length_km", ns.LENGTH, Kind.DOUBLE),
            ColumnMap("r_ohm_per_km", ns.RESISTANCE_PER_KM, Kind.DOUBLE),
            ColumnMap("x_ohm_per_km", ns.REACTANCE_PER_KM, Kind.DOUBLE),
            ColumnMap("max_i_ka", ns.MAX_CURRENT, Kind.DOUBLE),
            ColumnMap("type", ns.SOURCE_TYPE, Kind.STRING),
            *_COMMON,
        ),
    ),
    TableMap(
        "trafo",
        ns.TRANSFORMER,
        "trafo",
        (
            ColumnMap("hv_bus", ns.HV_BUS, Kind.BUS),
            ColumnMap("lv_bus", ns.LV_BUS, Kind.BUS),
            ColumnMap("sn_mva", ns.RATED_APPARENT_POWER, Kind.DOUBLE),
            *_COMMON,
        ),
    ),
    TableMap(
        "switch",
        ns.SWITCH,
        "switch",
        (
            ColumnMap("bus", ns.SWITCH_BUS, Kind.BUS),
            ColumnMap("closed", ns.IS_CLOSED, Kind.BOOLEAN),
            ColumnMap("type", ns.SOURCE_TYPE, Kind.STRING),
            ColumnMap("subnet", ns.SUBNET, Kind.STRING),
            ColumnMap("voltLvl", ns.VOLTAGE_LEVEL, Kind.INTEGER),
        ),
    ),
    TableMap(
        "load",
        ns.LOAD,
        "load",
        (
            ColumnMap("bus", ns.AT_BUS, Kind.BUS),
            ColumnMap("p_mw", ns.ACTIVE_POWER, Kind.DOUBLE),
            ColumnMap("type", ns.SOURCE_TYPE, Kind.STRING),
            ColumnMap("profile", ns.HAS_PROFILE, Kind.PROFILE),
            *_COMMON,
        ),
        profile_table="load",
        profile_suffix="_pload",
    ),
    TableMap(
        "sgen",
        ns.RENEWABLE_UNIT,
        "sgen",
        (
            ColumnMap("bus", ns.AT_BUS, Kind.BUS),
            ColumnMap("p_mw", ns.ACTIVE_POWER, Kind.DOUBLE),
            ColumnMap("type", ns.TECHNOLOGY, Kind.STRING),
            ColumnMap("profile", ns.HAS_PROFILE, Kind.PROFILE),
            *_COMMON,
        ),
        profile_table="renewables",
    ),
    TableMap(
        "gen",
        ns.THERMAL_UNIT,
        "gen",
        (
            ColumnMap("bus", ns.AT_BUS, Kind.BUS),
            ColumnMap("p_mw", ns.ACTIVE_POWER, Kind.DOUBLE),
            ColumnMap("min_p_mw", ns.MIN_ACTIVE_POWER, Kind.DOUBLE),
            ColumnMap("max_p_mw", ns.MAX_ACTIVE_POWER, Kind.DOUBLE),
            ColumnMap("type", ns.HAS_FUEL_TYPE, Kind.FUEL),
            ColumnMap("profile", ns.HAS_PROFILE, Kind.PROFILE),
            *_COMMON,
        ),
        profile_table="powerplants",
    ),
    TableMap(
        "storage",
        ns.STORAGE,
        "storage",
        (
            ColumnMap("bus", ns.AT_BUS, Kind.BUS),
            ColumnMap("p_mw", ns.ACTIVE_POWER, Kind.DOUBLE),
            ColumnMap("sn_mva", ns.RATED_APPARENT_POWER, Kind.DOUBLE),
            ColumnMap("max_e_mwh", ns.ENERGY_CAPACITY, Kind.DOUBLE),
            ColumnMap("min_e_mwh", ns.MIN_ENERGY, Kind.DOUBLE),
            ColumnMap("efficiency_percent", ns.ROUND_TRIP_EFFICIENCY, Kind.DOUBLE),
            ColumnMap("self-discharge_percent_per_day", ns.SELF_DISCHARGE, Kind.DOUBLE),
            ColumnMap("type", ns.SOURCE_TYPE, Kind.STRING),
            ColumnMap("profile", ns.HAS_PROFILE, Kind.PROFILE),
            *_COMMON,
        ),
        profile_table="storage",
    ),
    TableMap(
        "ext_grid",
        ns.EXTERNAL_GRID,
        "ext_grid",
        (
            ColumnMap("bus", ns.AT_BUS, Kind.BUS),
            ColumnMap("min_p_mw", ns.MIN_ACTIVE_POWER, Kind.DOUBLE),
            ColumnMap("max_p_mw", ns.MAX_ACTIVE_POWER, Kind.DOUBLE),
            ColumnMap("type", ns.SOURCE_TYPE, Kind.STRING),
            *_COMMON,
        ),
        extra=((ns.TRADES_ON, DAY_AHEAD_MARKET),),
    ),
    TableMap(
        "measurement",
        ns.METER,
        "measurement",
        (
            ColumnMap("measurement_type", ns.MEASURED_VARIABLE, Kind.STRING),
            ColumnMap("subnet", ns.SUBNET, Kind.STRING),
            ColumnMap("voltLvl", ns.VOLTAGE_LEVEL, Kind.INTEGER),
        ),
    ),
)

# SimBench's switch element types and measurement element types name the table they point into.
SWITCH_ELEMENT_TABLES = {"b": "bus", "l": "line", "t": "trafo"}
MEASURED_ELEMENT_TABLES = {"bus": "bus", "line": "line", "trafo": "trafo"}

# Counted by tests and the summary: the SimBench tables that hold portfolio assets.
ASSET_TABLES = ("gen", "sgen", "storage", "load", "ext_grid")
