"""Round fractional commitments (from an LP) to the nearest pattern a unit can actually follow.

Per unit, a dynamic programme over (on/off, steps since the last switch) finds the on/off
pattern that disagrees least with the LP's commitment values while honouring minimum up and
down times and the initial state (switches before the horizon do not count, as in the
reference problem).
"""

from __future__ import annotations

import numpy as np

from enertwin.reasoning.problem import FloatArray, ThermalUnit


def round_commitment(unit: ThermalUnit, fractional: FloatArray) -> np.ndarray:
    """The feasible 0/1 pattern closest (in Σ|u − u*|) to ``fractional``."""
    steps = len(fractional)
    up, down = max(1, unit.min_up_steps), max(1, unit.min_down_steps)
    cap = max(up, down)
    # state index: on * (cap + 1) + age, age = steps since the last switch (cap: long enough or none yet)
    size = 2 * (cap + 1)
    inf = np.inf
    cost = np.full(size, inf)
    threshold = (up if unit.initial_on else down) - 1
    age = cap if unit.held_steps <= 0 else max(0, threshold - unit.held_steps)
    start = (1 if unit.initial_on else 0) * (cap + 1) + age
    cost[start] = 0.0
    parent = np.zeros((steps, size), dtype=np.int64)
    for t in range(steps):
        new = np.full(size, inf)
        for reachable in np.flatnonzero(np.isfinite(cost)):
            state = int(reachable)
            on, age = divmod(state, cap + 1)
            for nxt_on in (0, 1):
                if nxt_on == on:
                    nxt = on * (cap + 1) + min(age + 1, cap)
                elif (on and age < up - 1) or (not on and age < down - 1):
                    continue  # still inside a minimum up or down time that began in the horizon
                else:
                    nxt = nxt_on * (cap + 1) + 0
                value = cost[state] + (1.0 - fractional[t] if nxt_on else fractional[t])
                if value < new[nxt]:
                    new[nxt] = value
                    parent[t, nxt] = state
        cost = new
    state = int(np.argmin(cost))
    pattern = np.zeros(steps, dtype=np.int64)
    for t in range(steps - 1, -1, -1):
        pattern[t] = state // (cap + 1)
        state = int(parent[t, state])
    return pattern


def follows_rules(unit: ThermalUnit, pattern: np.ndarray) -> bool:
    """Whether an integral pattern already honours the minimum up and down times."""
    if np.any(pattern[: unit.held_steps] != int(unit.initial_on)):
        return False
    before, age = int(unit.initial_on), None  # age None: no switch inside the horizon yet
    for on in pattern:
        if on != before:
            if age is not None and age < (unit.min_up_steps if before else unit.min_down_steps):
                return False
            age = 0
        age = None if age is None else age + 1
        before = int(on)
    return True
