"""A twin in memory with a small portfolio: two thermal units and a battery, in a grid on UTC."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from policy_proposals import PORTFOLIO
from pyoxigraph import NamedNode

from enertwin import Twin
from enertwin.kg.store import Store


@pytest.fixture
def twin() -> Iterator[Twin]:
    store = Store.open(None)
    store.replace_graph(NamedNode("https://w3id.org/enertwin/graph/policy-test"), PORTFOLIO)
    with Twin(store) as opened:
        opened.init()
        yield opened
