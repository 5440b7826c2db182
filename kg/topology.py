"""Topology checks that need graph algorithms rather than SHACL shapes.

SHACL sees one node and its neighbours; whether a load is reached by an
external grid depends on the whole network. This module reads the grid
topology from the store with the ``topology_*.rq`` queries, builds the
energised network with networkx and reports three kinds of warning, in the
same :class:`~enertwin.kg.violation.Violation` form the shapes use:

``IslandCheck``
    a connected part of the energised network that holds assets but no
    external grid; one warning per island, on its lowest-IRI bus.
``UnsuppliedBusCheck``
    a bus with assets that no external grid reaches (in an island, or out of
    service itself); buses without assets are only counted in the island
    warning.
``OpenSwitchAssetCheck``
    an asset that is cut off from every external grid only by open switches:
    closing all open switches would supply it. The message names the open
    switches on one way to supply.

The energised network (pandapower's semantics for SimBench data):

* nodes are the in-service buses;
* an in-service line or transformer joins its two buses when both are in
  service and no open switch sits at either of its ends;
* a closed bus-bus switch joins its two buses, an open one does not;
* in-service external grids at in-service buses supply their component.

Out-of-service assets are ignored: they neither need nor give supply. A switch
without ``et:isClosed`` counts as closed (pandapower's default), a bus, branch
or asset without ``et:inService`` as in service. Rows naming a bus or branch
that is not among the rows given (another grid when the check is restricted
to one, or broken data) carry nothing.

The buses are only cut into connected components; the question "would
closing switches help" is one breadth-first search over the much smaller graph
of components (from all external grids at once), so the check stays linear in
the size of the grid.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Final, Literal, Protocol, TypeAlias, TypeVar

import networkx as nx
from pyoxigraph import BlankNode, NamedNode, QuerySolution, QuerySolutions, Store, Triple, Variable
from pyoxigraph import Literal as RdfLiteral

from enertwin.kg.namespaces import EXTERNAL_GRID
from enertwin.kg.queries import load_query
from enertwin.kg.violation import Severity, Violation

SHAPES_BASE: Final = "https://w3id.org/enertwin/shapes#"
ISLAND_CHECK: Final = SHAPES_BASE + "IslandCheck"
UNSUPPLIED_BUS_CHECK: Final = SHAPES_BASE + "UnsuppliedBusCheck"
OPEN_SWITCH_ASSET_CHECK: Final = SHAPES_BASE + "OpenSwitchAssetCheck"

NAMES_SHOWN: Final = 5
"""How many buses, assets or switches a message names before it only counts."""

BranchKind = Literal["line", "trafo"]
_Term: TypeAlias = NamedNode | BlankNode | RdfLiteral | Triple


@dataclass(frozen=True, slots=True)
class BusRow:
    """An ``et:Bus``."""

    iri: str
    name: str | None = None
    in_service: bool = True


@dataclass(frozen=True, slots=True)
class BranchRow:
    """An ``et:Line`` (``bus_a`` from, ``bus_b`` to) or ``et:Transformer`` (``bus_a`` HV, ``bus_b`` LV)."""

    iri: str
    bus_a: str
    bus_b: str
    kind: BranchKind = "line"
    name: str | None = None
    in_service: bool = True


@dataclass(frozen=True, slots=True)
class SwitchRow:
    """An ``et:Switch`` at ``bus``; ``element`` is a bus (coupler) or a line/transformer (branch end)."""

    iri: str
    bus: str
    element: str
    closed: bool = True
    name: str | None = None


@dataclass(frozen=True, slots=True)
class AssetRow:
    """An asset at a bus; ``cls`` is the IRI of its class (``et:Load``, ``et:ExternalGrid``, ...)."""

    iri: str
    cls: str
    bus: str
    name: str | None = None
    in_service: bool = True


@dataclass(frozen=True, slots=True)
class TopologyRows:
    """Everything :func:`find_topology_violations` needs, as read from the store."""

    buses: tuple[BusRow, ...]
    branches: tuple[BranchRow, ...]
    switches: tuple[SwitchRow, ...]
    assets: tuple[AssetRow, ...]


# ---------------------------------------------------------------------------
# Reading the store


def _query(name: str) -> str:
    return load_query("enertwin.kg", f"topology_{name}.rq")


class Queryable(Protocol):
    """Anything that runs a SELECT with bound variables: the enertwin ``Store`` facade."""

    def query(self, query: str, bindings: Mapping[str, NamedNode] | None = None) -> QuerySolutions:
        """Run ``query`` with ``bindings``."""
        ...


def _select(store: Store | Queryable, name: str, grid: NamedNode | None) -> Iterator[QuerySolution]:
    if isinstance(store, Store):
        substitutions: dict[Variable, _Term] | None = {Variable("grid"): grid} if grid is not None else None
        result = store.query(_query(name), use_default_graph_as_union=True, substitutions=substitutions)
    else:
        result = store.query(_query(name), {"grid": grid} if grid is not None else None)
    if not isinstance(result, QuerySolutions):  # pragma: no cover - the .rq files are SELECT queries
        raise TypeError(f"topology_{name}.rq is not a SELECT query")
    return iter(result)


def _text(term: _Term | None) -> str | None:
    return None if term is None or isinstance(term, Triple) else term.value


def _flag(term: _Term | None, default: bool) -> bool:
    """Read an ``xsd:boolean`` literal; an absent or unreadable value gives ``default``."""
    if term is None or isinstance(term, Triple):
        return default
    value = term.value.strip().lower()
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    return default


def read_topology(store: Store | Queryable, grid: NamedNode | None = None) -> TopologyRows:
    """Read buses, branches, switches and assets of one grid (``grid``) or of all grids (``None``)."""
    buses = tuple(
        BusRow(iri=s["bus"].value, name=_text(s["name"]), in_service=_flag(s["inService"], True))
        for s in _select(store, "buses", grid)
    )
    branches = tuple(
        BranchRow(
            iri=s["branch"].value,
            bus_a=s["busA"].value,
            bus_b=s["busB"].value,
            kind="trafo" if s["kind"].value == "trafo" else "line",
            name=_text(s["name"]),
            in_service=_flag(s["inService"], True),
        )
        for s in _select(store, "branches", grid)
    )
    switches = tuple(
        SwitchRow(
            iri=s["switch"].value,
            bus=s["bus"].value,
            element=s["element"].value,
            closed=_flag(s["closed"], True),
            name=_text(s["name"]),
        )
        for s in _select(store, "switches", grid)
    )
    assets = tuple(
        AssetRow(
            iri=s["asset"].value,
            cls=s["cls"].value,
            bus=s["bus"].value,
            name=_text(s["name"]),
            in_service=_flag(s["inService"], True),
        )
        for s in _select(store, "assets", grid)
    )
    return TopologyRows(buses=buses, branches=branches, switches=switches, assets=assets)


def check_topology(store: Store | Queryable, grid: NamedNode | None = None) -> list[Violation]:
    """Run the topology checks on one grid (``grid``) or on all grids in ``store`` (``None``)."""
    rows = read_topology(store, grid)
    return find_topology_violations(rows.buses, rows.branches, rows.switches, rows.assets)


# ---------------------------------------------------------------------------
# The checks

_Row = TypeVar("_Row", BusRow, BranchRow, SwitchRow, AssetRow)


def _by_iri(rows: Iterable[_Row]) -> dict[str, _Row]:
    """Index rows by IRI; the first row of an IRI wins (the queries repeat a node once per grid)."""
    index: dict[str, _Row] = {}
    for row in rows:
        index.setdefault(row.iri, row)
    return index


def _label(name: str | None, iri: str) -> str:
    return repr(name) if name else f"<{iri}>"


def _few(labels: Iterable[str], *, in_order: bool = False) -> str:
    """Join the first few distinct labels (sorted, or in the given order) and count the rest."""
    ordered = list(dict.fromkeys(labels)) if in_order else sorted(set(labels))
    shown = ", ".join(ordered[:NAMES_SHOWN])
    rest = len(ordered) - NAMES_SHOWN
    return f"{shown} and {rest} more" if rest > 0 else shown


def _count(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def _local_name(iri: str) -> str:
    """``https://...#RenewableUnit`` -> ``RenewableUnit``."""
    return iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


