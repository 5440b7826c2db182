"""The shipped SHACL shapes and the SPARQL compiler that evaluates them.

Every bad example in ``tests/data/shapes/*.trig`` is checked twice: by
``ShapeValidator`` (our compiler) and by pySHACL, the reference
implementation, which must report the same focus nodes and shapes. pySHACL
gets the ontology as ``ont_graph`` without inference: it mixes the class
hierarchy into the data (so targets and ``sh:class`` see subclasses, as our
compiler does), while RDFS inference would type values from ``rdfs:range``
and hide the very ``sh:class`` violations the examples exercise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import pyshacl
import pytest
from pyoxigraph import BlankNode, DefaultGraph, NamedNode, Quad, RdfFormat, Store, Triple, serialize
from rdflib import RDF, RDFS, SH, BNode, Graph, Literal, URIRef

from enertwin.kg import namespaces as ns
from enertwin.kg.validation.compiler import compile_shapes, parse_turtle
from enertwin.kg.validation.shacl import ShapeValidator, UnsupportedShapeError
from enertwin.kg.violation import Severity, Violation

DATA = Path(__file__).resolve().parent.parent / "data"
CASES_DIR = DATA / "shapes"
MF = "https://w3id.org/enertwin/test/manifest#"
ETS = "https://w3id.org/enertwin/shapes#"
ET = ns.ET_BASE
XSD_DOUBLE = URIRef(ns.XSD_DOUBLE.value)
TEST_GRAPH = NamedNode(ns.GRAPH_BASE + "test")
CASE_GRAPH = NamedNode(ns.GRAPH_BASE + "test-case")

# SHACL parameter -> the constraint component it belongs to.
COMPONENTS = {
    SH.minCount: SH.MinCountConstraintComponent,
    SH.maxCount: SH.MaxCountConstraintComponent,
    SH.datatype: SH.DatatypeConstraintComponent,
    SH["class"]: SH.ClassConstraintComponent,
    SH.nodeKind: SH.NodeKindConstraintComponent,
    SH.minInclusive: SH.MinInclusiveConstraintComponent,
    SH.maxInclusive: SH.MaxInclusiveConstraintComponent,
    SH.minExclusive: SH.MinExclusiveConstraintComponent,
    SH.maxExclusive: SH.MaxExclusiveConstraintComponent,
    SH.lessThanOrEquals: SH.LessThanOrEqualsConstraintComponent,
    SH["in"]: SH.InConstraintComponent,
    SH.hasValue: SH.HasValueConstraintComponent,
    SH.pattern: SH.PatternConstraintComponent,
    SH["or"]: SH.OrConstraintComponent,
    SH.sparql: SH.SPARQLConstraintComponent,
}

# Symbols the messages use for the units the ontology gives quantities.
UNIT_SYMBOLS = {
    "http://qudt.org/vocab/unit/MegaW": "(MW)",
    "http://qudt.org/vocab/unit/MegaW-HR": "(MWh)",
    "http://qudt.org/vocab/unit/MegaVA": "(MVA)",
    "http://qudt.org/vocab/unit/KiloV": "(kV)",
    "http://qudt.org/vocab/unit/KiloM": "(km)",
    "http://qudt.org/vocab/unit/KiloA": "(kA)",
    "http://qudt.org/vocab/unit/OHM-PER-KiloM": "(Ω/km)",
    "http://qudt.org/vocab/unit/HR": "(h)",
    "http://qudt.org/vocab/unit/SEC": "(s)",
    "http://qudt.org/vocab/unit/MIN": "(min)",
    "http://qudt.org/vocab/unit/FRACTION": "fraction",
    "http://qudt.org/vocab/unit/PERCENT-PER-DAY": "(percent per day)",
    ns.UNIT_BASE + "EUR": "(€)",
    ns.UNIT_BASE + "EUR-PER-MegaW-HR": "(€/MWh)",
    ns.UNIT_BASE + "EUR-PER-MegaW": "(€/MW",
    ns.UNIT_BASE + "EUR-PER-T": "(€/t)",
    ns.UNIT_BASE + "T-PER-MegaW-HR": "(t CO2/MWh)",
    "http://qudt.org/vocab/unit/TONNE": "(t CO2)",
}


# -----------------------------------------------------------------------------
# Bad examples
# -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One bad example of the manifest (see tests/data/shapes/topology.trig)."""

    name: str
    file: str
    focus: str
    shape: str
    component: str
    message: str
    severity: Severity
    drop: frozenset[str]
    add: tuple[Triple, ...]
    also: frozenset[tuple[str, str]]

    @property
    def expected(self) -> set[tuple[str, str]]:
        return {(self.focus, self.shape)} | set(self.also)

    def store(self) -> Store:
        """The good portfolio with this case's change, in two named graphs."""
        good = Store()
        good.load(path=DATA / "good_portfolio.ttl", format=RdfFormat.TURTLE)
        store = Store()
        store.extend(
            Quad(q.subject, q.predicate, q.object, TEST_GRAPH)
            for q in good
            if not (q.subject.value == self.focus and q.predicate.value in self.drop)
        )
        store.extend(Quad(t.subject, t.predicate, t.object, CASE_GRAPH) for t in self.add)
        return store


