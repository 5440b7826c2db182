"""Build a portfolio's agents from the graph: limits, profiles, emission factors, the run's problem."""

from __future__ import annotations

from dataclasses import dataclass

from pyoxigraph import NamedNode

from enertwin import Twin
from enertwin.agents.roles.forecaster import ProfiledAsset
from enertwin.agents.roles.telemetry_ingest import AssetLimit, limits_from_rows
from enertwin.kg.errors import InputError
from enertwin.reasoning.problem import DispatchProblem


@dataclass(frozen=True, slots=True)
class PortfolioFacts:
    """What the agents read from the graph besides the dispatch problem."""

    limits: tuple[AssetLimit, ...]
    profiled: tuple[ProfiledAsset, ...]
    emission_factors: tuple[float, ...]


def read_facts(twin: Twin, problem: DispatchProblem) -> PortfolioFacts:
    """Limits (``asset_limits.rq``), the profiled assets and each thermal unit's emission factor (cost table)."""
    rows = twin.shipped_query("enertwin.agents.roles", "asset_limits.rq", {"grid": NamedNode(problem.grid)}).rows
    limits = tuple(limits_from_rows(rows))
    nominal = {limit.asset: limit.nominal_mw for limit in limits}
    profiled = tuple(ProfiledAsset(u.iri, nominal.get(u.iri, 0.0), u.profile) for u in problem.loads) + tuple(
        ProfiledAsset(u.iri, nominal.get(u.iri, 0.0), u.profile, floor_zero=True) for u in problem.renewables
    )
    factors = {
        (str(r["model"]), str(r["fuel"])): float(str(r["t_co2_per_mwh"]))
        for r in twin.costs().rows
        if r.get("t_co2_per_mwh") is not None
    }
    emission = []
    for unit in problem.thermal:
        key = (problem.cost_model, unit.costs.fuel_code)
        if key not in factors:
            raise InputError(
                f"cost model <{problem.cost_model}> gives no emission factor for fuel {unit.costs.fuel_code!r}"
            )
        emission.append(factors[key])
    return PortfolioFacts(limits, profiled, tuple(emission))
