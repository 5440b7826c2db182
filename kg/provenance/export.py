"""Export provenance records as Turtle, TriG, JSON-LD or PROV-JSON for outside PROV tooling.

The caller hands over each record's named graph as N-Triples; this module only
reshapes them, so an export never needs the store and never changes it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from prov.constants import PROV_LABEL, PROV_ROLE, PROV_TYPE
from prov.identifier import QualifiedName
from prov.model import Literal as ProvLiteral
from prov.model import ProvDocument
from pyoxigraph import BlankNode, Literal, NamedNode, Quad, RdfFormat, Triple, parse, serialize

from enertwin.kg.errors import InputError
from enertwin.kg.namespaces import PREFIXES, PROV_BASE, RDF_TYPE, RDFS_LABEL, XSD_BASE

PREFIX_NAMES: Final = ("et", "etid", "etg", "prov", "rdfs", "xsd")
CONTEXT: Final = {name: PREFIXES[name] for name in PREFIX_NAMES}
# Binary PROV-O properties named like the prov method taking their subject and object as its first two arguments.
RELATIONS: Final = frozenset(
    (
        "used",
        "wasGeneratedBy",
        "wasInvalidatedBy",
        "wasStartedBy",
        "wasEndedBy",
        "wasInformedBy",
        "wasAttributedTo",
        "actedOnBehalfOf",
        "wasDerivedFrom",
        "specializationOf",
        "alternateOf",
        "hadMember",
        "wasInfluencedBy",
    )
)
INVERSES: Final = {"generated": "wasGeneratedBy", "invalidated": "wasInvalidatedBy"}
AGENT_TYPES: Final = {PROV_BASE + t for t in ("Agent", "Person", "Organization", "SoftwareAgent")}
IMPLIED_TYPES: Final = {PROV_BASE + t for t in ("Agent", "Activity", "Entity")}


def _quads(graphs: Mapping[str, bytes]) -> list[Quad]:
    """Parse each record into its own graph, sorted by subject; renamed blank nodes keep records apart."""
    return [
        Quad(t.subject, t.predicate, t.object, NamedNode(iri))
        for iri, ntriples in graphs.items()
        for t in sorted(parse(ntriples, format=RdfFormat.N_TRIPLES, rename_blank_nodes=True), key=str)
    ]


def _write(items: Iterable[Triple] | Iterable[Quad], fmt: RdfFormat) -> str:
    return (serialize(items, format=fmt, prefixes=CONTEXT) or b"").decode()


def _turtle(quads: list[Quad]) -> str:
    """Merge the records into one graph (a triple in several records appears once)."""
    triples = sorted({q.triple for q in quads}, key=str)
    return _write(triples, RdfFormat.TURTLE)


def _trig(quads: list[Quad]) -> str:
    return _write(quads, RdfFormat.TRIG)


def _jsonld(quads: list[Quad]) -> str:
    """Compact pyoxigraph's expanded JSON-LD under a prefix @context.

    pyoxigraph ignores prefixes for JSON-LD, and rdflib rewrites literals (``Z`` becomes ``+00:00``),
    so the IRIs are shortened here: with prefix-only term definitions that is all compaction does.
    """

    def compact(node: Any) -> Any:
        if isinstance(node, list):
            return [compact(n) for n in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, val in node.items():
            if key == RDF_TYPE.value:
                out["@type"] = [_curie(v["@id"]) for v in val]
            elif key in ("@id", "@type"):
                out[key] = _curie(val)
            else:
                out[key if key.startswith("@") else _curie(key)] = compact(val)
        return out

    tree = {"@context": CONTEXT, "@graph": compact(json.loads(_write(quads, RdfFormat.JSON_LD)))}
    return json.dumps(tree, indent=2, ensure_ascii=False) + "\n"


def _curie(iri: str) -> str:
    for name, base in CONTEXT.items():
        if iri.startswith(base) and not iri[len(base) :].startswith("//"):
            return f"{name}:{iri[len(base) :]}"
    return iri


def _provjson(quads: list[Quad]) -> str:
    """Build PROV-JSON with the prov API, as one flat document.

    prov's own RDF reader fails on IRIs outside a declared prefix, drops entities typed only with an et
    subclass (the records), and keeps prov:generated as an attribute, so the document is built here.
    It is flat, not a bundle per record: prov.graph.prov_to_graph skips bundles, relations across
    records (an approval using a schedule) stay connected, and each record keeps its identity as the
    et:ProvenanceRecord entity that names its activity.
    """
    doc = ProvDocument()
    for name in ("et", "etid", "etg"):
        doc.add_namespace(name, PREFIXES[name])
    described: dict[Any, list[tuple[NamedNode, Any]]] = defaultdict(list)
    for s, p, o in sorted({q.triple for q in quads}, key=str):
        described[s].append((p, o))

    def qname(iri: str) -> QualifiedName:
        found = doc.valid_qualified_name(iri)
        if found is None:  # an IRI outside the known prefixes gets a namespace of its own
            cut = max(iri.rfind("/"), iri.rfind("#")) + 1
            doc.add_namespace(f"ns{len(doc.namespaces)}", iri[:cut])
            found = doc.mandatory_valid_qname(iri)
        return found

    def value(term: Any) -> Any:
        if isinstance(term, NamedNode):
            return qname(term.value)
        if term.language:
            return ProvLiteral(term.value, langtag=term.language)
        if term.datatype.value == XSD_BASE + "string":
            return term.value
        return ProvLiteral(term.value, datatype=qname(term.datatype.value))

    relations: set[tuple[str, str, str]] = set()
    generated_at: dict[str, str] = {}
    for subject, pairs in described.items():
        if not isinstance(subject, NamedNode):
            continue  # blank nodes are qualified influences, read with their activity
        types = {o.value for p, o in pairs if p == RDF_TYPE}
        attributes: list[tuple[QualifiedName, Any]] = [(PROV_TYPE, qname(t)) for t in sorted(types - IMPLIED_TYPES)]
        times: dict[str, str] = {}
        qualified: set[str] = set()
        for p, o in pairs:
            local = p.value.removeprefix(PROV_BASE) if p.value.startswith(PROV_BASE) else None
            if p == RDFS_LABEL:
                attributes.append((PROV_LABEL, value(o)))
            elif local in ("startedAtTime", "endedAtTime", "generatedAtTime") and isinstance(o, Literal):
                times[local] = o.value  # prov parses xsd:dateTime itself
            elif local in RELATIONS and isinstance(o, NamedNode):
                relations.add((local, subject.value, o.value))
            elif local in INVERSES and isinstance(o, NamedNode):
                relations.add((INVERSES[local], o.value, subject.value))
            elif local == "qualifiedAssociation" and isinstance(o, BlankNode):
                node = described[o]
                agents = [a.value for q, a in node if q.value == PROV_BASE + "agent"]
                plans = [a.value for q, a in node if q.value == PROV_BASE + "hadPlan"] or [None]
                roles = [(PROV_ROLE, value(r)) for q, r in node if q.value == PROV_BASE + "hadRole"]
                for agent in agents:
                    doc.wasAssociatedWith(
                        qname(subject.value), qname(agent), plans[0] and qname(plans[0]), other_attributes=roles
                    )
                qualified.update(agents)
            elif local is None and p != RDF_TYPE and not isinstance(o, BlankNode):
                attributes.append((qname(p.value), value(o)))
        for p, o in pairs:  # unqualified associations that no qualified one already states
            if p.value == PROV_BASE + "wasAssociatedWith" and o.value not in qualified:
                doc.wasAssociatedWith(qname(subject.value), qname(o.value))
        if "generatedAtTime" in times:
            generated_at[subject.value] = times["generatedAtTime"]
        if types & AGENT_TYPES:
            doc.agent(qname(subject.value), attributes)
        elif PROV_BASE + "Activity" in types:
            doc.activity(qname(subject.value), times.get("startedAtTime"), times.get("endedAtTime"), attributes)
        else:
            doc.entity(qname(subject.value), attributes)
    _add_relations(doc, sorted(relations), generated_at, qname)
    return str(doc.serialize(format="json", indent=2)) + "\n"


def _add_relations(
    doc: ProvDocument,
    relations: Iterable[tuple[str, str, str]],
    generated_at: dict[str, str],
    qname: Callable[[str], QualifiedName],
) -> None:
    """Add the binary relations; a generation carries its entity's prov:generatedAtTime."""
    for method, first, second in relations:
        if method == "wasGeneratedBy":
            doc.wasGeneratedBy(qname(first), qname(second), generated_at.pop(first, None))
        else:
            getattr(doc, method)(qname(first), qname(second))
    for entity, time in sorted(generated_at.items()):  # a time without a known activity
        doc.wasGeneratedBy(qname(entity), None, time)


EXPORTERS: Final[dict[str, Callable[[list[Quad]], str]]] = {
    "turtle": _turtle,
    "trig": _trig,
    "jsonld": _jsonld,
    "provjson": _provjson,
}


def export_records(graphs: Mapping[str, bytes], fmt: str) -> str:
    """Serialise provenance records (graph IRI -> N-Triples bytes) in ``fmt``: turtle, trig, jsonld or provjson."""
    exporter = EXPORTERS.get(fmt)
    if exporter is None:
        raise InputError(f"unknown export format {fmt!r}; valid formats: {', '.join(sorted(EXPORTERS))}")
    return exporter(_quads(graphs))
