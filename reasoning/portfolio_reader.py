"""Graph → problem: read one grid's portfolio, its costs and its market into a DispatchProblem.

Every number comes from a SPARQL query (``dispatch_*.rq``) or from a series the graph points
to; a fact the problem needs but the graph lacks is an :class:`InputError` naming the IRI and
the property.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from pyoxigraph import NamedNode

from enertwin.kg.errors import InputError
from enertwin.kg.queries import Bindings, load_query
from enertwin.kg.rows import Row, read_rows
from enertwin.kg.store import Store
from enertwin.reasoning.merit_order import FleetUnit, merit_order_price
from enertwin.reasoning.problem import (
    CostTerms,
    DispatchProblem,
    FloatArray,
    Horizon,
    Load,
    Market,
    RenewableUnit,
    StorageUnit,
    ThermalUnit,
    frozen_array,
)
from enertwin.reasoning.time_axis import locate, steps_between, zone_named

_PACKAGE = "enertwin.reasoning"
_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")
DEFAULT_COST_MODEL = "https://w3id.org/enertwin/id/costs/reference"
PROPERTIES = {  # query variable → the property it reads, for error messages
    "name": "et:sourceName",
    "minP": "et:minActivePower",
    "maxP": "et:maxActivePower",
    "p": "et:activePower",
    "inService": "et:inService",
    "profileKey": "et:hasProfile/et:seriesKey",
    "fuel": "et:hasFuelType",
    "fuelCode": "et:fuelCode",
    "marginal": "et:marginalCost",
    "emission": "et:emissionFactor",
    "startCost": "et:startCost",
    "rampShare": "et:rampShare",
    "minUp": "et:minUpTime",
    "minDown": "et:minDownTime",
    "co2": "et:co2Price",
    "spread": "et:marketSpread",
    "voll": "et:valueOfLostLoad",
    "capacity": "et:energyCapacity",
    "power": "et:ratedApparentPower",
    "efficiency": "et:roundTripEfficiency",
    "selfDischarge": "et:selfDischargePercentPerDay",
    "market": "et:tradesOn",
    "referenceGrid": "et:priceReferenceGrid",
    "priceKey": "et:hasPriceSeries/et:seriesKey",
    "start": "et:startTime",
    "resolution": "et:resolution",
    "steps": "et:stepCount",
    "zone": "et:timeZone",
}


@dataclass(frozen=True, slots=True)
class CostModel:
    """Portfolio-wide cost terms of one et:CostModel."""

    iri: str
    co2_price: float
    spread: float
    value_of_lost_load: float


def read_problem(
    store: Store, grid: str, case: str, start: datetime, steps: int, cost_model: str | None = None
) -> DispatchProblem:
    """The dispatch problem of ``grid`` over ``steps`` steps from ``start``, priced by ``cost_model``."""
    _require_grid(store, grid)
    model = choose_cost_model(store, cost_model)
    horizon = read_horizon(store, grid, start, steps)
    thermal = read_thermal(store, grid, model, horizon)
    renewables = tuple(  # profiles dip a hair below zero in places; nothing is available there
        RenewableUnit(iri, name, frozen_array(np.maximum(values, 0.0)), key)
        for iri, name, values, key in _profiled(store, grid, "dispatch_renewables.rq", horizon)
    )
    loads = tuple(
        Load(iri, name, values, key) for iri, name, values, key in _profiled(store, grid, "dispatch_loads.rq", horizon)
    )
    return DispatchProblem(
        case=case,
        grid=grid,
        cost_model=model.iri,
        horizon=horizon,
        thermal=thermal,
        renewables=renewables,
        storage=read_storage(store, grid),
        loads=loads,
        market=read_market(store, grid, model, horizon, own=(thermal, loads, renewables)),
        value_of_lost_load=model.value_of_lost_load,
        co2_price=model.co2_price,
    )


def _rows(store: Store, query: str, bindings: Bindings | None = None, subject: str | None = None) -> list[Row]:
    """The typed rows of one of this module's queries."""
    return read_rows(store.data_rows(load_query(_PACKAGE, query), bindings), subject, PROPERTIES, query)


def reference_grids(store: Store) -> list[str]:
    """Grids whose merit order prices a market: they must be in the store to optimise."""
    rows = _rows(store, "dispatch_markets.rq", subject="market")
    return sorted({grid for r in rows if (grid := r.optional_iri("referenceGrid")) is not None})


