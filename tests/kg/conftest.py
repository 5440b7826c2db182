"""Fixtures for the knowledge-graph tests: shipped shapes, ontology, test portfolio."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest
from pyoxigraph import RdfFormat, Store
from rdflib import Graph

from enertwin.kg.validation.shacl import ShapeValidator

DATA = Path(__file__).resolve().parent.parent / "data"
GOOD_PORTFOLIO = DATA / "good_portfolio.ttl"


def package_turtle(package: str) -> dict[str, str]:
    """Name -> text of every Turtle file shipped in ``package``."""
    return {
        entry.name: entry.read_text(encoding="utf-8")
        for entry in files(package).iterdir()
        if entry.name.endswith(".ttl")
    }


@pytest.fixture(scope="session")
def shape_validator() -> ShapeValidator:
    """The validator of the shipped shapes and ontology."""
    return ShapeValidator.default()


@pytest.fixture(scope="session")
def shapes_graph() -> Graph:
    """All shipped shapes (shapes/*.ttl) in one rdflib graph."""
    graph = Graph()
    for text in package_turtle("enertwin.shapes").values():
        graph.parse(data=text, format="turtle")
    return graph


@pytest.fixture(scope="session")
def ontology_graph() -> Graph:
    """The shipped ontology (ontology/*.ttl) as an rdflib graph."""
    graph = Graph()
    for text in package_turtle("enertwin.ontology").values():
        graph.parse(data=text, format="turtle")
    return graph


@pytest.fixture
def good_store() -> Store:
    """A fresh in-memory store holding the valid test portfolio."""
    store = Store()
    store.load(path=GOOD_PORTFOLIO, format=RdfFormat.TURTLE)
    return store
