"""The safe plan: what runs when an approval times out or the data cannot be trusted.

First choice is the last schedule a person approved (``enertwin approve DECISION``, not
overridden since) whose horizon covers the step: its set points were seen by a person. Without
one, a conservative plan that changes as little as possible: thermal units hold their last
output (moved back inside their limits by at most one ramp), storage idles, and the market
position stays where it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from pyoxigraph import NamedNode

from enertwin.agents.control.instants import instant
from enertwin.agents.events import Setpoint
from enertwin.kg.queries import load_query
from enertwin.reasoning.problem import DispatchProblem, ThermalUnit

if TYPE_CHECKING:  # the Twin reads the agents' settings, whose deadlines the coordinator (our user) defines
    from enertwin.twin import Twin

PlanSource = Literal["approved-schedule", "conservative"]


@dataclass(frozen=True, slots=True)
class SafePlan:
    """Set points for one step, where they came from, and (for an approved schedule) the decision."""

    source: PlanSource
    at: datetime
    setpoints: tuple[Setpoint, ...]
    market_position_mw: float
    decision: str | None = None


@dataclass(frozen=True, slots=True)
class _Approved:
    decision: str
    schedule: str
    start: datetime
    steps: int


def safe_plan(
    twin: Twin,
    problem: DispatchProblem,
    step: int,
    previous: Sequence[Setpoint] = (),
    market_position_mw: float = 0.0,
) -> SafePlan:
    """The safe plan for ``step`` of ``problem``: the last approved schedule covering it, else a conservative one.

    ``previous`` holds each asset's last applied set point and ``market_position_mw`` the
    position held (buy minus sell); both only matter for the conservative plan.
    """
    at = problem.horizon.time_at(step)
    step_length = timedelta(hours=problem.horizon.step_hours)
    for approved in _approved(twin, problem.grid):
        offset = (instant(at) - approved.start) / step_length
        index = round(offset)
        if abs(offset - index) < 1e-6 and 0 <= index < approved.steps:
            return _from_schedule(twin, problem, approved, index, at)
    return conservative_plan(problem, step, previous, market_position_mw)


def conservative_plan(
    problem: DispatchProblem, step: int, previous: Sequence[Setpoint] = (), market_position_mw: float = 0.0
) -> SafePlan:
    """Hold thermal output within ramp limits, idle storage, keep the market position: the least change."""
    at = problem.horizon.time_at(step)
    last = {s.asset: s for s in previous}
    points = [_held(unit, last.get(unit.iri), at) for unit in problem.thermal]
    for store in problem.storage:
        before = last.get(store.iri)
        soc = before.soc_mwh if before is not None and before.soc_mwh is not None else store.initial_mwh
        points.append(Setpoint(asset=store.iri, at=at, p_mw=0.0, soc_mwh=soc))
    return SafePlan("conservative", at, tuple(points), market_position_mw)


def _held(unit: ThermalUnit, before: Setpoint | None, at: datetime) -> Setpoint:
    """A unit's last output, moved back inside its limits by at most one ramp; a unit that was off stays off."""
    output = before.p_mw if before is not None else unit.initial_p
    on = before.committed if before is not None and before.committed is not None else output > 0 or unit.initial_on
    if not on:
        return Setpoint(asset=unit.iri, at=at, p_mw=0.0, committed=False)
    wanted = min(max(output, unit.min_p), unit.max_p)
    moved = max(-unit.ramp_mw, min(unit.ramp_mw, wanted - output))
    return Setpoint(asset=unit.iri, at=at, p_mw=output + moved, committed=True)


def _approved(twin: Twin, grid: str) -> list[_Approved]:
    """The grid's approved, not overridden, decisions: newest approval first."""
    table = twin.query(load_query("enertwin.agents.control", "approved_schedules.rq"), {"grid": NamedNode(grid)})
    return [
        _Approved(str(r["decision"]), str(r["schedule"]), instant(r["start"]), int(str(r["steps"]))) for r in table.rows
    ]


def _from_schedule(twin: Twin, problem: DispatchProblem, approved: _Approved, index: int, at: datetime) -> SafePlan:
    """The set points of step ``index`` of an approved schedule, for the problem's thermal units and storage."""
    table = twin.query(
        load_query("enertwin.reasoning", "decision_series.rq"), {"schedule": NamedNode(approved.schedule)}
    )
    keys = {(r["asset"], str(r["quantity"])): str(r["key"]) for r in table.rows}

    def value(asset: str | None, quantity: str) -> float | None:
        key = keys.get((asset, quantity))
        return None if key is None else float(twin.read_series(key, index, 1)[0])

    points = []
    for unit in problem.thermal:
        output, on = value(unit.iri, "p_mw"), value(unit.iri, "on")
        if output is not None:
            points.append(Setpoint(asset=unit.iri, at=at, p_mw=output, committed=None if on is None else on > 0.5))
    for store in problem.storage:
        charge, discharge = value(store.iri, "charge_mw"), value(store.iri, "discharge_mw")
        if charge is not None and discharge is not None:
            points.append(
                Setpoint(asset=store.iri, at=at, p_mw=discharge - charge, soc_mwh=value(store.iri, "soc_mwh"))
            )
    position = (value(None, "buy_mw") or 0.0) - (value(None, "sell_mw") or 0.0)
    return SafePlan("approved-schedule", at, tuple(points), position, approved.decision)
