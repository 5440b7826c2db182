"""A twin holding hv-mixed and its price reference, and the portfolio of a short sandbox run, once per session."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from enertwin import Twin
from enertwin.agents.sim.simulation import Portfolio, SimulationConfig, read_portfolio

START = datetime.fromisoformat("2016-01-14T00:00")
HORIZON = 24


def short_config(steps: int = 4, **options: object) -> SimulationConfig:
    """A run of a few 15-minute steps with a 6-hour horizon (tests stay short)."""
    return SimulationConfig("hv-mixed", START, days=steps / 96, horizon=HORIZON, **options)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def twin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Twin]:
    with Twin.open(tmp_path_factory.mktemp("agents") / "store") as opened:
        opened.prepare_case("hv-mixed")
        yield opened


@pytest.fixture(scope="session")
def portfolio(twin: Twin) -> Portfolio:
    """Enough of hv-mixed for runs of up to 8 steps."""
    return read_portfolio(twin, short_config(8))