def _require_grid(store: Store, grid: str) -> None:
    rows = list(store.query_data(load_query(_PACKAGE, "dispatch_grid.rq"), {"grid": NamedNode(grid)}))
    if not rows:
        raise InputError(f"no grid <{grid}> in the store: import it first (`enertwin import simbench CODE`)")


def choose_cost_model(store: Store, wanted: str | None) -> CostModel:
    """The cost model ``wanted``, else the only one, else the reference one."""
    models = {
        r.iri("model"): CostModel(r.iri("model"), r.float("co2"), r.float("spread"), r.float("voll"))
        for r in _rows(store, "dispatch_cost_models.rq", subject="model")
    }
    if wanted is not None:
        if wanted not in models:
            raise InputError(f"no cost model <{wanted}> in the store; there are: {', '.join(sorted(models)) or 'none'}")
        return models[wanted]
    if len(models) == 1:
        return next(iter(models.values()))
    if DEFAULT_COST_MODEL in models:
        return models[DEFAULT_COST_MODEL]
    raise InputError(
        f"the store holds {len(models)} cost models and none is the reference one; "
        f"choose one with --cost-model: {', '.join(sorted(models)) or 'none'}"
    )


def read_horizon(store: Store, grid: str, start: datetime, steps: int) -> Horizon:
    """Locate ``start`` and ``steps`` in the time base of ``grid``'s profiles."""
    if steps <= 0:
        raise InputError(f"steps must be a positive number of time steps, got {steps}")
    rows = _rows(store, "dispatch_time_base.rq", {"grid": NamedNode(grid)}, subject="grid")
    if not rows:
        raise InputError(f"the grid <{grid}> has no profiles (et:hasProfile with et:startTime and et:resolution)")
    if len(rows) > 1:
        raise InputError(f"the profiles of grid <{grid}> disagree on their start time or resolution")
    row = rows[0]
    origin = row.datetime("start")
    step = parse_duration(row.str("resolution"))
    length = row.int("steps")
    if origin.tzinfo is None:
        raise InputError(
            f"the profiles of grid <{grid}> start at {origin.isoformat()} without an offset, so their values are "
            "not instants (an import by an older enertwin); import the grid again"
        )
    zone = row.optional_str("zone")
    start = locate(start, zone_named(zone, grid) if zone is not None else None, grid)
    offset = steps_between(origin, start, step)
    if offset != int(offset):
        raise InputError(f"the start {start.isoformat()} is not on a {_minutes(step)}-minute step of the profiles")
    first = int(offset)
    if first < 0 or first + steps > length:
        profiles = Horizon(origin.astimezone(start.tzinfo), 0, length, step / timedelta(hours=1))
        first_time, last_time = (profiles.time_at(t).isoformat(timespec="minutes") for t in (0, length - 1))
        raise InputError(
            f"the horizon {start.isoformat(timespec='minutes')} + {steps} steps is outside the profiles of <{grid}>, "
            f"which run from {first_time} to {last_time} ({length} steps of {_minutes(step)} min)"
        )
    return Horizon(start=start, first_step=first, steps=steps, step_hours=step / timedelta(hours=1))


def parse_duration(text: str) -> timedelta:
    """An ``xsd:duration`` of days, hours, minutes and seconds (``PT15M``) as a timedelta."""
    match = _DURATION.match(text)
    if not match or text in ("P", "PT"):
        raise InputError(f"the profile resolution {text!r} is not a duration of days, hours, minutes or seconds")
    days, hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    step = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    if step <= timedelta(0):
        raise InputError(f"the profile resolution {text!r} is not positive")
    return step


def _minutes(step: timedelta) -> str:
    return f"{step / timedelta(minutes=1):g}"


