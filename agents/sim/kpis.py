"""The KPIs of a simulated run, and the regret against the perfect-foresight optimum of the same days.

The regret is fair about storage: the agents' run ends with whatever energy its stores hold, so
the foresight run is held to end each store with at least that much (rather than the reference
problem's end rule, half full), and neither side gains by emptying its stores on the last day.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass

import numpy as np

from enertwin.agents.sim.simulation import SimulationRun
from enertwin.reasoning.dispatch import DEFAULT_OVERLAP, DEFAULT_WINDOW, solve_dispatch
from enertwin.reasoning.problem import DispatchProblem
from enertwin.reasoning.rolling import window_problem
from enertwin.reasoning.solver import SolverSettings


@dataclass(frozen=True, slots=True)
class Kpis:
    """What a run cost and did (EUR, MWh, tCO2, counts, seconds).

    ``regret_eur`` is ``cost_eur`` minus ``perfect_foresight_eur``, the optimum of the same days
    with the true profiles whose stores end at least as full as the agents' run left them
    (:func:`perfect_foresight`); ``end_storage_mwh`` is that stored energy.
    """

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
    end_storage_mwh: float
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
        end_storage_mwh=round(float(sum(run.plant.state.soc_mwh)), 4),
        run_hash=run.run_hash,
    )


END_SLACK = 1e-3
"""Share of a store's capacity the foresight run may end below the agents' (the solver's energy grid is coarser)."""


def perfect_foresight(run: SimulationRun) -> float | None:
    """The optimum of the simulated days with the true profiles (``optimize`` over the horizon, rolling windows)."""
    settings = SolverSettings(time_limit=60.0, workers=1, deterministic_time=20.0)
    result = solve_dispatch(foresight_problem(run), settings, DEFAULT_WINDOW, DEFAULT_OVERLAP, None)
    return result.objective_eur


def foresight_problem(run: SimulationRun) -> DispatchProblem:
    """The simulated days with the true profiles, from the same start state.

    Each store must end with at least the energy it held when the agents' run ended (less
    :data:`END_SLACK` of its capacity), so that the comparison values the same stored energy.
    """
    truth = run.truth
    days = window_problem(truth, truth, 0, len(run.plant.outcomes))
    ends = run.plant.state.soc_mwh
    storage = tuple(
        dataclasses.replace(s, end_mwh=min(s.capacity_mwh, max(0.0, e - END_SLACK * s.capacity_mwh)))
        for s, e in zip(days.storage, ends, strict=True)
    )
    return dataclasses.replace(days, storage=storage)