def _one(store: Store, subject: NamedNode | BlankNode, local: str) -> str | None:
    values = [q.object for q in store.quads_for_pattern(subject, NamedNode(MF + local), None, None)]
    assert len(values) <= 1, f"{subject} has several mf:{local}"
    return values[0].value if values else None


def load_cases() -> list[Case]:
    cases = []
    for path in sorted(CASES_DIR.glob("*.trig")):
        store = Store()
        store.load(path=path, format=RdfFormat.TRIG)
        for quad in store.quads_for_pattern(None, NamedNode(MF + "shape"), None, DefaultGraph()):
            entry = quad.subject
            if isinstance(entry, BlankNode):  # an mf:also result
                continue
            also = set()
            for link in store.quads_for_pattern(entry, NamedNode(MF + "also"), None, None):
                also.add((_one(store, link.object, "focus"), _one(store, link.object, "shape")))
            severity = _one(store, entry, "severity") or SH.Violation
            cases.append(
                Case(
                    name=entry.value.rsplit("#", 1)[1],
                    file=path.name,
                    focus=_one(store, entry, "focus"),
                    shape=quad.object.value,
                    component=_one(store, entry, "component"),
                    message=_one(store, entry, "message"),
                    severity=Severity(str(severity).rsplit("#", 1)[1]),
                    drop=frozenset(
                        q.object.value for q in store.quads_for_pattern(entry, NamedNode(MF + "drop"), None)
                    ),
                    add=tuple(q.triple for q in store.quads_for_pattern(None, None, None, entry)),
                    also=frozenset(also),
                )
            )
    return sorted(cases, key=lambda c: c.name)


CASES = load_cases()


def _graph(store: Store) -> Graph:
    """The triples of all graphs of ``store`` as one rdflib graph."""
    text = serialize((q.triple for q in store), format=RdfFormat.N_TRIPLES)
    return Graph().parse(data=text, format="nt")


def run_pyshacl(data: Graph, shapes: Graph, ontology: Graph | None) -> list[dict[str, object]]:
    """pySHACL's results: focus, source shape (a blank property shape as its node shape), component."""
    _, report, _ = pyshacl.validate(
        data, shacl_graph=shapes, ont_graph=ontology, inference="none", advanced=True, allow_warnings=True
    )
    results = []
    for result in report.subjects(RDF.type, SH.ValidationResult):
        shape = report.value(result, SH.sourceShape)
        if isinstance(shape, BNode):
            shape = shapes.value(None, SH.property, shape) or shape
        results.append(
            {
                "focus": str(report.value(result, SH.focusNode)),
                "shape": str(shape),
                "component": str(report.value(result, SH.sourceConstraintComponent)),
                "severity": str(report.value(result, SH.resultSeverity)),
            }
        )
    return results


