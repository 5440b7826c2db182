"""Typed rows name the node and the property a bad value breaks; one term conversion serves every printer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pyoxigraph import BlankNode, Literal, NamedNode
from pyoxigraph import Store as PyoxigraphStore
from typer.testing import CliRunner

import enertwin.kg.reports
import enertwin.twin
from enertwin.api.cli import app
from enertwin.kg import namespaces as ns
from enertwin.kg.errors import InputError
from enertwin.kg.rows import Row, read_rows, solutions
from enertwin.kg.terms import to_python

UNIT = NamedNode("https://example.org/unit/g1")
PROPS = {"maxP": "et:maxActivePower", "on": "et:inService", "name": "et:sourceName", "n": "et:stepCount"}


def row(**values: object) -> Row:
    return Row({"unit": UNIT, **values}, "unit", PROPS, "test.rq")  # type: ignore[arg-type]


def test_values_of_the_type_asked_for() -> None:
    r = row(
        maxP=Literal("12.5", datatype=ns.XSD_DOUBLE),
        on=Literal("true", datatype=ns.XSD_BOOLEAN),
        name=Literal("G1"),
        n=Literal("96", datatype=ns.XSD_INTEGER),
    )
    assert (r.iri("unit"), r.float("maxP"), r.bool("on"), r.str("name"), r.int("n")) == (
        UNIT.value,
        12.5,
        True,
        "G1",
        96,
    )
    assert r.float("n") == 96.0  # an integer is a number too


@pytest.mark.parametrize(
    ("values", "read", "message"),
    [
        ({}, lambda r: r.float("maxP"), "<https://example.org/unit/g1> has no et:maxActivePower"),
        (
            {"maxP": Literal("x", datatype=ns.XSD_DOUBLE)},
            lambda r: r.float("maxP"),
            "et:maxActivePower must be a number",
        ),
        ({"maxP": Literal("ten")}, lambda r: r.float("maxP"), 'must be a number, found "ten"'),
        ({"maxP": UNIT}, lambda r: r.float("maxP"), "must be a number, found <https://example.org/unit/g1>"),
        ({"on": Literal("yes", datatype=ns.XSD_BOOLEAN)}, lambda r: r.bool("on"), "et:inService must be a boolean"),
        ({"n": Literal("1.5", datatype=ns.XSD_DOUBLE)}, lambda r: r.int("n"), "et:stepCount must be an integer"),
        ({"name": Literal("G1")}, lambda r: r.iri("name"), "et:sourceName must be an IRI"),
    ],
)
def test_a_missing_or_ill_typed_value_names_the_node_and_the_property(values, read, message) -> None:
    with pytest.raises(InputError, match=r"^<https://example\.org/unit/g1> ") as caught:
        read(row(**values))
    assert message in str(caught.value)


def test_optional_values_are_none_when_unbound_and_checked_when_bound() -> None:
    r = row(on=Literal("maybe", datatype=ns.XSD_BOOLEAN))
    assert r.optional_float("maxP") is None and r.optional_str("name") is None
    with pytest.raises(InputError, match="et:inService"):
        r.optional_bool("on")


def test_a_row_about_another_node_names_that_node() -> None:
    entry = NamedNode("https://example.org/costs/gas")
    r = Row({"unit": UNIT, "entry": entry}, "unit", {"marginal": "et:marginalCost"}).regarding("entry")
    with pytest.raises(InputError, match=r"^<https://example\.org/costs/gas> has no et:marginalCost$"):
        r.float("marginal")


def test_rows_of_a_real_query() -> None:
    store = PyoxigraphStore()
    found = store.query(
        "PREFIX xsd: <http://www.w3.org/2001/XMLSchema#> "
        'SELECT ?unit ?maxP WHERE { VALUES (?unit ?maxP) { (<https://example.org/u> "7"^^xsd:double) } }'
    )
    [only] = read_rows(solutions(found, "inline"), "unit", PROPS)
    assert only.float("maxP") == 7.0
    with pytest.raises(TypeError, match="must be a SELECT"):
        solutions(store.query("ASK { }"), "ask.rq")


def test_one_conversion_of_terms() -> None:
    assert to_python(Literal("true", datatype=ns.XSD_BOOLEAN)) is True
    assert to_python(Literal("0", datatype=ns.XSD_BOOLEAN)) is False
    assert to_python(Literal("7", datatype=NamedNode(ns.XSD_BASE + "unsignedInt"))) == 7
    assert to_python(Literal("x", datatype=ns.XSD_INTEGER)) == "x"  # ill-typed: its text, not a crash
    assert to_python(Literal("")) == ""
    assert to_python(BlankNode("b0")) == "b0"
    assert enertwin.kg.reports.to_python is enertwin.twin.to_python is to_python  # reports and queries


def test_query_json_prints_a_boolean_as_a_boolean(tmp_path: Path) -> None:
    query = tmp_path / "flags.rq"
    query.write_text(
        "PREFIX xsd: <http://www.w3.org/2001/XMLSchema#> "
        'SELECT ?flag ?n WHERE { VALUES (?flag ?n) { ("true"^^xsd:boolean "3"^^xsd:integer) } }'
    )
    ran = CliRunner().invoke(app, ["query", str(query), "--store", str(tmp_path / "store"), "--format", "json"])
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.stdout) == [{"flag": True, "n": 3}]
