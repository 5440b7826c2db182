"""Checks of the shipped OWL ontology ``enertwin.ontology/enertwin.ttl``."""

from __future__ import annotations

import importlib.resources
import shutil
from pathlib import Path

import pytest
from pyoxigraph import NamedNode
from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF, RDFS

from enertwin.kg import namespaces as ns

ET = ns.ET_BASE
ONTOLOGY_IRI = URIRef(ns.ONTOLOGY_IRI.value)
QUANTITY = URIRef(ET + "quantity")
UNIT_OF_MEASURE = URIRef(ET + "unitOfMeasure")
DECLARATION_TYPES = (
    OWL.Class,
    OWL.ObjectProperty,
    OWL.DatatypeProperty,
    OWL.AnnotationProperty,
    OWL.NamedIndividual,
)


@pytest.fixture(scope="module")
def graph() -> Graph:
    source = importlib.resources.files("enertwin.ontology") / "enertwin.ttl"
    g = Graph()
    g.parse(data=source.read_text(encoding="utf-8"), format="turtle")
    return g


def _declared_et_terms(g: Graph) -> set[URIRef]:
    return {
        s for t in DECLARATION_TYPES for s in g.subjects(RDF.type, t) if isinstance(s, URIRef) and str(s).startswith(ET)
    }


def test_single_ontology_with_version(graph: Graph) -> None:
    ontologies = list(graph.subjects(RDF.type, OWL.Ontology))
    assert ontologies == [ONTOLOGY_IRI]
    version_iris = list(graph.objects(ONTOLOGY_IRI, OWL.versionIRI))
    assert version_iris == [URIRef(f"https://w3id.org/enertwin/ontology/{ns.ONTOLOGY_VERSION}")]
    assert str(version_iris[0]) == ns.ONTOLOGY_VERSION_IRI.value
    assert str(version_iris[0]).rsplit("/", 1)[1] == ns.ONTOLOGY_VERSION
    assert [str(v) for v in graph.objects(ONTOLOGY_IRI, OWL.versionInfo)] == [ns.ONTOLOGY_VERSION]


def test_consistent_under_hermit(graph: Graph, tmp_path: Path) -> None:
    if shutil.which("java") is None:
        pytest.skip("java is not on PATH; HermiT (via owlready2) needs a Java runtime")
    from owlready2 import OwlReadyInconsistentOntologyError, World, sync_reasoner

    owl_file = tmp_path / "enertwin.owl"
    graph.serialize(destination=str(owl_file), format="xml")
    world = World()
    world.get_ontology(owl_file.as_uri()).load()
    try:
        sync_reasoner(world, infer_property_values=False, debug=0)
    except OwlReadyInconsistentOntologyError:
        pytest.fail("HermiT reports the ontology as inconsistent")
    assert list(world.inconsistent_classes()) == []


def test_every_term_has_label_and_comment(graph: Graph) -> None:
    terms = _declared_et_terms(graph)
    assert len(terms) > 50
    missing = sorted(
        f"{t} lacks {p.n3(graph.namespace_manager)}"
        for t in terms
        for p in (RDFS.label, RDFS.comment)
        if graph.value(t, p) is None
    )
    assert missing == []


def test_namespace_constants_are_declared(graph: Graph) -> None:
    declared = _declared_et_terms(graph)
    used = {
        URIRef(value.value)
        for name, value in vars(ns).items()
        if not name.startswith("_") and isinstance(value, NamedNode) and value.value.startswith(ET)
    }
    assert used, "namespaces.py defines no et: constants"
    assert sorted(used - declared) == []


def test_quantities_have_one_unit(graph: Graph) -> None:
    quantities = set(graph.subjects(RDFS.subPropertyOf, QUANTITY)) - {QUANTITY}
    assert len(quantities) >= 20
    bad = {q: list(graph.objects(q, UNIT_OF_MEASURE)) for q in quantities}
    assert {q: units for q, units in bad.items() if len(units) != 1} == {}
    for q in quantities:
        assert (q, RDF.type, OWL.DatatypeProperty) in graph
        unit = str(graph.value(q, UNIT_OF_MEASURE))
        assert unit.startswith((ns.QUDT_UNIT_BASE, ns.UNIT_BASE)), f"{q} has unit {unit}"
