"""Graph → stored decision: what was decided, for which problem, and the schedule itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from pyoxigraph import NamedNode

from enertwin.kg.errors import InputError
from enertwin.kg.queries import load_query
from enertwin.kg.rows import Row, read_rows
from enertwin.kg.store import Store
from enertwin.kg.terms import lexical
from enertwin.reasoning.problem import DispatchProblem
from enertwin.reasoning.schedule import Schedule

_PACKAGE = "enertwin.reasoning"
PROPERTIES = {  # query variable → the property it reads, for error messages
    "schedule": "^prov:wasGeneratedBy",
    "grid": "et:dispatchedGrid",
    "code": "et:dispatchedGrid/et:sourceCode",
    "start": "et:horizonStart",
    "steps": "et:stepCount",
    "model": "prov:used",
    "status": "et:solverStatus",
    "asset": "et:hasSeries/et:forAsset",
    "quantity": "et:hasSeries/et:scheduledQuantity",
    "key": "et:hasSeries/et:seriesKey",
}


@dataclass(frozen=True, slots=True)
class StoredDecision:
    """The facts of a stored dispatch decision."""

    decision: str
    schedule: str
    grid: str
    case: str
    start: datetime
    steps: int
    cost_model: str | None
    status: str


def find_decision(store: Store, iri: str) -> StoredDecision:
    """The decision named by ``iri`` (the decision itself or its schedule)."""
    query = load_query(_PACKAGE, "decision_facts.rq")

    def facts(name: str) -> list[Row]:
        return read_rows(store.query(query, {name: NamedNode(iri)}), "decision", PROPERTIES, "decision_facts.rq")

    rows = facts("schedule") or facts("decision")
    if not rows:
        raise InputError(f"no dispatch decision or schedule <{iri}> in the store (see `enertwin optimize`)")
    r = rows[0]
    grid = r.iri("grid")
    return StoredDecision(
        decision=r.iri("decision"),
        schedule=r.iri("schedule"),
        grid=grid,
        case=r.optional_str("code") or grid,
        start=r.datetime("start"),
        steps=r.int("steps"),
        cost_model=r.optional_iri("model"),
        status=r.str("status"),
    )


def read_schedule(store: Store, decision: StoredDecision, problem: DispatchProblem) -> Schedule:
    """The stored schedule, in the asset order of ``problem`` (matched by IRI)."""
    found = store.query(load_query(_PACKAGE, "decision_series.rq"), {"schedule": NamedNode(decision.schedule)})
    rows = read_rows(found, "schedule", PROPERTIES, "decision_series.rq")
    keys = {(r.optional_iri("asset"), r.str("quantity")): r.str("key") for r in rows}
    if not keys:
        raise InputError(f"the decision <{decision.decision}> stored no schedule (status {decision.status})")
    values = store.series.read_many(keys.values(), 0, problem.steps)

    def matrix(assets: list[str], quantity: str) -> np.ndarray:
        missing = [a for a in assets if (a, quantity) not in keys]
        if missing:
            raise InputError(
                f"the schedule <{decision.schedule}> has no {quantity} series for <{missing[0]}>: "
                "the grid changed since the decision was made"
            )
        return np.array([values[keys[(a, quantity)]] for a in assets]).reshape(len(assets), problem.steps)

    thermal = [u.iri for u in problem.thermal]
    storage = [u.iri for u in problem.storage]
    return Schedule(
        thermal_p=matrix(thermal, "p_mw"),
        thermal_on=matrix(thermal, "on").astype(np.int8),
        renewable_p=matrix([u.iri for u in problem.renewables], "p_mw"),
        charge=matrix(storage, "charge_mw"),
        discharge=matrix(storage, "discharge_mw"),
        soc=matrix(storage, "soc_mwh"),
        buy=values[keys[(None, "buy_mw")]],
        sell=values[keys[(None, "sell_mw")]],
        unserved=values[keys[(None, "unserved_mw")]],
    )


def provenance(store: Store, decision: str) -> list[tuple[str, str]]:
    """(property, value) pairs the decision records about itself: when, from what, how, with what result."""
    rows = store.query(load_query(_PACKAGE, "decision_provenance.rq"), {"decision": NamedNode(decision)})
    return [(lexical(r["property"]), lexical(r["value"])) for r in rows]
