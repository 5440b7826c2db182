"""A twin on a fresh disk store holding one small grid, for the kill switch and approval tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from control_portfolio import add_portfolio  # beside this file

from enertwin import Twin
from enertwin.kg.provenance.keys import Signer


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """Where a disk store for one test lives."""
    return tmp_path / "store"


@pytest.fixture
def twin(store_path: Path, signing_key: Signer) -> Iterator[Twin]:
    """A twin on a fresh disk store holding the small grid."""
    with Twin.open(store_path, signer=signing_key) as opened:
        add_portfolio(opened)
        yield opened
