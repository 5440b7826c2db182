"""Solution → graph: a decision, its schedule and one series per asset and quantity.

The decision lives in its own named graph (validated like every write); the values go to
DuckDB under ``decision/<id>/``. Full provenance (inputs' versions, signatures) is added by
the provenance layer; this record already says which run made which schedule from what.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from pyoxigraph import Literal, NamedNode, RdfFormat

from enertwin.kg import namespaces as ns
from enertwin.kg.store import Store
from enertwin.reasoning.problem import DispatchProblem, FloatArray
from enertwin.reasoning.solver import DispatchResult, solver_version

MEGAWATT = NamedNode(ns.QUDT_UNIT_BASE + "MegaW")
MEGAWATT_HOUR = NamedNode(ns.QUDT_UNIT_BASE + "MegaW-HR")
UNITLESS = NamedNode(ns.QUDT_UNIT_BASE + "UNITLESS")
EUR_PER_MWH = NamedNode(ns.UNIT_BASE + "EUR-PER-MegaW-HR")
UNITS = {
    "p_mw": MEGAWATT,
    "on": UNITLESS,
    "charge_mw": MEGAWATT,
    "discharge_mw": MEGAWATT,
    "soc_mwh": MEGAWATT_HOUR,
    "buy_mw": MEGAWATT,
    "sell_mw": MEGAWATT,
    "unserved_mw": MEGAWATT,
    "price_eur_per_mwh": EUR_PER_MWH,
}


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """Where a stored decision lives."""

    decision: NamedNode
    schedule: NamedNode
    graph: NamedNode
    series_prefix: str


def decision_iris(identifier: str) -> DecisionRecord:
    """The IRIs and series prefix of decision ``identifier``."""
    return DecisionRecord(
        decision=NamedNode(f"{ns.ID_BASE}decision/{identifier}"),
        schedule=NamedNode(f"{ns.ID_BASE}decision/{identifier}/schedule"),
        graph=NamedNode(f"{ns.GRAPH_BASE}decision/{identifier}"),
        series_prefix=f"decision/{identifier}/",
    )


def write_decision(store: Store, result: DispatchResult, started: datetime, ended: datetime) -> DecisionRecord:
    """Store ``result`` as a decision with its schedule; returns where it went."""
    record = decision_iris(uuid.uuid4().hex)
    series = dict(_series(result))
    frame = pd.DataFrame({record.series_prefix + key: values for key, (_, _, values) in series.items()})
    lines = list(_decision_triples(record, result, started, ended))
    lines += _series_triples(record, result.problem, series)
    store.replace_graph(
        record.graph, "".join(lines), RdfFormat.N_TRIPLES, series=frame, series_prefix=record.series_prefix
    )
    return record


def _series(result: DispatchResult) -> Iterator[tuple[str, tuple[str | None, str, FloatArray]]]:
    """(key, (asset IRI or None, quantity, values)) for every schedule series."""
    p, s = result.problem, result.schedule
    yield "price", (None, "price_eur_per_mwh", np.asarray(p.market.price))
    if s is None:
        return
    yield "market/buy", (None, "buy_mw", s.buy)
    yield "market/sell", (None, "sell_mw", s.sell)
    yield "unserved", (None, "unserved_mw", s.unserved)
    for i, unit in enumerate(p.thermal):
        yield f"thermal/{i}/p", (unit.iri, "p_mw", s.thermal_p[i])
        yield f"thermal/{i}/on", (unit.iri, "on", s.thermal_on[i].astype(float))
    for i, res in enumerate(p.renewables):
        yield f"renewable/{i}/p", (res.iri, "p_mw", s.renewable_p[i])
    for i, sto in enumerate(p.storage):
        yield f"storage/{i}/charge", (sto.iri, "charge_mw", s.charge[i])
        yield f"storage/{i}/discharge", (sto.iri, "discharge_mw", s.discharge[i])
        yield f"storage/{i}/soc", (sto.iri, "soc_mwh", s.soc[i])
    for i, load in enumerate(p.loads):
        yield f"load/{i}/p", (load.iri, "p_mw", np.asarray(load.demand))


def _decision_triples(
    record: DecisionRecord, result: DispatchResult, started: datetime, ended: datetime
) -> Iterator[str]:
    d, p, settings = record.decision, result.problem, result.settings
    yield _t(d, ns.RDF_TYPE, ns.DECISION)
    yield _t(d, ns.RDFS_LABEL, Literal(f"Dispatch of {p.case} from {p.horizon.start.isoformat()} for {p.steps} steps"))
    yield _t(d, ns.PROV_STARTED_AT, _datetime(started))
    yield _t(d, ns.PROV_ENDED_AT, _datetime(ended))
    yield _t(d, ns.DISPATCHED_GRID, NamedNode(p.grid))
    for used in (p.grid, p.cost_model, p.market.iri, p.market.price_source):
        if used.startswith(("http://", "https://")):
            yield _t(d, ns.PROV_USED, NamedNode(used))
    yield _t(d, ns.HORIZON_START, _datetime(p.horizon.start))
    yield _t(d, ns.STEP_COUNT, Literal(str(p.steps), datatype=ns.XSD_INTEGER))
    yield _t(d, ns.SOLVER_NAME, Literal(solver_version()))
    yield _t(d, ns.SOLVER_STATUS, Literal(result.status))
    if result.objective_eur is not None:
        yield _t(d, ns.OBJECTIVE_VALUE, _double(result.objective_eur))
    if result.best_bound_eur is not None:
        yield _t(d, ns.BEST_BOUND, _double(result.best_bound_eur))
    yield _t(d, ns.TIME_LIMIT, _double(settings.time_limit))
    yield _t(d, ns.WORKER_COUNT, Literal(str(settings.resolved_workers()), datatype=ns.XSD_INTEGER))
    yield _t(d, ns.RELATIVE_GAP_LIMIT, _double(settings.relative_gap))
    yield _t(d, ns.ABSOLUTE_GAP_LIMIT, _double(settings.absolute_gap))
    yield _t(d, ns.RANDOM_SEED, Literal(str(settings.seed), datatype=ns.XSD_INTEGER))
    if settings.deterministic_time is not None:
        yield _t(d, ns.DETERMINISTIC_TIME_LIMIT, _double(settings.deterministic_time))
    yield _t(record.schedule, ns.RDF_TYPE, ns.SCHEDULE)
    yield _t(record.schedule, ns.RDFS_LABEL, Literal(f"Schedule of {p.case}"))
    yield _t(record.schedule, ns.PROV_WAS_GENERATED_BY, d)


def _series_triples(
    record: DecisionRecord, problem: DispatchProblem, series: dict[str, tuple[str | None, str, FloatArray]]
) -> list[str]:
    minutes = problem.horizon.step_hours * 60
    resolution = Literal(f"PT{minutes:g}M", datatype=ns.XSD_DURATION)
    start, steps = _datetime(problem.horizon.start), Literal(str(problem.steps), datatype=ns.XSD_INTEGER)
    lines = []
    for key, (asset, quantity, _) in series.items():
        node = NamedNode(f"{record.decision.value}/series/{key}")
        lines += [
            _t(record.schedule, ns.HAS_SERIES, node),
            _t(node, ns.RDF_TYPE, ns.SCHEDULE_SERIES),
            _t(node, ns.SERIES_KEY, Literal(record.series_prefix + key)),
            _t(node, ns.STORED_IN, Literal("duckdb")),
            _t(node, ns.SCHEDULED_QUANTITY, Literal(quantity)),
            _t(node, ns.HAS_UNIT, UNITS[quantity]),
            _t(node, ns.RESOLUTION, resolution),
            _t(node, ns.START_TIME, start),
            _t(node, ns.STEP_COUNT, steps),
        ]
        if asset is not None:
            lines.append(_t(node, ns.FOR_ASSET, NamedNode(asset)))
    return lines


def _t(s: NamedNode, p: NamedNode, o: NamedNode | Literal) -> str:
    return f"{s} {p} {o} .\n"


def _double(value: float) -> Literal:
    return Literal(repr(float(value)), datatype=ns.XSD_DOUBLE)


def _datetime(moment: datetime) -> Literal:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return Literal(moment.isoformat(), datatype=ns.XSD_DATETIME)
