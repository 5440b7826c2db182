"""Re-run a stored decision from exactly the inputs it recorded, and say whether the schedule is the same.

The problem is read through a view pinned to the graph versions the decision used (kept
after newer versions replaced them) and to its series snapshot; both are checked against
their recorded content hashes first. The solve uses the recorded settings and seed; the
schedule's values are hashed as the decision's were, so identical means value for value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from pyoxigraph import NamedNode

from enertwin.kg import namespaces as ns
from enertwin.kg.errors import InputError
from enertwin.kg.provenance.ledger import Ledger, Receipt
from enertwin.kg.provenance.record import SOFTWARE_AGENT, ActivityRecord, agent_triples, boolean
from enertwin.kg.queries import load_query
from enertwin.kg.rows import read_rows
from enertwin.kg.series_snapshot import SnapshotSeries
from enertwin.kg.store import Store
from enertwin.reasoning.decision_reader import find_decision
from enertwin.reasoning.decision_writer import schedule_digest, schedule_series, series_prefix
from enertwin.reasoning.dispatch import solve_dispatch
from enertwin.reasoning.portfolio_reader import read_problem
from enertwin.reasoning.solver import DispatchResult, SolverSettings

_PACKAGE = "enertwin.reasoning"


@dataclass(frozen=True, slots=True)
class ReplayOutcome:
    """What a replay found: identical or not, both hashes, and the first value that differs."""

    decision: str
    identical: bool
    recorded_hash: str
    replayed_hash: str
    first_difference: str | None
    result: DispatchResult
    receipt: Receipt | None


@dataclass(frozen=True, slots=True)
class RecordedRun:
    """A decision's recorded problem and settings."""

    grid: str
    case: str
    start: datetime
    steps: int
    window: int
    overlap: int
    cost_model: str | None
    settings: SolverSettings
    schedule_hash: str


def replay(store: Store, iri: str, ledger: Ledger | None = None) -> ReplayOutcome:
    """Re-run decision ``iri`` (or the decision of schedule ``iri``) and append a record of the replay."""
    ledger = ledger or Ledger(store)
    began = datetime.now(UTC)
    decision = NamedNode(find_decision(store, iri).decision)
    run = recorded_run(store, decision)
    versions, view = recorded_view(store, decision)
    problem = read_problem(view, run.grid, run.case, run.start, run.steps, run.cost_model)
    result = solve_dispatch(problem, run.settings, run.window, run.overlap, None)
    series = dict(schedule_series(result))
    replayed = schedule_digest(series)
    identical = replayed == run.schedule_hash
    difference = None if identical else first_difference(store, decision, series)
    activity = ActivityRecord(
        NamedNode(f"{decision.value}/replay/{began.strftime('%Y%m%dT%H%M%S%f')}"), ns.REPLAY, began, datetime.now(UTC)
    )
    activity.add(activity.iri, ns.PROV_WAS_INFORMED_BY, decision)
    activity.add(activity.iri, ns.IDENTICAL, boolean(identical))
    for version in versions.values():
        activity.add(activity.iri, ns.PROV_USED, version)
    activity.associate(SOFTWARE_AGENT, ns.OPTIMIZER_ROLE).extend(agent_triples(ledger.signer.identity))
    receipt = ledger.append(activity)
    return ReplayOutcome(decision.value, identical, run.schedule_hash, replayed, difference, result, receipt)