def test_manifest_is_well_formed() -> None:
    assert len(CASES) > 150
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))
    for case in CASES:
        assert case.focus and case.shape.startswith(ETS) and case.component and case.message, case.name
        assert case.drop or case.add, f"{case.name} changes nothing"


def test_good_portfolio_conforms(shape_validator: ShapeValidator, good_store: Store) -> None:
    assert shape_validator.validate(good_store) == []


def test_good_portfolio_conforms_in_pyshacl(good_store: Store, shapes_graph: Graph, ontology_graph: Graph) -> None:
    assert run_pyshacl(_graph(good_store), shapes_graph, ontology_graph) == []


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_bad_example(case: Case, shape_validator: ShapeValidator, shapes_graph: Graph) -> None:
    found = shape_validator.validate(case.store())
    assert {(v.focus, v.shape) for v in found} == case.expected, [v.describe() for v in found]
    main = [v for v in found if (v.focus, v.shape) == (case.focus, case.shape)]
    shape_message = str(shapes_graph.value(URIRef(case.shape), SH.message) or "")
    for violation in main:
        assert case.message in violation.message
        assert violation.severity is case.severity
        if case.component == str(SH.SPARQLConstraintComponent):
            constraint = shapes_graph.value(URIRef(case.shape), SH.sparql)
            assert violation.message == str(shapes_graph.value(constraint, SH.message))
        else:
            assert violation.message == shape_message
            path = shapes_graph.value(URIRef(case.shape), SH.path)
            inverse = shapes_graph.value(path, SH.inversePath)
            assert violation.path == (str(path) if inverse is None else f"^{inverse}")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_bad_example_in_pyshacl(case: Case, shapes_graph: Graph, ontology_graph: Graph) -> None:
    results = run_pyshacl(_graph(case.store()), shapes_graph, ontology_graph)
    assert {(r["focus"], r["shape"]) for r in results} == case.expected, results
    components = {r["component"] for r in results if (r["focus"], r["shape"]) == (case.focus, case.shape)}
    assert case.component in components
    assert all(r["severity"] == str(SH) + case.severity.value for r in results if r["shape"] == case.shape)


# -----------------------------------------------------------------------------
# The shapes themselves
# -----------------------------------------------------------------------------


def _constraints(shapes: Graph) -> set[tuple[str, str]]:
    """(shape IRI, constraint component) of every constraint in the shapes."""
    found = set()
    for parameter, component in COMPONENTS.items():
        for shape in shapes.subjects(parameter, None):
            or_member = parameter == SH["class"] and shapes.value(None, RDF.first, shape) is not None
            if not or_member:
                found.add((str(shape), str(component)))
    return found


def test_every_constraint_has_a_bad_example(shapes_graph: Graph) -> None:
    constraints = _constraints(shapes_graph)
    assert len(constraints) > 150
    covered = {(c.shape, c.component) for c in CASES}
    assert constraints - covered == set()
    assert covered - constraints == set()


def test_every_constraint_shape_has_a_message(shapes_graph: Graph) -> None:
    shapes = {shape for shape, _ in _constraints(shapes_graph)}
    for shape in sorted(shapes):
        node = URIRef(shape)
        assert isinstance(node, URIRef) and shape.startswith(ETS), f"{shape} should be a named shape"
        sparql = list(shapes_graph.objects(node, SH.sparql))
        if sparql:
            assert all(shapes_graph.value(s, SH.message) is not None for s in sparql), shape
        else:
            message = shapes_graph.value(node, SH.message)
            assert isinstance(message, Literal) and message.language == "en", shape
        for message in shapes_graph.objects(node, SH.message):
            assert str(message).endswith("."), shape


def test_every_shape_compiles_to_queries(shape_validator: ShapeValidator, shapes_graph: Graph) -> None:
    compiled = {(q.shape, q.component) for q in shape_validator.queries}
    assert {(s, c.rsplit("#", 1)[1]) for s, c in _constraints(shapes_graph)} == compiled