_SUPPLY: Final = -1
"""Extra node of the component graph that stands for every external grid."""


class _Supply:
    """The energised network cut into components, and how an external grid reaches each of them."""

    def __init__(self, components: list[list[str]], supplied: set[int], merged: nx.Graph[int]) -> None:
        self.components = components
        """Connected bus sets of the energised network, each sorted by IRI."""
        self.supplied = supplied
        """Components that hold an in-service external grid."""
        self._merged = merged
        self._parent = dict(nx.bfs_predecessors(merged, _SUPPLY))
        self._path: dict[int, tuple[SwitchRow, ...]] = {_SUPPLY: ()}

    def reachable_if_closed(self, index: int) -> bool:
        """Whether closing every open switch would connect component ``index`` to an external grid."""
        return index in self._parent

    def switches_to_supply(self, index: int) -> tuple[SwitchRow, ...]:
        """Open switches whose closing connects component ``index`` to an external grid.

        One way of fewest component hops (breadth-first search from the
        external grids); empty when the component is supplied already.
        """
        walk: list[int] = []
        node = index
        while node not in self._path:
            walk.append(node)
            node = self._parent[node]
        for node in reversed(walk):
            parent = self._parent[node]
            self._path[node] = self._merged.edges[node, parent]["switches"] + self._path[parent]
        return self._path[index]


