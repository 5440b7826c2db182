"""Long horizons in rolling windows: solve a window, keep its first part, move on.

Each window starts from the state the kept part left (commitments, output, stored energy, and
minimum up/down times still running); its last ``overlap`` steps only look ahead and are solved
again by the next window. Every window ends with each store at least as full as the whole
horizon must end, so the last window can always meet the horizon's end rule. The kept parts
join into one schedule that is feasible for the whole horizon.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import numpy as np

from enertwin.kg.errors import InputError
from enertwin.reasoning.cancel import Cancellation
from enertwin.reasoning.problem import DispatchProblem, Horizon, frozen_array
from enertwin.reasoning.schedule import Schedule, schedule_cost
from enertwin.reasoning.solver import DispatchResult, SolverSettings, solve

Progress = Callable[[str, float], None]


def solve_rolling(
    problem: DispatchProblem,
    settings: SolverSettings | None = None,
    window: int = 96,
    overlap: int = 24,
    progress: Progress | None = None,
    cancel: Cancellation | None = None,
) -> DispatchResult:
    """Solve ``problem`` window by window; ``settings.time_limit`` applies to each window."""
    if not 0 <= overlap < window:
        raise InputError(f"the overlap ({overlap} steps) must be at least 0 and shorter than the window ({window})")
    settings = settings or SolverSettings()
    step = progress or (lambda _stage, _fraction: None)
    started = time.perf_counter()
    parts: list[Schedule] = []
    current = problem
    first, total, statuses = 0, problem.steps, []
    while first < total:
        length = min(window, total - first)
        last = first + length == total
        keep = length if last else window - overlap
        step(f"window {len(parts) + 1}: steps {first}-{first + length - 1}", first / total)
        result = solve(window_problem(problem, current, first, length), settings, cancel)
        if result.schedule is None:
            return dataclasses.replace(result, problem=problem, solve_seconds=time.perf_counter() - started)
        statuses.append(result.status)
        parts.append(head(result.schedule, keep))
        current = carry_state(current, parts[-1])
        first += keep
    step("joined", 1.0)
    schedule = _join(parts)
    cost = schedule_cost(problem, schedule)
    status = "FEASIBLE"  # windows may each be optimal; the joined schedule is not proven so
    return DispatchResult(problem, schedule, status, cost, None, time.perf_counter() - started, settings)


def window_problem(full: DispatchProblem, state: DispatchProblem, first: int, length: int) -> DispatchProblem:
    """Steps ``first`` … ``first + length − 1`` of ``full``, starting from the assets' state in ``state``."""
    cut = slice(first, first + length)
    horizon = Horizon(
        start=full.horizon.time_at(first),
        first_step=full.horizon.first_step + first,
        steps=length,
        step_hours=full.horizon.step_hours,
    )
    market = dataclasses.replace(state.market, price=frozen_array(full.market.price[cut]))
    return dataclasses.replace(
        state,
        horizon=horizon,
        renewables=tuple(
            dataclasses.replace(u, available=frozen_array(f.available[cut]))
            for u, f in zip(state.renewables, full.renewables, strict=True)
        ),
        loads=tuple(
            dataclasses.replace(u, demand=frozen_array(f.demand[cut]))
            for u, f in zip(state.loads, full.loads, strict=True)
        ),
        market=market,
    )


def carry_state(state: DispatchProblem, kept: Schedule) -> DispatchProblem:
    """The assets as ``kept`` (the steps of ``state``'s horizon that were carried out) leaves them.

    That is the next horizon's initial state: commitment and output of the last kept step,
    stored energy, and how many more steps a minimum up or down time holds each unit, counted
    from its last switch (or, without one in ``kept``, from what ``state`` held).
    """
    done = kept.thermal_on.shape[-1]
    thermal = []
    for i, unit in enumerate(state.thermal):
        history = np.concatenate([[int(unit.initial_on)], kept.thermal_on[i]])
        on = int(history[-1])
        switches = np.flatnonzero(history[1:] != history[:-1])
        held = max(0, unit.held_steps - done)
        if switches.size:
            since = done - 1 - int(switches[-1])  # steps in the current state after the switch step
            held = max(0, (unit.min_up_steps if on else unit.min_down_steps) - 1 - since)
        thermal.append(
            dataclasses.replace(unit, initial_on=bool(on), initial_output=float(kept.thermal_p[i, -1]), held_steps=held)
        )
    storage = tuple(dataclasses.replace(u, start_mwh=float(kept.soc[i, -1])) for i, u in enumerate(state.storage))
    return dataclasses.replace(state, thermal=tuple(thermal), storage=storage)


def head(schedule: Schedule, keep: int) -> Schedule:
    """The first ``keep`` steps of ``schedule``."""
    return Schedule(*(np.asarray(getattr(schedule, f.name))[..., :keep] for f in dataclasses.fields(Schedule)))


def _join(parts: list[Schedule]) -> Schedule:
    return Schedule(
        *(
            np.concatenate([np.asarray(getattr(p, f.name)) for p in parts], axis=-1)
            for f in dataclasses.fields(Schedule)
        )
    )
