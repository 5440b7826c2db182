"""Integer scaling for CP-SAT, which only knows integers.

Units, and why they meet the reference problem's tolerances:

- **Power**: one unit is ``power_mw`` (0.0001 MW). Upper bounds round down and lower bounds
  round up, so every returned bound holds exactly; total demand per step is rounded to the
  nearest unit, so the power balance holds to within 0.00005 MW (the tolerance is at least
  0.01 MW). Finer units cost nothing in the LP and little in CP-SAT, and they shrink what
  rounding takes from small grids (80 stores of 0.1 MW lose 0.08 € a day at 0.0001 MW, 0.8 €
  at 0.001 MW).
- **Stored energy**: one unit is ``energy_mwh``: 10^-6 MWh, coarser only where a store is so
  large that its levels would pass ``MAX_ENERGY_UNITS`` (:meth:`Scaling.energy_unit_for`). The
  energy balance of a step, its coefficients scaled by ``ENERGY_COEFFICIENT_SCALE``, may lose up
  to ``ENERGY_BAND_UNITS`` units but never gain any: an integer energy level that follows the
  exact recursion always exists in that band (round down), and an optimiser has no reason to
  throw energy away. What rounding loses is at most a unit per store and step (80 small stores
  of an MV grid lose 0.004 MWh in 12 h); the tolerance is at least 0.01 MWh per step.
  ``ENERGY_COEFFICIENT_SCALE`` exceeds half the largest level, so rounding the balance's
  coefficients stays inside the band, and products stay below 2^62.
- **Money**: prices per MWh are exact in units of 10^-digits €/MWh, with ``digits`` the fewest
  decimals (0 … 6) that represent every price of the problem exactly; the objective's unit is
  then ``power_mw × step_hours × 10^-digits`` €, and start-up costs are rounded to that unit.
  ``objective_eur`` is always recomputed from the returned schedule in floating point.

Rounding inward makes the model a restriction of the reference problem. With ``outward=True``
every rounding goes the other way (bounds widen, demand becomes a range, energy may also be
gained by a unit, costs round down): that model's LP relaxation is a relaxation of the
reference problem, so its optimum is a valid lower bound on the reference optimum.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np

POWER_MW = 0.0001
ENERGY_MWH = 1e-6
MAX_ENERGY_UNITS = 1_000_000_000
ENERGY_COEFFICIENT_SCALE = 1_000_000_000
ENERGY_BAND_UNITS = 2
MAX_PRICE_DIGITS = 6


@dataclass(frozen=True, slots=True)
class Scaling:
    """How MW, MWh and € map onto CP-SAT integers."""

    step_hours: float
    price_digits: int
    power_mw: float = POWER_MW
    energy_mwh: float = ENERGY_MWH
    outward: bool = False

    @classmethod
    def for_prices(cls, step_hours: float, prices: Iterable[float]) -> Scaling:
        """The scaling with the fewest price decimals that represent every price exactly."""
        values = np.abs(np.fromiter(prices, dtype=float))
        for digits in range(MAX_PRICE_DIGITS + 1):
            scaled = values * 10**digits
            if np.all(np.abs(scaled - np.round(scaled)) <= 1e-7 * np.maximum(1.0, scaled)):
                return cls(step_hours, digits)
        return cls(step_hours, MAX_PRICE_DIGITS)

    @staticmethod
    def energy_unit_for(largest_mwh: float) -> float:
        """The finest power of ten (from 10^-6 MWh) that counts ``largest_mwh`` in at most MAX_ENERGY_UNITS."""
        unit = ENERGY_MWH
        while largest_mwh / unit > MAX_ENERGY_UNITS:
            unit *= 10
        return unit

    def widened(self) -> Scaling:
        """The same units, rounding outward (see the module docstring)."""
        return replace(self, outward=True)

    @property
    def objective_eur(self) -> float:
        """Euros per unit of the integer objective."""
        return self.power_mw * self.step_hours * 10.0**-self.price_digits

    def power_down(self, mw: float) -> int:
        """An upper bound in power units (rounded down; up when widened)."""
        return _ceil(mw / self.power_mw) if self.outward else _floor(mw / self.power_mw)

    def power_up(self, mw: float) -> int:
        """A lower bound in power units (rounded up; down when widened)."""
        return _floor(mw / self.power_mw) if self.outward else _ceil(mw / self.power_mw)

    def power_near(self, mw: float) -> int:
        """A fixed quantity (demand) in power units, rounded to the nearest."""
        return round(mw / self.power_mw)

    def power_range(self, mw: float) -> tuple[int, int]:
        """A fixed quantity as a range: the nearest unit, or both neighbours when widened."""
        if self.outward:
            return _floor(mw / self.power_mw), _ceil(mw / self.power_mw)
        near = self.power_near(mw)
        return near, near

    def energy_down(self, mwh: float) -> int:
        """An upper bound on stored energy in energy units (rounded down; up when widened)."""
        return _ceil(mwh / self.energy_mwh) if self.outward else _floor(mwh / self.energy_mwh)

    def energy_up(self, mwh: float) -> int:
        """A lower bound on stored energy in energy units (rounded up; down when widened)."""
        return _floor(mwh / self.energy_mwh) if self.outward else _ceil(mwh / self.energy_mwh)

    def price(self, eur_per_mwh: float) -> int:
        """A price per MWh in objective units per power unit and step."""
        scaled: float = eur_per_mwh * 10**self.price_digits
        return math.floor(scaled + 1e-7) if self.outward else round(scaled)

    def money(self, eur: float) -> int:
        """An amount in euros in objective units (start-up costs)."""
        return math.floor(eur / self.objective_eur) if self.outward else round(eur / self.objective_eur)


def _floor(value: float) -> int:
    return math.floor(value + 1e-9)


def _ceil(value: float) -> int:
    return math.ceil(value - 1e-9)
