"""The KPIs of a simulated run, and the regret against the perfect-foresight optimum of the same days."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from enertwin.agents.sim.simulation import SimulationRun
from enertwin.reasoning.dispatch import DEFAULT_OVERLAP, DEFAULT_WINDOW, solve_dispatch
from enertwin.reasoning.rolling import window_problem
from enertwin.reasoning.solver import SolverSettings


@dataclass(frozen=True, slots=True)
class Kpis:
    """What a run cost and did (EUR, MWh, tCO2, counts, seconds)."""

    steps: int
    cost_eur: float
    unserved_mwh: float
    curtailment_mwh: float
    emissions_t: float
    actuations_applied: int
    blocked_actions: int
    incidents: int
    fallbacks: int
    latency_p50_s: float
    latency_p99_s: float
    perfect_foresight_eur: float | None
    regret_eur: float | None
    run_hash: str

    def as_dict(self) -> dict[str, object]:
        """The KPIs as JSON-ready values."""
        return asdict(self)

    def reproducible(self) -> dict[str, object]:
        """The KPIs a reproduced run must match (all but the wall-clock latencies)."""
        return {k: v for k, v in self.as_dict().items() if not k.startswith("latency")}


def kpis(run: SimulationRun, foresight: bool = True) -> Kpis:
    """The run's KPIs; ``foresight`` also solves the same days with perfect foresight for the regret."""
    dt = run.truth.horizon.step_hours
    outcomes = run.plant.outcomes
    latencies = np.array([r.latency_s for r in run.rounds]) if run.rounds else np.zeros(1)
    cost = float(sum(o.cost_eur for o in outcomes))
    optimum = perfect_foresight(run) if foresight else None
    return Kpis(
        steps=len(outcomes),
        cost_eur=round(cost, 2),
        unserved_mwh=round(dt * sum(o.unserved_mw for o in outcomes), 4),
        curtailment_mwh=round(dt * sum(o.curtailed_mw for o in outcomes), 4),
        emissions_t=round(sum(o.emissions_t for o in outcomes), 4),
        actuations_applied=sum(r.applied is not None for r in run.rounds),
        blocked_actions=sum(r.decision.blocked for r in run.rounds),
        incidents=sum(len(r.incidents) for r in run.rounds),
        fallbacks=sum(r.decision.fallback is not None for r in run.rounds),
        latency_p50_s=round(float(np.percentile(latencies, 50)), 4),
        latency_p99_s=round(float(np.percentile(latencies, 99)), 4),
        perfect_foresight_eur=None if optimum is None else round(optimum, 2),
        regret_eur=None if optimum is None else round(cost - optimum, 2),
        run_hash=run.run_hash,
    )


def perfect_foresight(run: SimulationRun) -> float | None:
    """The optimum of the simulated days with the true profiles (``optimize`` over the horizon, rolling windows)."""
    truth = run.truth
    days = window_problem(truth, truth, 0, len(run.plant.outcomes))
    settings = SolverSettings(time_limit=60.0, workers=1, deterministic_time=20.0)
    result = solve_dispatch(days, settings, DEFAULT_WINDOW, DEFAULT_OVERLAP, None)
    return result.objective_eur
