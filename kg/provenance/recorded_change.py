"""Change one fact of one asset and record the change, in one commit.

``set_value`` replaces the values of a property of an asset in the graph that describes it,
validated by the shapes on what it touches, and appends a signed record of it: who, why, the
version it was applied to, the version it made and the hash of its delta (what it removed and
added, which the store keeps so the older version stays readable). Nothing is copied: the
change and its record cost the size of the change (``bench/change_bench.py``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from pyoxigraph import Literal, NamedNode, Quad, QuerySolution

from enertwin.kg import namespaces as ns
from enertwin.kg.errors import InputError
from enertwin.kg.provenance.ledger import Ledger, Receipt
from enertwin.kg.provenance.record import SOFTWARE_AGENT, ActivityRecord, agent_triples, text
from enertwin.kg.queries import Bindings, load_query
from enertwin.kg.store import PreparedChange, Store
from enertwin.kg.write_check import is_record_graph

_PACKAGE = "enertwin.kg.provenance"
_NUMBERS = {ns.XSD_DOUBLE.value, ns.XSD_BASE + "decimal", ns.XSD_BASE + "float"}
_INTEGERS = {ns.XSD_INTEGER.value, ns.XSD_BASE + "int", ns.XSD_BASE + "long", ns.XSD_BASE + "nonNegativeInteger"}


@dataclass(frozen=True, slots=True)
class ChangeReceipt:
    """What a recorded change did: the asset, the property, the values before and after, the versions and record."""

    asset: NamedNode
    property: NamedNode
    graph: NamedNode
    before: tuple[Literal | NamedNode, ...]
    after: Literal | NamedNode
    applied_to: NamedNode
    version: NamedNode
    delta_hash: str
    receipt: Receipt


def set_value(
    store: Store, ledger: Ledger, asset: str, prop: str, value: str, reason: str | None = None
) -> ChangeReceipt:
    """Replace the values of ``prop`` on ``asset`` by ``value`` and record it (a ``ValidationError`` changes nothing).

    ``asset`` is an IRI or a source (SimBench) name, ``prop`` a CURIE such as ``et:maxActivePower``
    or an IRI, ``value`` text typed by the property's range in the ontology.
    """
    began = datetime.now(UTC)
    predicate = expand(prop)  # what needs no store first
    data = _data_graphs(store)
    node = resolve_asset(store, asset, data)
    new = typed_value(store, predicate, value, data)
    graph = describing_graph(store, node, data)
    storage = data[graph]
    before = [q for q in store.backend.quads_with([node], "s", [storage], [predicate])]
    prepared = store.prepare_change(graph, remove=before, add=[Quad(node, predicate, new, graph)], new_version=True)
    activity = _activity(ledger, prepared, node, predicate, before, new, reason, began)
    receipt = ledger.append(activity, changes=[prepared])
    return ChangeReceipt(
        node,
        predicate,
        graph,
        tuple(q.object for q in before),  # type: ignore[misc]
        new,
        prepared.version,
        prepared.result,
        prepared.delta_hash,
        receipt,
    )


def _activity(
    ledger: Ledger,
    prepared: PreparedChange,
    asset: NamedNode,
    predicate: NamedNode,
    before: list[Quad],
    new: Literal | NamedNode,
    reason: str | None,
    began: datetime,
) -> ActivityRecord:
    """The record of the change: agent, reason, what it concerns, the versions and the delta's hash."""
    activity = ActivityRecord(
        NamedNode(f"{ns.ID_BASE}change/{uuid.uuid4().hex}"), ns.CHANGE_ACTIVITY, began, datetime.now(UTC)
    )
    old = ", ".join(str(q.object) for q in before) or "nothing"
    activity.add(activity.iri, ns.RDFS_LABEL, text(f"Change of {predicate} of <{asset.value}> from {old} to {new}"))
    activity.add(activity.iri, ns.CONCERNS, asset).add(activity.iri, ns.CHANGED_PROPERTY, predicate)
    if reason:
        activity.add(activity.iri, ns.REASON, text(reason))
    activity.associate(SOFTWARE_AGENT, ns.OPERATOR_ROLE).extend(agent_triples(ledger.signer.identity))
    return vouch_for_change(activity, prepared)


