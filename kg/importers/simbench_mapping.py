"""How SimBench tables map onto the ontology, read from ``simbench_mapping.ttl``.

The mapping is graph data: one ``etmap:TableMap`` per SimBench table, one column
entry per column that becomes a triple, and ``etmap:ElementLink`` for rows that
name another element by (type, index). This module only turns that Turtle into
typed, immutable rows that the importer loops over.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import cache
from importlib.resources import files

from pyoxigraph import NamedNode, QuerySolutions, RdfFormat, Store

from enertwin.kg.queries import load_query
from enertwin.kg.rows import solutions

PACKAGE = "enertwin.kg.importers"


class Kind(Enum):
    """How a column's value is written (the local name of its ``etmap:kind``, lower case)."""

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
    """One SimBench table: the class of its rows, the columns kept, constant links."""

    table: str
    cls: NamedNode
    slug: str
    columns: tuple[ColumnMap, ...]
    profile_table: str | None = None
    profile_suffix: str = ""
    extra: tuple[tuple[NamedNode, NamedNode], ...] = ()


@dataclass(frozen=True, slots=True)
class ElementLink:
    """Rows of ``source`` that point at an element of ``targets[code]`` by (``kind_column``, element index)."""

    source: str
    kind_column: str
    prop: NamedNode
    targets: tuple[tuple[str, str], ...]


@cache
def _mapping() -> Store:
    store = Store()
    store.load((files(PACKAGE) / "simbench_mapping.ttl").read_bytes(), format=RdfFormat.TURTLE)
    return store


def _rows(name: str) -> QuerySolutions:
    return solutions(_mapping().query(load_query(PACKAGE, name)), name)


def _kind(term: NamedNode) -> Kind:
    local = term.value.rsplit("#", 1)[-1]
    return Kind(local.removesuffix("Reference").lower())


@cache
def table_maps() -> tuple[TableMap, ...]:
    """Every table map, in ``etmap:order``."""
    columns: dict[str, list[ColumnMap]] = {}
    for row in _rows("simbench_columns.rq"):
        columns.setdefault(row["map"].value, []).append(
            ColumnMap(row["source"].value, row["property"], _kind(row["kind"]))
        )
    constants: dict[str, list[tuple[NamedNode, NamedNode]]] = {}
    for row in _rows("simbench_constants.rq"):
        constants.setdefault(row["map"].value, []).append((row["property"], row["value"]))
    return tuple(
        TableMap(
            table=row["table"].value,
            cls=row["class"],
            slug=row["slug"].value,
            columns=tuple(columns.get(row["map"].value, ())),
            profile_table=row["profileTable"].value if row["profileTable"] is not None else None,
            profile_suffix=row["profileSuffix"].value if row["profileSuffix"] is not None else "",
            extra=tuple(constants.get(row["map"].value, ())),
        )
        for row in _rows("simbench_tables.rq")
    )


@cache
def element_links() -> tuple[ElementLink, ...]:
    """Every element link, in ``etmap:order``."""
    links: dict[str, ElementLink] = {}
    for row in _rows("simbench_links.rq"):
        key = row["link"].value
        target = (row["code"].value, row["table"].value)
        if key in links:
            old = links[key]
            links[key] = ElementLink(old.source, old.kind_column, old.prop, (*old.targets, target))
        else:
            links[key] = ElementLink(row["from"].value, row["kindColumn"].value, row["property"], (target,))
    return tuple(links.values())