def _analyse(
    bus_index: Mapping[str, BusRow],
    branch_index: Mapping[str, BranchRow],
    switch_index: Mapping[str, SwitchRow],
    slack_buses: set[str],
) -> _Supply:
    live = {iri for iri, bus in bus_index.items() if bus.in_service}

    # Closed couplers join buses; open branch switches cut branch ends.
    couplers: list[tuple[str, str]] = []
    open_couplers: list[SwitchRow] = []
    open_ends: dict[str, list[SwitchRow]] = defaultdict(list)
    for switch in switch_index.values():
        if switch.element in bus_index:
            if switch.closed:
                couplers.append((switch.bus, switch.element))
            else:
                open_couplers.append(switch)
        elif switch.element in branch_index and not switch.closed:
            branch = branch_index[switch.element]
            if switch.bus in (branch.bus_a, branch.bus_b):
                open_ends[branch.iri].append(switch)

    def usable(branch: BranchRow) -> bool:
        return branch.in_service and branch.bus_a in live and branch.bus_b in live

    network: nx.Graph[str] = nx.Graph()
    network.add_nodes_from(live)
    network.add_edges_from(
        (branch.bus_a, branch.bus_b)
        for branch in branch_index.values()
        if usable(branch) and branch.iri not in open_ends
    )
    network.add_edges_from((a, b) for a, b in couplers if a in live and b in live)

    components = [sorted(component) for component in nx.connected_components(network)]
    component_of = {bus: index for index, component in enumerate(components) for bus in component}
    supplied = {component_of[bus] for bus in slack_buses if bus in live}

    # What closing open switches would join: a coupler its two buses, a branch
    # its two ends once every open switch on it is closed.
    closable: list[tuple[tuple[SwitchRow, ...], str, str]] = [
        ((switch,), switch.bus, switch.element) for switch in open_couplers
    ]
    closable.extend(
        (tuple(switches), branch.bus_a, branch.bus_b)
        for iri, switches in open_ends.items()
        if usable(branch := branch_index[iri])
    )

    # Closing switches merges whole components, so search the graph of components, not of buses.
    merged: nx.Graph[int] = nx.Graph()
    merged.add_node(_SUPPLY)
    merged.add_nodes_from(range(len(components)))
    merged.add_edges_from((_SUPPLY, index, {"switches": ()}) for index in supplied)
    for switches, bus_a, bus_b in sorted(closable, key=lambda way: len(way[0])):
        if bus_a in live and bus_b in live:
            ca, cb = component_of[bus_a], component_of[bus_b]
            if ca != cb and not merged.has_edge(ca, cb):
                merged.add_edge(ca, cb, switches=switches)
    return _Supply(components, supplied, merged)


