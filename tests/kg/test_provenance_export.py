"""Exports of the sample provenance records, read back by real RDF and PROV parsers."""

from __future__ import annotations

import json
import re
import warnings
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest
import rdflib
from prov.constants import (
    PROV_ATTR_ACTIVITY,
    PROV_ATTR_AGENT,
    PROV_ATTR_DELEGATE,
    PROV_ATTR_ENTITY,
    PROV_ATTR_RESPONSIBLE,
    PROV_ROLE,
)
from prov.model import ProvActivity, ProvAssociation, ProvDelegation, ProvDocument, ProvGeneration, ProvUsage
from pyoxigraph import Quad, RdfFormat, parse, serialize
from rdflib.compare import isomorphic

from enertwin.kg.errors import InputError
from enertwin.kg.provenance.export import export_records

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "provenance" / "sample_records.trig"
RECORD = "https://w3id.org/enertwin/graph/record/"
ETID = "https://w3id.org/enertwin/id/"
ET = "https://w3id.org/enertwin/ontology#"
ASSOCIATION = rdflib.URIRef("http://www.w3.org/ns/prov#Association")


def sample_text() -> str:
    """The sample, with the '/' in prefixed names escaped as TriG requires (a no-op once the file does it)."""
    text = SAMPLE.read_text(encoding="utf-8")
    return re.sub(r"\b(etg:|etid:)([\w-]+(?:/[\w-]+)+)", lambda m: m[1] + m[2].replace("/", "\\/"), text)


@pytest.fixture(scope="module")
def graphs() -> dict[str, bytes]:
    """Each record's graph IRI -> its N-Triples, as the store hands them over."""
    per_graph = defaultdict(list)
    for quad in parse(sample_text(), format=RdfFormat.TRIG):
        per_graph[quad.graph_name.value].append(quad.triple)
    return {iri: serialize(triples, format=RdfFormat.N_TRIPLES) for iri, triples in per_graph.items()}


def rdflib_graph(ntriples: bytes) -> rdflib.Graph:
    return rdflib.Graph().parse(data=ntriples, format="nt")


def graphs_of(quads: list[Quad]) -> dict[str, rdflib.Graph]:
    """Group parsed quads per named graph, as rdflib graphs for isomorphism checks."""
    per_graph = defaultdict(list)
    for quad in quads:
        per_graph[quad.graph_name.value].append(quad.triple)
    return {iri: rdflib_graph(serialize(ts, format=RdfFormat.N_TRIPLES)) for iri, ts in per_graph.items()}


def test_sample_has_six_records(graphs: dict[str, bytes]) -> None:
    assert sorted(graphs) == sorted(f"{RECORD}{n}" for n in range(1, 7))


def test_turtle_merges_the_records(graphs: dict[str, bytes]) -> None:
    text = export_records(graphs, "turtle")
    for prefix in ("et", "etid", "prov", "rdfs", "xsd"):
        assert f"@prefix {prefix}: " in text
    expected = rdflib.Graph()
    for ntriples in graphs.values():
        expected.parse(data=ntriples, format="nt")  # each parse mints its own blank nodes
    parsed = rdflib.Graph().parse(data=text, format="turtle")
    assert isomorphic(parsed, expected)
    # The six records' association nodes stay six nodes, though each record calls its own _:b0 or so.
    assert len(set(parsed.subjects(rdflib.RDF.type, ASSOCIATION))) == 6
    assert len(list(parse(text, format=RdfFormat.TURTLE))) == len(expected)


def test_trig_keeps_a_graph_per_record(graphs: dict[str, bytes]) -> None:
    parsed = graphs_of(list(parse(export_records(graphs, "trig"), format=RdfFormat.TRIG)))
    assert parsed.keys() == graphs.keys()
    for iri, ntriples in graphs.items():
        assert isomorphic(parsed[iri], rdflib_graph(ntriples)), iri


@pytest.mark.filterwarnings("ignore:.*is deprecated:DeprecationWarning")  # rdflib's JSON-LD parser, internally
def test_jsonld_keeps_a_graph_per_record(graphs: dict[str, bytes]) -> None:
    text = export_records(graphs, "jsonld")
    document = json.loads(text)
    assert document["@context"]["prov"] == "http://www.w3.org/ns/prov#"
    assert document["@context"]["et"] == ET
    assert {g["@id"] for g in document["@graph"]} == {f"etg:record/{n}" for n in range(1, 7)}
    assert '"@id": "etid:decision/d3"' in text
    by_pyoxigraph = graphs_of(list(parse(text, format=RdfFormat.JSON_LD)))
    by_rdflib = rdflib.Dataset().parse(data=text, format="json-ld")
    assert by_pyoxigraph.keys() == graphs.keys()
    for iri, ntriples in graphs.items():
        assert isomorphic(by_pyoxigraph[iri], rdflib_graph(ntriples)), iri
        assert isomorphic(by_rdflib.graph(rdflib.URIRef(iri)), rdflib_graph(ntriples)), iri


