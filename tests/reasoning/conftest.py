"""A store with both reference grids, imported once per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from enertwin.kg.importers.simbench import ensure_imported
from enertwin.kg.store import Store


@pytest.fixture(scope="session")
def grids(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """An embedded on-disk store holding hv-mixed and ehv-mixed (the market's price reference)."""
    store = Store.open(tmp_path_factory.mktemp("grids") / "store")
    ensure_imported(store, "hv-mixed")
    ensure_imported(store, "ehv-mixed")
    yield store
    store.close()