def test_quantities_are_doubles_and_messages_name_their_unit(shapes_graph: Graph, ontology_graph: Graph) -> None:
    quantity = URIRef(ET + "quantity")
    unit_of_measure = URIRef(ET + "unitOfMeasure")
    quantities = set(ontology_graph.subjects(RDFS.subPropertyOf, quantity))
    assert len(quantities) > 15
    constrained = set()
    for shape, path in shapes_graph.subject_objects(SH.path):
        if path not in quantities or shapes_graph.value(shape, SH.lessThanOrEquals) is not None:
            continue
        constrained.add(path)
        assert shapes_graph.value(shape, SH.datatype) == XSD_DOUBLE, shape
        unit = str(ontology_graph.value(path, unit_of_measure))
        assert unit in UNIT_SYMBOLS, f"add a symbol for {unit}"
        assert UNIT_SYMBOLS[unit] in str(shapes_graph.value(shape, SH.message)), shape
    assert quantities - constrained == set()


def test_shapes_use_the_shapes_namespace(shapes_graph: Graph) -> None:
    for kind in (SH.NodeShape, SH.PropertyShape):
        for shape in shapes_graph.subjects(RDF.type, kind):
            assert isinstance(shape, URIRef) and str(shape).startswith(ETS), shape


# -----------------------------------------------------------------------------
# Violations as reported
# -----------------------------------------------------------------------------


def _case(name: str) -> Case:
    return next(c for c in CASES if c.name == name)


def test_violation_fields(shape_validator: ShapeValidator) -> None:
    [violation] = shape_validator.validate(_case("Load-activePower-datatype").store())
    assert violation == Violation(
        focus=ns.ID_BASE + "test/load-1",
        shape=ETS + "Load-activePower",
        message="A load must have exactly one active power (MW): an xsd:double.",
        severity=Severity.VIOLATION,
        source_name="MV1.101 Load 1",
        path=ET + "activePower",
        value='"0.8"',
    )
    [violation] = shape_validator.validate(_case("Storage-roundTripEfficiency-maxInclusive").store())
    assert violation.value == '"1.2"^^xsd:double'
    [violation] = shape_validator.validate(_case("Asset-atBus-class").store())
    assert violation.value == ns.ID_BASE + "test/line-1"
    [violation] = shape_validator.validate(_case("Asset-sourceName-minCount").store())
    assert (violation.source_name, violation.value) == (None, None)
    [violation] = shape_validator.validate(_case("ThermalUnitFuelCost-sparql").store())
    assert (violation.value, violation.path) == (ns.ID_BASE + "test/fuel-coal", None)
    [violation] = shape_validator.validate(_case("CostEntry-inCostModel-class").store())
    assert violation.path == "^" + ET + "hasCostEntry"
    assert violation.value == ns.ID_BASE + "test/market"


def test_warning_severity_is_kept(shape_validator: ShapeValidator) -> None:
    [violation] = shape_validator.validate(_case("LineEnds-sparql").store())
    assert violation.severity is Severity.WARNING
    assert violation.describe().startswith("Warning: 'MV1.101 Line 1'")


def test_graphs_are_read_as_one_and_results_are_not_repeated(shape_validator: ShapeValidator) -> None:
    store = _case("Bus-subnet-datatype").store()
    copy = NamedNode(ns.GRAPH_BASE + "copy")
    store.extend([Quad(q.subject, q.predicate, q.object, copy) for q in store])
    found = shape_validator.validate(store)
    assert [(v.shape, v.value) for v in found] == [(ETS + "Bus-subnet", '"101"^^xsd:integer')]


def test_default_validator_is_compiled_once(shape_validator: ShapeValidator) -> None:
    assert ShapeValidator.default() is shape_validator
    asset_targets = next(q.targets for q in shape_validator.queries if q.shape == ETS + "Asset-atBus")
    assert {t.value for t in asset_targets} >= {ET + c for c in ("Asset", "ThermalUnit", "Load", "ExternalGrid")}


