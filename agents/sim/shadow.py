"""``enertwin shadow report``: the agents beside a baseline, step by step and in KPIs (only the baseline acts)."""

from __future__ import annotations

from collections.abc import Sequence

from enertwin.agents.roles.physics import StepOutcome
from enertwin.agents.sim.simulation import SimulationRun

Row = dict[str, object]


def step_rows(run: SimulationRun) -> list[Row]:
    """One row per step: cost, unserved and market position of the baseline and of the agents, and if they agree."""
    rows = []
    for s in run.shadow:
        at = run.truth.horizon.time_at(s.offset).isoformat(timespec="minutes")
        rows.append(
            {
                "step": s.offset,
                "time": at,
                "baseline_eur": round(s.baseline.cost_eur, 2),
                "agents_eur": round(s.agents.cost_eur, 2),
                "saving_eur": round(s.baseline.cost_eur - s.agents.cost_eur, 2),
                "baseline_market_mw": round(s.baseline.buy_mw - s.baseline.sell_mw, 3),
                "agents_market_mw": round(s.agents.buy_mw - s.agents.sell_mw, 3),
                "same": s.baseline_hash == s.agents_hash,
            }
        )
    return rows


def kpi_rows(run: SimulationRun) -> list[Row]:
    """Totals of both sides over the run: cost, unserved energy, curtailment, emissions, starts, agreement."""
    dt = run.truth.horizon.step_hours
    sides = {"baseline": [s.baseline for s in run.shadow], "agents": [s.agents for s in run.shadow]}
    totals = {side: _totals(outcomes, dt) for side, outcomes in sides.items()}
    rows: list[Row] = [
        {"kpi": k, "baseline": totals["baseline"][k], "agents": totals["agents"][k]} for k in totals["agents"]
    ]
    agree = sum(s.baseline_hash == s.agents_hash for s in run.shadow)
    return [*rows, {"kpi": "steps_agreeing", "baseline": agree, "agents": agree}]


def _totals(outcomes: Sequence[StepOutcome], dt: float) -> dict[str, float]:
    return {
        "cost_eur": round(sum(o.cost_eur for o in outcomes), 2),
        "unserved_mwh": round(dt * sum(o.unserved_mw for o in outcomes), 3),
        "curtailment_mwh": round(dt * sum(o.curtailed_mw for o in outcomes), 3),
        "emissions_t": round(sum(o.emissions_t for o in outcomes), 3),
        "starts": sum(o.starts for o in outcomes),
    }