def read_thermal(store: Store, grid: str, model: CostModel, horizon: Horizon) -> tuple[ThermalUnit, ...]:
    """Thermal units with their fuel's costs; the initial state comes from each unit's profile."""
    bindings = {"grid": NamedNode(grid), "model": NamedNode(model.iri)}
    rows = [r for r in _rows(store, "dispatch_thermal.rq", bindings, subject="unit") if _in_service(r)]
    keys = [key for r in rows if (key := r.optional_str("profileKey")) is not None]
    initial = _series(store, keys, horizon.first_step, 1)
    units = []
    for r in rows:
        iri = r.iri("unit")
        costs = _cost_terms(r, iri, model)
        max_p = r.float("maxP")
        min_p = r.optional_float("minP") or 0.0
        key = r.optional_str("profileKey")
        units.append(
            ThermalUnit(
                iri=iri,
                name=_name(r, iri),
                min_p=min_p,
                max_p=max_p,
                costs=costs,
                ramp_mw=costs.ramp_share * max_p,
                min_up_steps=_whole_steps(costs.min_up_hours, horizon.step_hours),
                min_down_steps=_whole_steps(costs.min_down_hours, horizon.step_hours),
                initial_on=bool(key is not None and initial[key][0] > 0),
                profile=key,
            )
        )
    return tuple(units)


def _cost_terms(r: Row, unit: str, model: CostModel) -> CostTerms:
    fuel = r.optional_iri("fuel")
    if fuel is None:
        raise InputError(f"thermal unit <{unit}> has no fuel type (et:hasFuelType), so no cost entry applies to it")
    entry = r.optional_iri("entry")
    if entry is None:
        raise InputError(
            f"thermal unit <{unit}> burns <{fuel}>, but cost model <{model.iri}> has no complete et:CostEntry "
            "for it (et:forFuelType with marginal cost, emission factor, start cost, ramp share, min up/down time)"
        )
    costs = r.regarding("entry")  # the entry's values are facts about the entry
    marginal, emission = costs.float("marginal"), costs.float("emission")
    return CostTerms(
        entry=entry,
        fuel=fuel,
        fuel_code=r.optional_str("fuelCode") or fuel,
        cost_per_mwh=marginal + model.co2_price * emission,
        start_cost_per_mw=costs.float("startCost"),
        ramp_share=costs.float("rampShare"),
        min_up_hours=costs.float("minUp"),
        min_down_hours=costs.float("minDown"),
    )


def _whole_steps(hours: float, step_hours: float) -> int:
    """Hours as a whole number of steps, rounded up so the minimum time is always honoured."""
    return max(0, math.ceil(hours / step_hours - 1e-9))


def _profiled(
    store: Store, grid: str, query: str, horizon: Horizon
) -> Iterable[tuple[str, str, FloatArray, str | None]]:
    """Assets whose power is their nominal power times their profile (renewables, loads)."""
    rows = [r for r in _rows(store, query, {"grid": NamedNode(grid)}, subject="unit") if _in_service(r)]
    keys = [key for r in rows if (key := r.optional_str("profileKey")) is not None]
    profiles = _series(store, keys, horizon.first_step, horizon.steps)
    for r in rows:
        iri = r.iri("unit")
        nominal = r.float("p")
        key = r.optional_str("profileKey")
        shape = profiles[key] if key is not None else np.ones(horizon.steps)
        yield iri, _name(r, iri), frozen_array(nominal * shape), key


def _series(store: Store, keys: list[str], start: int, count: int) -> dict[str, np.ndarray]:
    if not keys:
        return {}
    values = store.series.read_many(keys, start, count)
    short = sorted(k for k, v in values.items() if len(v) < count)
    if short:
        raise InputError(f"profile(s) {short[:3]} end before the horizon ({count} steps from step {start})")
    return values


def read_storage(store: Store, grid: str) -> tuple[StorageUnit, ...]:
    """Storage units with an energy capacity above zero (the others cannot store anything)."""
    units = []
    for r in _rows(store, "dispatch_storage.rq", {"grid": NamedNode(grid)}, subject="unit"):
        iri = r.iri("unit")
        capacity = r.optional_float("capacity")
        if not _in_service(r) or capacity is None or capacity <= 0:
            continue
        for prop, var in (("et:ratedApparentPower", "power"), ("et:roundTripEfficiency", "efficiency")):
            if not r.has(var):
                raise InputError(f"storage <{iri}> has an energy capacity but no {prop}")
        units.append(
            StorageUnit(
                iri=iri,
                name=_name(r, iri),
                power_mw=r.float("power"),
                capacity_mwh=capacity,
                efficiency=r.float("efficiency"),
                self_discharge_per_day=(r.optional_float("selfDischarge") or 0.0) / 100.0,
            )
        )
    return tuple(units)


