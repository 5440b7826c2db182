"""The merit-order price: what the last unit needed to cover a residual load costs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from enertwin.reasoning.problem import FloatArray


@dataclass(frozen=True, slots=True)
class FleetUnit:
    """One unit of a reference fleet: its cost per MWh and its capacity."""

    iri: str
    cost_per_mwh: float
    max_p: float


def merit_order_price(fleet: Sequence[FleetUnit], residual: FloatArray) -> FloatArray:
    """Price per step: the cost of the last unit needed, cheapest first.

    Where the fleet cannot cover the residual load the most expensive unit sets the price;
    where the residual load is not positive the price is 0.
    """
    residual = np.asarray(residual, dtype=float)
    price = np.zeros(residual.shape)
    if not fleet:
        return price
    order = sorted(fleet, key=lambda u: (u.cost_per_mwh, u.iri))
    costs = np.array([u.cost_per_mwh for u in order])
    cumulative = np.cumsum([u.max_p for u in order])
    needed = np.searchsorted(cumulative, residual, side="left")
    positive = residual > 0
    price[positive] = costs[np.minimum(needed[positive], len(order) - 1)]
    return price