def test_queries_put_shape_terms_in_as_rdf_terms(shape_validator: ShapeValidator) -> None:
    for query in shape_validator.queries:
        assert not re.search(r"^\s*#@", query.sparql, re.MULTILINE), f"unfilled placeholder in {query.shape}"
        if query.component == "SPARQLConstraintComponent":
            continue
        # Paths, classes and bounds reach the template as substitutions or VALUES blocks only.
        outside_values = re.sub(r"VALUES \?\w+ \{[^}]*\}", "", query.sparql)
        assert ET not in outside_values, query.shape
        assert query.substitutions or query.component in ("ClassConstraintComponent", "OrConstraintComponent")


# -----------------------------------------------------------------------------
# The compiler on SHACL the shipped shapes do not use (cross-checked with pySHACL)
# -----------------------------------------------------------------------------

PREFIXES = """
@prefix ex:   <http://example.org/> .
@prefix owl:  <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix sh:   <http://www.w3.org/ns/shacl#> .
@prefix xsd:  <http://www.w3.org/2001/XMLSchema#> .
"""

FEATURE_ONTOLOGY = (
    PREFIXES
    + """
ex:Thing a owl:Class .
ex:Gadget a owl:Class ; rdfs:subClassOf ex:Thing .
ex:Person a owl:Class .
ex:Employee a owl:Class ; rdfs:subClassOf ex:Person .
ex:alice a owl:NamedIndividual , ex:Employee .
"""
)

FEATURE_SHAPES = (
    PREFIXES
    + """
<http://example.org/shapes> sh:declare [ sh:prefix "ex" ; sh:namespace "http://example.org/"^^xsd:anyURI ] .

ex:ThingShape a sh:NodeShape ;
    sh:targetClass ex:Thing ;
    sh:nodeKind sh:IRI ;
    sh:pattern "^http://example[.]org/thing/" ;
    sh:message "A thing's IRI must start with http://example.org/thing/." ;
    sh:property ex:Thing-colour , ex:Thing-tag , ex:Thing-size , ex:Thing-parts , ex:Thing-owner ,
        ex:Thing-name , ex:Thing-off ;
    sh:property [ sh:path ex:code ; sh:maxCount 1 ; sh:message "At most one code." ] .

ex:Thing-colour a sh:PropertyShape ;
    sh:path ex:colour ; sh:in ( "red" "green" ex:Blue 1 ) ; sh:message "Colour {?value} is not allowed." .
ex:Thing-tag a sh:PropertyShape ;
    sh:path ex:tag ; sh:hasValue "core" ; sh:message "Every thing is tagged core." .
ex:Thing-size a sh:PropertyShape ;
    sh:path ex:size ; sh:minInclusive 0 ; sh:maxExclusive 10 ; sh:severity sh:Info ;
    sh:message "Size {$value} is not in [0, 10)." .
ex:Thing-parts a sh:PropertyShape ;
    sh:path ex:part ; sh:minCount 2 ; sh:maxCount 3 ; sh:message "Two or three parts." .
ex:Thing-owner a sh:PropertyShape ;
    sh:path [ sh:inversePath ex:owns ] ; sh:maxCount 1 ; sh:class ex:Person ;
    sh:nodeKind sh:BlankNodeOrIRI ; sh:message "At most one owner, a person." .
ex:Thing-name a sh:PropertyShape ;
    sh:path ex:name ; sh:pattern "^[a-z]+$" ; sh:flags "i" ; sh:nodeKind sh:Literal ; sh:maxInclusive "m" ;
    sh:message "A name is letters only, up to m." .
ex:Thing-off a sh:PropertyShape ;
    sh:path ex:missing ; sh:minCount 1 ; sh:deactivated true ; sh:message "Switched off." .

ex:GadgetShape a sh:NodeShape ;
    sh:targetClass ex:Gadget ;
    sh:severity sh:Warning ;
    sh:sparql [
        sh:message "Gadget {$this} has a part {?value} that is also a thing." ;
        sh:prefixes <http://example.org/shapes> ;
        sh:select "SELECT $this ?value WHERE { $this ex:part ?value . ?value a ex:Thing . }"
    ] .
"""
)