def recorded_run(store: Store, decision: NamedNode) -> RecordedRun:
    """The problem and settings decision ``decision`` recorded."""
    found = store.query(load_query(_PACKAGE, "replay_settings.rq"), {"decision": decision})
    rows = read_rows(found, "decision", SETTING_PROPERTIES, "replay_settings.rq")
    if not rows:
        raise InputError(f"the decision <{decision.value}> records no replayable run (made before provenance records?)")
    r = rows[0]
    settings = SolverSettings(
        time_limit=r.float("timeLimit"),
        workers=r.int("workers"),
        relative_gap=r.float("gap"),
        absolute_gap=r.float("absoluteGap"),
        seed=r.int("seed"),
        deterministic_time=r.optional_float("deterministicTime"),
        lp_guide=r.bool("lpGuided"),
    )
    return RecordedRun(
        grid=r.iri("grid"),
        case=r.str("case"),
        start=r.datetime("start"),
        steps=r.int("steps"),
        window=r.int("window"),
        overlap=r.int("overlap"),
        cost_model=r.optional_iri("model"),
        settings=settings,
        schedule_hash=r.regarding("schedule").str("scheduleHash"),
    )


SETTING_PROPERTIES = {  # query variable → the property it reads, for error messages
    "grid": "et:dispatchedGrid",
    "case": "et:caseName",
    "start": "et:horizonStart",
    "steps": "et:stepCount",
    "window": "et:windowSteps",
    "overlap": "et:overlapSteps",
    "model": "prov:used",
    "timeLimit": "et:timeLimit",
    "workers": "et:workerCount",
    "gap": "et:relativeGapLimit",
    "absoluteGap": "et:absoluteGapLimit",
    "seed": "et:randomSeed",
    "deterministicTime": "et:deterministicTimeLimit",
    "lpGuided": "et:lpGuided",
    "scheduleHash": "et:contentHash",
}
INPUT_PROPERTIES = {"kind": "rdf:type", "logical": "prov:specializationOf", "hash": "et:contentHash"}


def recorded_inputs(store: Store, decision: NamedNode) -> tuple[dict[NamedNode, NamedNode], str]:
    """The graph versions (logical → version) and the series snapshot the decision read, checked by hash."""
    versions: dict[NamedNode, NamedNode] = {}
    snapshot = None
    found = store.query(load_query(_PACKAGE, "replay_inputs.rq"), {"decision": decision})
    for r in read_rows(found, "entity", INPUT_PROPERTIES, "replay_inputs.rq"):  # read whole first
        recorded = r.str("hash")
        if r.iri("kind") == ns.SERIES_SNAPSHOT.value:
            snapshot = recorded
            continue
        entity = NamedNode(r.iri("entity"))
        if not store.has_version(entity):
            raise InputError(
                f"the graph version <{entity.value}> that <{decision.value}> read is no longer in the store"
            )
        actual = store.version_hash(entity, fresh=True)
        if actual != recorded:
            raise InputError(
                f"the graph version <{entity.value}> changed since <{decision.value}> read it: "
                f"its hash is {actual}, not {recorded}"
            )
        versions[NamedNode(r.iri("logical"))] = entity
    if snapshot is None or not versions:
        raise InputError(f"the decision <{decision.value}> records no input versions or series snapshot to replay from")
    return versions, snapshot


def recorded_view(store: Store, decision: NamedNode) -> tuple[dict[NamedNode, NamedNode], Store]:
    """The versions ``decision`` read and a read-only view of exactly them and its series snapshot.

    Replay and explain read through it, so a graph changed after the decision does not change them.
    """
    versions, snapshot = recorded_inputs(store, decision)
    return versions, store.view(versions, SnapshotSeries(store.series, snapshot))


def first_difference(store: Store, decision: NamedNode, series: dict[str, tuple[str | None, str, np.ndarray]]) -> str:
    """Where the replayed schedule first departs from the stored one."""
    prefix = series_prefix(decision)
    for key in sorted(series):
        asset, quantity, values = series[key]
        stored = store.series.read(prefix + key) if store.series.has(prefix + key) else np.array([])
        if len(stored) != len(values):
            return f"{key}: {len(stored)} stored values, {len(values)} replayed"
        differs = np.flatnonzero(stored != values)
        if differs.size:
            t = int(differs[0])
            return f"{quantity} of {asset or key} at step {t}: stored {stored[t]!r}, replayed {values[t]!r}"
    return "the values agree but their hash does not (the recorded hash was changed)"
