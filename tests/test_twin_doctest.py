"""The ``>>>`` examples in the Twin's modules and the readers it rests on run as tests (in the test key's home)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "enertwin",
    "enertwin.twin",
    "enertwin.requests",
    "enertwin.events",
    "enertwin.jobs",
    "enertwin.kg.rows",
    "enertwin.kg.terms",
    "enertwin.reasoning.cancel",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name: str) -> None:
    module = importlib.import_module(name)
    failed, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert failed == 0, f"{failed} of {tried} examples in {name} failed (run with -s to see them)"


def test_the_twin_module_has_examples() -> None:
    finder = doctest.DocTestFinder()
    examples = sum(len(t.examples) for t in finder.find(importlib.import_module("enertwin.twin")))
    assert examples >= 3
