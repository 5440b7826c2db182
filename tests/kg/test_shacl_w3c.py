"""The W3C SHACL test suite (Core and SHACL-SPARQL), run through enertwin's validator.

Every test must pass as the suite's own rules say (``w3c_suite.verdict``): a report isomorphic
to the expected one, or a failure where the suite expects one. Nothing is skipped.
Below, one regression test per wrong answer the compiled fast path gave before issue 11.
"""

from __future__ import annotations

import logging

import pytest
import w3c_suite  # beside this file
from pyoxigraph import RdfFormat, Store

from enertwin.kg.validation.compiler import UnsupportedShapeError, compile_shapes
from enertwin.kg.validation.shacl import ShapeValidator
from enertwin.kg.validation.standard import ShapesError, TurtleSource, validate_turtle

CASES = w3c_suite.cases()


def _validate(case: w3c_suite.Case):
    shapes = TurtleSource(case.shapes.read_text(encoding="utf-8"), case.shapes.as_uri())
    data = TurtleSource(case.data.read_text(encoding="utf-8"), case.data.as_uri())
    return validate_turtle(shapes, data)


def test_the_suite_is_all_there() -> None:
    folders = {c.folder for c in CASES}
    assert len([c for c in CASES if c.folder.startswith("core/")]) == 98
    assert len([c for c in CASES if c.folder.startswith("sparql/")]) == 22
    assert {"core/node", "core/property", "core/path", "core/targets", "sparql/pre-binding"} <= folders


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_w3c_shacl(case: w3c_suite.Case) -> None:
    logging.getLogger("rdflib").setLevel(logging.ERROR)  # the suite's ill-typed literals on purpose
    assert w3c_suite.verdict(case, _validate, (ShapesError,)) == "pass"


# --- regressions: the fast path's wrong answers without an error ---------------------------------

PREFIXES = """
@prefix ex: <http://example.org/> .
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""


def _fast(shapes: str, data: str) -> list[tuple[str, str]]:
    shapes_store, data_store = Store(), Store()
    shapes_store.load(PREFIXES + shapes, format=RdfFormat.TURTLE)
    data_store.load(PREFIXES + data, format=RdfFormat.TURTLE)
    report = ShapeValidator.for_data(shapes_store, data_store).report(data_store)
    return sorted((str(r.focus), r.component.value.rsplit("#", 1)[1]) for r in report.results)


def test_implicit_class_target_is_checked() -> None:
    shapes = "ex:C a rdfs:Class, sh:NodeShape ; sh:property [ sh:path ex:p ; sh:minCount 1 ] ."
    assert _fast(shapes, "ex:a a ex:C .") == [("<http://example.org/a>", "MinCountConstraintComponent")]


def test_nested_property_in_a_property_shape_is_refused_not_skipped() -> None:
    shapes = "ex:S sh:targetNode ex:a ; sh:path ex:p ; sh:property [ sh:path ex:q ; sh:minCount 1 ] ."
    with pytest.raises(UnsupportedShapeError, match="inside a property shape"):
        _fast(shapes, "ex:a ex:p ex:b .")


@pytest.mark.parametrize("target", ["sh:targetNode ex:a", "sh:targetSubjectsOf ex:p", "sh:targetObjectsOf ex:q"])
def test_untyped_shape_with_only_node_targets_is_a_shape(target: str) -> None:
    shapes = f"ex:S {target} ; sh:nodeKind sh:Literal ."
    found = _fast(shapes, "ex:a ex:p 1 . ex:z ex:q ex:a .")
    assert found == [("<http://example.org/a>", "NodeKindConstraintComponent")]


def test_ill_typed_literal_of_an_unchecked_xsd_type_is_not_accepted() -> None:
    shapes = "ex:S sh:targetNode ex:a ; sh:path ex:p ; sh:datatype xsd:int ."
    with pytest.raises(UnsupportedShapeError, match=r"sh:datatype .*int has no lexical check"):
        _fast(shapes, 'ex:a ex:p "x"^^xsd:int .')
    report = validate_turtle(TurtleSource(PREFIXES + shapes), TurtleSource(PREFIXES + 'ex:a ex:p "x"^^xsd:int .'))
    assert [r.value for r in report.results if r.value is not None] and not report.conforms


def test_blank_node_typed_with_a_class_of_sh_class_does_not_crash() -> None:
    shapes_store = Store()
    shapes_store.load(
        PREFIXES + "ex:S sh:targetClass ex:T ; sh:property [ sh:path ex:p ; sh:class ex:C ] .", format=RdfFormat.TURTLE
    )
    ontology = Store()
    ontology.load(PREFIXES + "[] a ex:C . ex:D rdfs:subClassOf ex:C .", format=RdfFormat.TURTLE)
    validator = ShapeValidator(compile_shapes(shapes_store, ontology))
    data = Store()
    data.load(PREFIXES + "ex:t a ex:T ; ex:p ex:x . ex:x a ex:D .", format=RdfFormat.TURTLE)
    assert validator.validate(data) == []
