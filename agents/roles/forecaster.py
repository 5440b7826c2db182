"""Forecasts of loads and renewables: seasonal-naive from the history in the series store.

:class:`Forecaster` is the interface later (learned) models implement; :class:`SeasonalNaive`
says each step will be what the same step was one season (a day) before, using only history
that is already past at the time of the forecast.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import numpy as np

from enertwin.agents.events import Forecast
from enertwin.agents.roles.identity import AgentIdentity
from enertwin.kg import namespaces as ns
from enertwin.reasoning.problem import FloatArray

SeriesReader = Callable[[list[str], int, int], Mapping[str, np.ndarray]]


@dataclass(frozen=True, slots=True)
class ProfiledAsset:
    """An asset whose power is its nominal MW times a profile in the series store."""

    iri: str
    nominal_mw: float
    profile: str | None
    floor_zero: bool = False


class Forecaster(Protocol):
    """What every forecasting model offers the optimizer."""

    agent: AgentIdentity

    def forecast(self, first_step: int, steps: int) -> Mapping[str, FloatArray]:
        """MW per asset IRI for ``steps`` steps from profile step ``first_step`` (now), from past data only."""
        ...


class SeasonalNaive:
    """Each step as it was one ``season`` earlier (or several seasons, so only the past is used)."""

    def __init__(
        self, assets: Sequence[ProfiledAsset], read: SeriesReader, first: int, count: int, season: int
    ) -> None:
        """Keep the history of steps ``first − season`` … ``first + count`` of every profile (one read).

        ``season``: in steps (the graph's ``et:forecastSeason``, read by ``Twin.agent_settings``).
        """
        self.season = season
        self.assets = tuple(assets)
        self.agent = AgentIdentity(
            "forecaster", ns.FORECASTER_ROLE, configuration={"model": "seasonal-naive", "season_steps": season}
        )
        self._origin = max(0, first - season)
        keys = sorted({a.profile for a in self.assets if a.profile is not None})
        self._history = dict(read(keys, self._origin, first + count - self._origin)) if keys else {}

    def forecast(self, first_step: int, steps: int) -> dict[str, FloatArray]:
        """MW per asset: profile value one season back (two if that is not yet past) times nominal power."""
        wanted = np.arange(first_step, first_step + steps)
        back = wanted - self.season * np.ceil((wanted - first_step + 1) / self.season).astype(int)
        index = np.clip(back - self._origin, 0, None)
        out: dict[str, FloatArray] = {}
        for asset in self.assets:
            if asset.profile is None:
                out[asset.iri] = np.full(steps, asset.nominal_mw)
                continue
            history = self._history[asset.profile]
            values = asset.nominal_mw * history[np.minimum(index, len(history) - 1)]
            out[asset.iri] = np.maximum(values, 0.0) if asset.floor_zero else values
        return out


def forecast_event(
    agent: AgentIdentity, forecasts: Mapping[str, FloatArray], start: datetime, step_hours: float, event_id: str
) -> Forecast:
    """The forecasts of one round as a ``forecast`` event (MW per asset from ``start``), for observers on the bus."""
    return Forecast(
        id=event_id,
        time=start,
        source=agent.iri.value,
        start=start,
        step_minutes=round(step_hours * 60),
        quantity="p_mw",
        model=f"{agent.configuration.get('model', agent.name)}/{agent.version}",
        values={asset: np.asarray(values, dtype=float).tolist() for asset, values in forecasts.items()},
    )