def vouch_for_change(activity: ActivityRecord, prepared: PreparedChange) -> ActivityRecord:
    """Name in ``activity`` the version a change was applied to, the version it made and its delta's hash.

    ``audit verify --deep`` checks the delta against that hash. A change that made its graph
    (no version before it) used none.
    """
    if prepared.version != prepared.result:
        activity.used(prepared.version, ns.GRAPH_VERSION, {ns.PROV_SPECIALIZATION_OF: prepared.graph})
    facts: dict[NamedNode, NamedNode | Literal] = {ns.PROV_SPECIALIZATION_OF: prepared.graph}
    if prepared.version != prepared.result:
        facts[ns.PROV_WAS_DERIVED_FROM] = prepared.version
    activity.generated(prepared.result, ns.GRAPH_VERSION, facts)
    if prepared.delta is not None:
        activity.generated(prepared.delta, ns.GRAPH_DELTA, {ns.CONTENT_HASH: text(prepared.delta_hash)})
    return activity


def _data_graphs(store: Store) -> dict[NamedNode, NamedNode]:
    """Logical → physical graph of everything but ledger records (which only name assets, never describe them)."""
    return {logical: physical for logical, physical in store.live().items() if not is_record_graph(logical)}


def _select(store: Store, query: str, bindings: Bindings, data: dict[NamedNode, NamedNode]) -> list[QuerySolution]:
    """Rows of ``query`` over the data graphs (read whole)."""
    return list(store.backend.select(load_query(_PACKAGE, query), bindings, list(data.values())))


def resolve_asset(store: Store, asset: str, data: dict[NamedNode, NamedNode] | None = None) -> NamedNode:
    """The asset an IRI or a source name denotes (unknown or ambiguous names are an :class:`InputError`)."""
    if "://" in asset:
        try:
            return NamedNode(asset)
        except ValueError as exc:
            raise InputError(f"the asset {asset!r} is not an IRI: {exc}") from exc
    rows = _select(store, "asset_by_name.rq", {"name": Literal(asset)}, data or _data_graphs(store))
    found = sorted({r["asset"].value for r in rows})
    if not found:
        raise InputError(f"no asset is named {asset!r} in the store (give its IRI or its SimBench name)")
    if len(found) > 1:
        raise InputError(f"the name {asset!r} is ambiguous: {', '.join(f'<{a}>' for a in found)}; give the IRI")
    return NamedNode(found[0])


def expand(curie: str) -> NamedNode:
    """The IRI of a CURIE (``et:maxActivePower``) or of an IRI; an unknown prefix is an :class:`InputError`."""
    if "://" in curie:
        return NamedNode(curie.strip("<>"))
    prefix, sep, local = curie.partition(":")
    if not sep or prefix not in ns.PREFIXES:
        known = ", ".join(sorted(ns.PREFIXES))
        raise InputError(f"the property {curie!r} has no known prefix (known: {known}); give a CURIE or an IRI")
    return NamedNode(ns.PREFIXES[prefix] + local)


def typed_value(
    store: Store, predicate: NamedNode, value: str, data: dict[NamedNode, NamedNode] | None = None
) -> Literal | NamedNode:
    """``value`` as the term the ontology's range of ``predicate`` asks for (an IRI for an object property)."""
    rows = _select(store, "property_range.rq", {"property": predicate}, data or _data_graphs(store))
    ranges = [r["range"].value for r in rows]
    datatypes = [r for r in ranges if r.startswith(ns.XSD_BASE)]
    if not ranges:
        raise InputError(f"the ontology declares no range for <{predicate.value}>; its values cannot be typed")
    if not datatypes:
        return expand(value) if ":" in value else NamedNode(value)
    datatype = datatypes[0]
    _check_lexical(predicate, value, datatype)
    return Literal(value, datatype=NamedNode(datatype))


def _check_lexical(predicate: NamedNode, value: str, datatype: str) -> None:
    """Refuse a value that is not of the datatype (``"x"`` for a double) before the shapes see it."""
    try:
        if datatype in _NUMBERS:
            float(value)
        elif datatype in _INTEGERS:
            int(value)
    except ValueError:
        raise InputError(f"{value!r} is not a valid <{datatype}> for <{predicate.value}>") from None
    if datatype == ns.XSD_BOOLEAN.value and value not in ("true", "false", "1", "0"):
        raise InputError(f"{value!r} is not a valid <{datatype}> for <{predicate.value}> (true or false)")


def describing_graph(store: Store, asset: NamedNode, data: dict[NamedNode, NamedNode] | None = None) -> NamedNode:
    """The one logical graph in which ``asset`` is described (a subject)."""
    graphs = store.graphs_describing(asset, data or _data_graphs(store))
    if not graphs:
        raise InputError(f"no graph in the store describes <{asset.value}>")
    if len(graphs) > 1:
        raise InputError(f"<{asset.value}> is described in several graphs: {', '.join(g.value for g in graphs)}")
    return graphs[0]