def read_market(
    store: Store,
    grid: str,
    model: CostModel,
    horizon: Horizon,
    own: tuple[tuple[ThermalUnit, ...], tuple[Load, ...], tuple[RenewableUnit, ...]] | None = None,
) -> Market:
    """The market the grid's external grids trade on, its limit and its price over the horizon.

    ``own``: the grid's units, already read; used as the merit-order fleet when the grid prices its own market.
    """
    rows = [
        r
        for r in _rows(store, "dispatch_external_grids.rq", {"grid": NamedNode(grid)}, subject="ext")
        if _in_service(r) and r.has("market")
    ]
    markets = {r.iri("market") for r in rows}
    if len(markets) > 1:
        raise InputError(f"the external grids of <{grid}> trade on {len(markets)} markets; one is supported")
    known = {r.iri("market"): r for r in _rows(store, "dispatch_markets.rq", subject="market")}
    if not markets and len(known) != 1:
        raise InputError(f"the grid <{grid}> has no external grid that trades on a market (et:tradesOn)")
    market = next(iter(markets)) if markets else next(iter(known))
    if market not in known:
        raise InputError(f"<{market}> is named by et:tradesOn but is not an et:Market")
    limits = [limit if (limit := r.optional_float("maxP")) is not None else math.inf for r in rows]
    limit = sum(limits) if rows else 0.0
    price, source = _market_price(
        store, known[market], market, model, horizon, own if grid_prices(known[market], grid) else None
    )
    return Market(
        iri=market,
        price=frozen_array(price),
        spread=model.spread,
        limit_mw=None if math.isinf(limit) else limit,
        external_grids=tuple(r.iri("ext") for r in rows),
        price_source=source,
    )


def _market_price(
    store: Store,
    row: Row,
    market: str,
    model: CostModel,
    horizon: Horizon,
    own: tuple[tuple[ThermalUnit, ...], tuple[Load, ...], tuple[RenewableUnit, ...]] | None = None,
) -> tuple[FloatArray, str]:
    ref, key = row.optional_iri("referenceGrid"), row.optional_str("priceKey")
    if key is not None:
        values = store.series.read(key, horizon.first_step, horizon.steps)
        if len(values) < horizon.steps:
            raise InputError(f"the price series {key!r} of <{market}> ends before the horizon")
        return values, key
    if ref is None:
        raise InputError(f"market <{market}> has neither a price series (et:hasPriceSeries) nor et:priceReferenceGrid")
    if own is not None:
        thermal, loads, renewables = own
    else:
        _require_reference(store, ref, market)
        ref_horizon = read_horizon(store, ref, horizon.start, horizon.steps)
        thermal = read_thermal(store, ref, model, ref_horizon)
        loads = tuple(Load(i, n, v, k) for i, n, v, k in _profiled(store, ref, "dispatch_loads.rq", ref_horizon))
        renewables = tuple(  # available output, never below zero (as in the portfolio itself)
            RenewableUnit(i, n, frozen_array(np.maximum(v, 0.0)), k)
            for i, n, v, k in _profiled(store, ref, "dispatch_renewables.rq", ref_horizon)
        )
    fleet = [FleetUnit(u.iri, u.costs.cost_per_mwh, u.max_p) for u in thermal]
    demand = sum((u.demand for u in loads), np.zeros(horizon.steps))
    supply = sum((u.available for u in renewables), np.zeros(horizon.steps))
    return merit_order_price(fleet, demand - supply), ref


def grid_prices(row: Row, grid: str) -> bool:
    """Whether the market of ``row`` takes its merit order from ``grid`` itself."""
    return row.optional_iri("referenceGrid") == grid


def _require_reference(store: Store, grid: str, market: str) -> None:
    if not list(store.query_data(load_query(_PACKAGE, "dispatch_grid.rq"), {"grid": NamedNode(grid)})):
        raise InputError(
            f"market <{market}> takes its price from the merit order of grid <{grid}>, which is not in the store: "
            "import it first"
        )


def _in_service(row: Row) -> bool:
    return row.optional_bool("inService") is not False


def _name(row: Row, iri: str) -> str:
    return row.optional_str("name") or iri.rsplit("/", 1)[-1]