def find_topology_violations(
    buses: Iterable[BusRow],
    branches: Iterable[BranchRow],
    switches: Iterable[SwitchRow],
    assets: Iterable[AssetRow],
) -> list[Violation]:
    """Report islands, unsupplied buses and assets behind open switches, all as ``Severity.WARNING``.

    Pure: builds the energised network from the rows (rules in the module
    text) and returns the island warnings, then the unsupplied-bus warnings,
    then the open-switch warnings, each group sorted by focus IRI.
    """
    bus_index = _by_iri(buses)
    asset_rows = list(assets)
    slack_iris = {asset.iri for asset in asset_rows if asset.cls == EXTERNAL_GRID.value}
    assets_at: dict[str, list[AssetRow]] = defaultdict(list)
    for asset in _by_iri(asset_rows).values():
        if asset.in_service and asset.bus in bus_index:
            assets_at[asset.bus].append(asset)
    slack_buses = {asset.bus for here in assets_at.values() for asset in here if asset.iri in slack_iris}

    supply = _analyse(bus_index, _by_iri(branches), _by_iri(switches), slack_buses)

    def bus_label(iri: str) -> str:
        return _label(bus_index[iri].name, iri)

    def asset_labels(rows: Iterable[AssetRow]) -> str:
        return _few(_label(asset.name, asset.iri) for asset in rows)

    def switch_labels(index: int) -> str:
        """Name the open switches from component ``index`` to an external grid, nearest first."""
        return _few((_label(sw.name, sw.iri) for sw in supply.switches_to_supply(index)), in_order=True)

    islands: list[Violation] = []
    unsupplied: list[Violation] = []
    behind_switch: list[Violation] = []

    for index, component in enumerate(supply.components):
        if index in supply.supplied:
            continue
        island_assets = [asset for bus in component for asset in assets_at.get(bus, ())]
        if not island_assets:
            continue
        head = component[0]
        reconnectable = supply.reachable_if_closed(index)
        bare = sum(1 for bus in component if bus not in assets_at)
        if reconnectable:
            remedy = f"Closing open switch(es) {switch_labels(index)} would connect it."
        else:
            remedy = "No open switch separates it from supply: out-of-service or missing branches do."
        islands.append(
            Violation(
                focus=head,
                shape=ISLAND_CHECK,
                message=(
                    f"Island without an external grid: {_count(len(component), 'bus', 'buses')} "
                    f"({bare} without assets) and {_count(len(island_assets), 'asset', 'assets')} "
                    f"are connected to one another but to no external grid. "
                    f"Buses: {_few(bus_label(bus) for bus in component)}. "
                    f"Assets: {asset_labels(island_assets)}. {remedy}"
                ),
                severity=Severity.WARNING,
                source_name=bus_index[head].name,
            )
        )
        for bus in component:
            here = assets_at.get(bus)
            if not here:
                continue
            unsupplied.append(
                Violation(
                    focus=bus,
                    shape=UNSUPPLIED_BUS_CHECK,
                    message=(
                        f"No external grid reaches this bus: it lies in an island of "
                        f"{_count(len(component), 'bus', 'buses')} (see {bus_label(head)}). "
                        f"Not supplied: {_count(len(here), 'asset', 'assets')} {asset_labels(here)}."
                    ),
                    severity=Severity.WARNING,
                    source_name=bus_index[bus].name,
                )
            )
            if not reconnectable:
                continue
            behind_switch.extend(
                Violation(
                    focus=asset.iri,
                    shape=OPEN_SWITCH_ASSET_CHECK,
                    message=(
                        f"{_local_name(asset.cls)} at bus {bus_label(bus)} is cut off from every external "
                        f"grid only by open switch(es) {switch_labels(index)}; closing them would supply it."
                    ),
                    severity=Severity.WARNING,
                    source_name=asset.name,
                )
                for asset in here
            )

    for bus, here in assets_at.items():
        if bus_index[bus].in_service:
            continue
        unsupplied.append(
            Violation(
                focus=bus,
                shape=UNSUPPLIED_BUS_CHECK,
                message=(
                    f"This bus is out of service, so no external grid reaches it. "
                    f"Not supplied: {_count(len(here), 'in-service asset', 'in-service assets')} "
                    f"{asset_labels(here)}."
                ),
                severity=Severity.WARNING,
                source_name=bus_index[bus].name,
            )
        )

    def by_focus(violation: Violation) -> str:
        return violation.focus

    return [
        *sorted(islands, key=by_focus),
        *sorted(unsupplied, key=by_focus),
        *sorted(behind_switch, key=by_focus),
    ]


def count_by_check(violations: Iterable[Violation]) -> dict[str, int]:
    """How many violations each check reported, by the shape's local name (``IslandCheck`` -> 3)."""
    counts: dict[str, int] = defaultdict(int)
    for violation in violations:
        counts[_local_name(violation.shape)] += 1
    return dict(counts)