@pytest.fixture(scope="module")
def prov_doc(graphs: dict[str, bytes]) -> ProvDocument:
    """The PROV-JSON export, read back by the prov package."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # prov warns about whatever it cannot read
        return ProvDocument.deserialize(content=export_records(graphs, "provjson"), format="json")


def records(doc: ProvDocument, cls: type) -> list:
    return list(doc.get_records(cls))


def test_provjson_is_one_flat_document(prov_doc: ProvDocument) -> None:
    assert not prov_doc.has_bundles()
    assert {(ns.prefix, ns.uri) for ns in prov_doc.namespaces} >= {("et", ET), ("etid", ETID)}


def test_provjson_has_the_decision_with_its_times(prov_doc: ProvDocument) -> None:
    (decision,) = prov_doc.get_record("etid:decision/d3")
    assert isinstance(decision, ProvActivity)
    assert decision.get_startTime() == datetime(2026, 11, 25, 11, 0, tzinfo=UTC)
    assert decision.get_endTime() == datetime(2026, 11, 25, 11, 0, 40, tzinfo=UTC)
    assert decision.get_attribute("et:solverStatus") == {"OPTIMAL"}
    assert {str(t) for t in decision.get_attribute("prov:type")} == {"et:Decision"}


def test_provjson_has_the_used_graph_version_with_its_hash(prov_doc: ProvDocument) -> None:
    version = "etg:simbench/1-HV-mixed--0-sw/version/ab12"
    used = {
        str(u.get_attribute(PROV_ATTR_ENTITY).pop())
        for u in records(prov_doc, ProvUsage)
        if str(u.get_attribute(PROV_ATTR_ACTIVITY).pop()) == "etid:decision/d3"
    }
    assert version in used
    (entity,) = prov_doc.get_record(version)
    assert entity.get_attribute("et:contentHash") == {"2" * 64}


def test_provjson_has_the_approver_with_its_role(prov_doc: ProvDocument) -> None:
    (approval,) = [
        a
        for a in records(prov_doc, ProvAssociation)
        if str(a.get_attribute(PROV_ATTR_ACTIVITY).pop()) == "etid:activity/a4"
    ]
    assert {str(a) for a in approval.get_attribute(PROV_ATTR_AGENT)} == {"etid:person/bob"}
    assert {str(r) for r in approval.get_attribute(PROV_ROLE)} == {"et:ApproverRole"}


def test_provjson_has_every_association_once(prov_doc: ProvDocument) -> None:
    # Each activity states its agent twice in RDF (wasAssociatedWith and a qualified association).
    assert len(records(prov_doc, ProvAssociation)) == 6


def test_provjson_has_the_generation_of_the_schedule(prov_doc: ProvDocument) -> None:
    pairs = {
        (str(g.get_attribute(PROV_ATTR_ENTITY).pop()), str(next(iter(g.get_attribute(PROV_ATTR_ACTIVITY)), None)))
        for g in records(prov_doc, ProvGeneration)
    }
    assert ("etid:decision/d3/schedule", "etid:decision/d3") in pairs


def test_provjson_has_the_delegation_to_alice(prov_doc: ProvDocument) -> None:
    pairs = {
        (str(d.get_attribute(PROV_ATTR_DELEGATE).pop()), str(d.get_attribute(PROV_ATTR_RESPONSIBLE).pop()))
        for d in records(prov_doc, ProvDelegation)
    }
    assert ("etid:agent/enertwin", "etid:person/alice") in pairs


def test_provjson_keeps_the_records_as_entities(prov_doc: ProvDocument) -> None:
    (record,) = prov_doc.get_record("etid:record/3")
    assert {str(a) for a in record.get_attribute("et:recordsActivity")} == {"etid:decision/d3"}
    (generation,) = [
        g for g in records(prov_doc, ProvGeneration) if g.get_attribute(PROV_ATTR_ENTITY) == {record.identifier}
    ]
    assert generation.get_attribute("prov:time") == {datetime(2026, 11, 25, 11, 0, 40, tzinfo=UTC)}


def test_provjson_converts_to_provn_and_back(prov_doc: ProvDocument) -> None:
    provn = prov_doc.get_provn()
    assert "activity(etid:decision/d3, 2026-11-25T11:00:00+00:00, 2026-11-25T11:00:40+00:00" in provn
    assert ProvDocument.deserialize(content=provn, format="provn") == prov_doc


def test_unknown_format_is_named(graphs: dict[str, bytes]) -> None:
    with pytest.raises(InputError, match=r"'rdfxml'.*jsonld, provjson, trig, turtle"):
        export_records(graphs, "rdfxml")


def test_blank_nodes_of_different_records_stay_apart() -> None:
    record = b"<https://w3id.org/enertwin/id/activity/x> <http://www.w3.org/ns/prov#qualifiedAssociation> _:b0 .\n"
    graphs = {f"{RECORD}1": record, f"{RECORD}2": record}  # the same label in both records
    merged = rdflib.Graph().parse(data=export_records(graphs, "turtle"), format="turtle")
    assert len(merged) == 2
    quads = list(parse(export_records(graphs, "trig"), format=RdfFormat.TRIG))
    assert len({q.object for q in quads}) == 2  # in TriG a shared label would be one node across graphs
