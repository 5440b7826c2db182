"""The dispatch problem as typed, immutable data: what the graph says, nothing more.

A :class:`DispatchProblem` is built from SPARQL results (``portfolio_reader``) and is the only
input of the model builders, the explainer and the schedule checker. Every number keeps the
IRI of the graph fact it came from, so that explanations can name it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def frozen_array(values: object) -> FloatArray:
    """A read-only float copy of ``values`` (dataclasses here are immutable, their arrays too)."""
    array = np.array(values, dtype=float)
    array.setflags(write=False)
    return array


@dataclass(frozen=True, slots=True)
class Horizon:
    """The steps a problem covers, located in the profiles' time base.

    ``start`` is an instant shown on the wall clock of the grid's zone; step times are computed
    as instants and then shown there, so a horizon across a clock change keeps 15-minute steps.
    """

    start: datetime
    first_step: int
    steps: int
    step_hours: float

    def time_at(self, step: int) -> datetime:
        """The instant step ``step`` of the horizon begins, with the offset its zone has then."""
        moment = self.start.astimezone(UTC) + timedelta(hours=self.step_hours * step)
        return moment.astimezone(self.start.tzinfo) if self.start.tzinfo is not None else moment.replace(tzinfo=None)


@dataclass(frozen=True, slots=True)
class CostTerms:
    """The cost entry that prices one fuel, with the IRIs that state it."""

    entry: str
    fuel: str
    fuel_code: str
    cost_per_mwh: float
    start_cost_per_mw: float
    ramp_share: float
    min_up_hours: float
    min_down_hours: float


@dataclass(frozen=True, slots=True)
class ThermalUnit:
    """A committable unit: limits from the asset, costs and dynamics from its fuel's cost entry.

    ``held_steps``: the first steps in which the unit must keep its initial state, because a
    switch before the horizon (in an earlier rolling window) is still inside its minimum up or
    down time.
    """

    iri: str
    name: str
    min_p: float
    max_p: float
    costs: CostTerms
    ramp_mw: float
    min_up_steps: int
    min_down_steps: int
    initial_on: bool
    profile: str | None
    initial_output: float | None = None
    held_steps: int = 0

    @property
    def initial_p(self) -> float:
        """Output in the step before the horizon: given (rolling windows), else on at minimum power, or off."""
        if self.initial_output is not None:
            return self.initial_output
        return self.min_p if self.initial_on else 0.0

    @property
    def start_cost(self) -> float:
        """Cost of one start in euros (start cost per MW × maximum power)."""
        return self.costs.start_cost_per_mw * self.max_p

    @property
    def jump_mw(self) -> float:
        """How far output may move in the step a unit starts or stops."""
        return max(self.min_p, self.ramp_mw)


@dataclass(frozen=True, slots=True)
class RenewableUnit:
    """A curtailable unit whose output is at most its available power."""

    iri: str
    name: str
    available: FloatArray
    profile: str | None


@dataclass(frozen=True, slots=True)
class StorageUnit:
    """A store of energy with charge and discharge efficiency η and self-discharge."""

    iri: str
    name: str
    power_mw: float
    capacity_mwh: float
    efficiency: float
    self_discharge_per_day: float
    start_mwh: float | None = None
    end_mwh: float | None = None

    @property
    def eta(self) -> float:
        """One-way efficiency: the square root of the round-trip efficiency."""
        return float(np.sqrt(self.efficiency))

    @property
    def initial_mwh(self) -> float:
        """Energy before the first step: given (rolling windows), else half full."""
        return 0.5 * self.capacity_mwh if self.start_mwh is None else self.start_mwh

    @property
    def final_mwh(self) -> float:
        """Energy the last step must reach at least: given, else half full (as the reference starts)."""
        return 0.5 * self.capacity_mwh if self.end_mwh is None else self.end_mwh

    def retention(self, step_hours: float) -> float:
        """Share of stored energy left after one step of self-discharge."""
        return 1.0 - self.self_discharge_per_day * step_hours / 24.0


@dataclass(frozen=True, slots=True)
class Load:
    """A demand that is served in full unless unserved energy is paid for."""

    iri: str
    name: str
    demand: FloatArray
    profile: str | None


@dataclass(frozen=True, slots=True)
class Market:
    """Where the portfolio buys at price + spread and sells at price − spread."""

    iri: str
    price: FloatArray
    spread: float
    limit_mw: float | None
    external_grids: tuple[str, ...]
    price_source: str

    @property
    def buy_price(self) -> FloatArray:
        """€/MWh paid for energy bought."""
        return self.price + self.spread

    @property
    def sell_price(self) -> FloatArray:
        """€/MWh earned for energy sold."""
        return self.price - self.spread


@dataclass(frozen=True, slots=True)
class DispatchProblem:
    """One portfolio over one horizon: the reference problem's sets and data."""

    case: str
    grid: str
    cost_model: str
    horizon: Horizon
    thermal: tuple[ThermalUnit, ...]
    renewables: tuple[RenewableUnit, ...]
    storage: tuple[StorageUnit, ...]
    loads: tuple[Load, ...]
    market: Market
    value_of_lost_load: float
    co2_price: float
    notes: tuple[str, ...] = field(default=())

    @property
    def steps(self) -> int:
        """Number of steps in the horizon."""
        return self.horizon.steps

    @property
    def demand(self) -> FloatArray:
        """Total demand per step in MW."""
        total = np.zeros(self.steps)
        for load in self.loads:
            total += load.demand
        return total

    @property
    def available_renewables(self) -> FloatArray:
        """Total available renewable output per step in MW."""
        total = np.zeros(self.steps)
        for unit in self.renewables:
            total += unit.available
        return total