FEATURE_DATA = (
    PREFIXES
    + """
ex:thing\\/1 a ex:Thing ; ex:colour "red" , ex:Blue ; ex:tag "core" , "extra" ; ex:size 0 , 9.5 ;
    ex:part ex:p1 , ex:p2 ; ex:name "Widget" ; ex:code "a" .
ex:alice ex:owns ex:thing\\/1 .

ex:thing\\/2 a ex:Gadget ; ex:colour "blue" , "1" ; ex:tag "extra" ; ex:size 10 , "big" , -1 ;
    ex:part ex:p1 ; ex:name "Widget 2" , ex:name , "zeta" ; ex:code "a" , "b" .
ex:bob a ex:Robot ; ex:owns ex:thing\\/2 .
ex:carol a ex:Person ; ex:owns ex:thing\\/2 .

<urn:other:3> a ex:Gadget ; ex:tag "core" ; ex:part ex:p1 , ex:p2 , ex:p3 , ex:thing\\/1 .
"""
)


@pytest.fixture(scope="module")
def feature_results() -> tuple[list[Violation], list[dict[str, object]]]:
    validator = ShapeValidator.from_graphs([FEATURE_SHAPES], [FEATURE_ONTOLOGY])
    store = Store()
    store.load(FEATURE_DATA, format=RdfFormat.TURTLE)
    ours = validator.validate(store)
    shapes = Graph().parse(data=FEATURE_SHAPES, format="turtle")
    ontology = Graph().parse(data=FEATURE_ONTOLOGY, format="turtle")
    theirs = run_pyshacl(Graph().parse(data=FEATURE_DATA, format="turtle"), shapes, ontology)
    return ours, theirs


def test_compiler_agrees_with_pyshacl_on_other_features(feature_results) -> None:
    ours, theirs = feature_results
    ours_set = {(v.focus, v.shape, v.severity.value) for v in ours}
    theirs_set = {(r["focus"], r["shape"], str(r["severity"]).rsplit("#", 1)[1]) for r in theirs}
    assert ours_set == theirs_set
    assert len(ours_set) >= 10


def test_compiler_reports_each_offending_value(feature_results) -> None:
    ours, _ = feature_results
    ex = "http://example.org/"
    by_shape: dict[tuple[str, str], set[str | None]] = {}
    for v in ours:
        by_shape.setdefault((v.focus.removeprefix(ex), v.shape.removeprefix(ex)), set()).add(v.value)
    assert by_shape[("thing/2", "Thing-colour")] == {'"blue"', '"1"'}
    assert by_shape[("thing/2", "Thing-size")] == {'"10"^^xsd:integer', '"big"', '"-1"^^xsd:integer'}
    assert by_shape[("thing/2", "Thing-name")] == {'"Widget 2"', ex + "name", '"zeta"'}
    assert by_shape[("thing/2", "Thing-owner")] == {None, ex + "bob"}
    assert by_shape[("thing/2", "Thing-parts")] == {None}
    assert by_shape[("thing/2", "ThingShape")] == {None}  # the anonymous ex:code shape
    assert by_shape[("urn:other:3", "ThingShape")] == {"urn:other:3"}
    assert by_shape[("urn:other:3", "GadgetShape")] == {ex + "thing/1"}
    assert ("thing/1", "Thing-owner") not in by_shape  # ex:alice is an ex:Employee in the ontology
    assert not any(v.shape == ex + "Thing-off" for v in ours)


def test_compiler_fills_message_templates(feature_results) -> None:
    ours, _ = feature_results
    messages = {v.message for v in ours}
    assert 'Colour "blue" is not allowed.' in messages
    assert 'Size "big" is not in [0, 10).' in messages
    assert "Gadget urn:other:3 has a part http://example.org/thing/1 that is also a thing." in messages
    info = [v for v in ours if v.shape == "http://example.org/Thing-size"]
    assert info and all(v.severity is Severity.INFO for v in info)


