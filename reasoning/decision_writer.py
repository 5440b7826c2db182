"""Solution → graph: a decision, its schedule and one series per asset and quantity.

A decision is written as one provenance record (its own named graph, validated, hashed,
chained and signed): the activity with its settings and outcome, the graph versions and
series snapshot it read (with their content hashes), the agent and role, and the schedule
it generated with the hash of its values. The values go to DuckDB under ``decision/<id>/``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from pyoxigraph import Literal, NamedNode, Triple

from enertwin.kg import namespaces as ns
from enertwin.kg.provenance.ledger import Ledger
from enertwin.kg.provenance.record import (
    SOFTWARE_AGENT,
    ActivityRecord,
    Term,
    agent_triples,
    boolean,
    integer,
    text,
    timestamp,
)
from enertwin.kg.provenance.series_digest import series_digest
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
    """Where a stored decision lives: its IRIs, its record's graph and its series prefix."""

    decision: NamedNode
    schedule: NamedNode
    graph: NamedNode
    series_prefix: str
    schedule_hash: str


@dataclass(frozen=True, slots=True)
class DecisionInputs:
    """What a decision read: graph versions (logical → version, hash) and its series snapshot's hash."""

    versions: dict[NamedNode, tuple[NamedNode, str]]
    snapshot: str
    series_count: int
    case: str
    window: int
    overlap: int


def decision_node(identifier: str) -> NamedNode:
    """The IRI of decision ``identifier``."""
    return NamedNode(f"{ns.ID_BASE}decision/{identifier}")


def series_prefix(decision: NamedNode) -> str:
    """The DuckDB key prefix of a decision's schedule series: ``decision/<id>/``."""
    return f"decision/{decision.value.rsplit('/', 1)[1]}/"


def snapshot_node(digest: str) -> NamedNode:
    """The IRI of the series snapshot with hash ``digest``."""
    return NamedNode(f"{ns.ID_BASE}snapshot/{digest}")


def write_decision(
    ledger: Ledger, result: DispatchResult, started: datetime, ended: datetime, inputs: DecisionInputs
) -> DecisionRecord:
    """Append ``result`` to the ledger as a decision record with its schedule; returns where it went."""
    identifier = uuid.uuid4().hex
    decision = decision_node(identifier)
    schedule, prefix = NamedNode(f"{decision.value}/schedule"), series_prefix(decision)
    series = dict(schedule_series(result))
    frame = pd.DataFrame({prefix + key: values for key, (_, _, values) in series.items()})
    digest = schedule_digest(series)
    activity = ActivityRecord(decision, ns.DECISION, started, ended)
    activity.extend(_decision_triples(decision, schedule, result, inputs))
    activity.extend(_series_triples(decision, schedule, prefix, result.problem, series))
    activity.associate(SOFTWARE_AGENT, ns.OPTIMIZER_ROLE).extend(agent_triples(ledger.signer.identity))
    for logical, (version, version_hash) in sorted(inputs.versions.items(), key=lambda kv: kv[0].value):
        facts: dict[NamedNode, Term] = {ns.PROV_SPECIALIZATION_OF: logical, ns.CONTENT_HASH: text(version_hash)}
        activity.used(version, ns.GRAPH_VERSION, facts)
    snapshot = snapshot_node(inputs.snapshot)
    activity.used(snapshot, ns.SERIES_SNAPSHOT, {ns.CONTENT_HASH: text(inputs.snapshot)})
    activity.add(snapshot, ns.STEP_COUNT, integer(inputs.series_count))
    activity.add(decision, ns.PROV_GENERATED, schedule).add(schedule, ns.CONTENT_HASH, text(digest))
    retain = [version for version, _ in inputs.versions.values()]
    receipt = ledger.append(activity, retain=retain, series=(frame, prefix))
    return DecisionRecord(decision, schedule, receipt.graph, prefix, digest)


def schedule_digest(series: dict[str, tuple[str | None, str, FloatArray]]) -> str:
    """Hex SHA-256 of a schedule's values (every series by its key within the decision, as float64)."""
    return series_digest(series)


def schedule_series(result: DispatchResult) -> Iterator[tuple[str, tuple[str | None, str, FloatArray]]]:
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
    d: NamedNode, schedule: NamedNode, result: DispatchResult, inputs: DecisionInputs
) -> Iterator[Triple]:
    p, settings = result.problem, result.settings
    yield _t(d, ns.RDFS_LABEL, Literal(f"Dispatch of {p.case} from {p.horizon.start.isoformat()} for {p.steps} steps"))
    yield _t(d, ns.CASE_NAME, Literal(inputs.case))
    yield _t(d, ns.WINDOW_STEPS, integer(inputs.window))
    yield _t(d, ns.OVERLAP_STEPS, integer(inputs.overlap))
    yield _t(d, ns.DISPATCHED_GRID, NamedNode(p.grid))
    for used in (p.grid, p.cost_model, p.market.iri, p.market.price_source):
        if used.startswith(("http://", "https://")):
            yield _t(d, ns.PROV_USED, NamedNode(used))
    yield _t(d, ns.HORIZON_START, timestamp(p.horizon.start))
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
    yield _t(d, ns.LP_GUIDED, boolean(settings.lp_guide))
    yield _t(d, ns.RANDOM_SEED, Literal(str(settings.seed), datatype=ns.XSD_INTEGER))
    if settings.deterministic_time is not None:
        yield _t(d, ns.DETERMINISTIC_TIME_LIMIT, _double(settings.deterministic_time))
    yield _t(schedule, ns.RDF_TYPE, ns.SCHEDULE)
    yield _t(schedule, ns.RDF_TYPE, ns.PROV_ENTITY)
    yield _t(schedule, ns.RDFS_LABEL, Literal(f"Schedule of {p.case}"))
    yield _t(schedule, ns.PROV_WAS_GENERATED_BY, d)


def _series_triples(
    decision: NamedNode,
    schedule: NamedNode,
    prefix: str,
    problem: DispatchProblem,
    series: dict[str, tuple[str | None, str, FloatArray]],
) -> list[Triple]:
    minutes = problem.horizon.step_hours * 60
    resolution = Literal(f"PT{minutes:g}M", datatype=ns.XSD_DURATION)
    start, steps = timestamp(problem.horizon.start), Literal(str(problem.steps), datatype=ns.XSD_INTEGER)
    lines = []
    for key, (asset, quantity, _) in series.items():
        node = NamedNode(f"{decision.value}/series/{key}")
        lines += [
            _t(schedule, ns.HAS_SERIES, node),
            _t(node, ns.RDF_TYPE, ns.SCHEDULE_SERIES),
            _t(node, ns.SERIES_KEY, Literal(prefix + key)),
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


def _t(s: NamedNode, p: NamedNode, o: NamedNode | Literal) -> Triple:
    return Triple(s, p, o)


def _double(value: float) -> Literal:
    return Literal(repr(float(value)), datatype=ns.XSD_DOUBLE)