THING_SHAPE = "ex:S a sh:NodeShape ; sh:targetClass ex:Thing ; "
UNSUPPORTED = {
    "blank targetNode": "ex:S a sh:NodeShape ; sh:targetNode [] ; sh:nodeKind sh:IRI .",
    "nested property": THING_SHAPE + "sh:property [ sh:path ex:a ; sh:property [ sh:path ex:b ; sh:minCount 1 ] ] .",
    "unchecked datatype": THING_SHAPE + "sh:property [ sh:path ex:a ; sh:datatype xsd:int ] .",
    "constraint component": "ex:C a sh:ConstraintComponent ; sh:parameter [ sh:path ex:p ] .",
    "MINUS": THING_SHAPE + 'sh:sparql [ sh:select "SELECT $this WHERE { $this ?p ?o MINUS { $this ?p 1 } }" ] .',
    "$this in a nested group": THING_SHAPE
    + 'sh:sparql [ sh:select "SELECT $this WHERE { { FILTER (bound($this)) } }" ] .',
    "node": THING_SHAPE + "sh:node ex:Other .",
    "sequence path": THING_SHAPE + "sh:property [ sh:path ( ex:a ex:b ) ; sh:minCount 1 ] .",
    "or of shapes": THING_SHAPE + "sh:property [ sh:path ex:a ; sh:or ( [ sh:datatype xsd:string ] ) ] .",
    "$PATH": THING_SHAPE + 'sh:sparql [ sh:select "SELECT $this WHERE { $this $PATH ?v }" ] .',
    "ASK": THING_SHAPE + 'sh:sparql [ sh:ask "ASK { }" ] .',
    "severity": THING_SHAPE + "sh:severity ex:Fatal ; sh:nodeKind sh:IRI .",
    "minCount on a node shape": THING_SHAPE + "sh:minCount 1 .",
    "literal target": 'ex:S a sh:NodeShape ; sh:targetClass "ex:Thing" .',
}


@pytest.mark.parametrize("shape", UNSUPPORTED.values(), ids=UNSUPPORTED.keys())
def test_compiler_refuses_what_it_cannot_translate(shape: str) -> None:
    with pytest.raises(UnsupportedShapeError):
        compile_shapes(parse_turtle([PREFIXES + shape]), parse_turtle([FEATURE_ONTOLOGY]))


def test_shapes_the_compiler_refuses_go_to_the_conformant_engine() -> None:
    shapes = PREFIXES + THING_SHAPE + "sh:property [ sh:path ( ex:a ex:b ) ; sh:minCount 1 ] ."
    validator = ShapeValidator.from_graphs([shapes], [FEATURE_ONTOLOGY])
    assert validator.conformant is not None
    data = Store()
    data.load(PREFIXES + "ex:t a ex:Thing ; ex:a ex:m . ex:m ex:b 1 . ex:u a ex:Thing .", format=RdfFormat.TURTLE)
    assert [v.focus for v in validator.validate(data)] == ["http://example.org/u"]


def test_the_shipped_shapes_stay_on_the_compiled_fast_path(shape_validator) -> None:
    assert shape_validator.conformant is None and shape_validator.queries


def test_shapes_and_templates_are_package_data() -> None:
    shapes = {e.name for e in files("enertwin.shapes").iterdir()}
    assert shapes >= {"assets.ttl", "topology.ttl", "costs.ttl", "series.ttl", "decisions.ttl"}
    templates = {e.name for e in files("enertwin.kg.validation").iterdir() if e.name.endswith(".rq")}
    assert {"shacl_count.rq", "shacl_class.rq", "shacl_datatype.rq"} <= templates
    text = (files("enertwin.kg.validation") / "shacl_class.rq").read_text(encoding="utf-8")
    assert re.search(r"^\s*#@targets\s*$", text, re.MULTILINE)
