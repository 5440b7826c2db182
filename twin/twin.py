"""The twin: one object that owns the store, its series, the ledger and the signer, and offers the use cases.

The CLI, agents and GraphQL resolvers call the same methods. Every write is one provenance
record committed with what it wrote, and subscribers are told of each commit.

>>> with Twin.open(None) as twin:  # in memory; a path keeps it on disk, http(s):// talks to oxigraph serve
...     sorted(twin.graphs())
...     twin.costs().columns[:3]
['https://w3id.org/enertwin/graph/costs', 'https://w3id.org/enertwin/graph/ontology']
['model', 'fuel', 'marginal_eur_per_mwh']
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

import numpy as np
from pyoxigraph import NamedNode, RdfFormat, Triple

from enertwin.agents.policy import sets as policy_sets
from enertwin.agents.policy.policy_file import PolicyFile
from enertwin.agents.policy.sets import PolicyActivated, PolicyDiff, PolicyLoaded, PolicySetInfo
from enertwin.agents.settings.stored import change_setting, ensure_settings, read_settings
from enertwin.agents.settings.values import AgentSettings
from enertwin.events import Callback, CommitStream, Subscribers, Subscription
from enertwin.jobs import OptimiseJob
from enertwin.kg import namespaces as ns
from enertwin.kg.errors import EvidenceError, InputError
from enertwin.kg.importers.simbench import (
    ImportResult,
    code_of_grid,
    ensure_imported,
    grid_node,
    import_simbench,
    resolve_code,
)
from enertwin.kg.provenance.checkpoint import Checkpoint, Consistency, checkpoint, consistency
from enertwin.kg.provenance.export import export_records
from enertwin.kg.provenance.human import record_verdict
from enertwin.kg.provenance.keyring import endorsement, public_key
from enertwin.kg.provenance.keys import KEY_FILE, Identity, Signer, key_folder, key_id
from enertwin.kg.provenance.ledger import Ledger, Receipt, entries, key_node, record_contents
from enertwin.kg.provenance.policy import PolicyVerdictRecord, policy_verdict_activity, record_policy_verdict
from enertwin.kg.provenance.proof import InclusionProof, find_entry, inclusion_proof
from enertwin.kg.provenance.record import SOFTWARE_AGENT, ActivityRecord, agent_triples, text
from enertwin.kg.provenance.recorded_change import ChangeReceipt, set_value
from enertwin.kg.provenance.recorded_state import StateWatch, record_state, state_rows
from enertwin.kg.provenance.recorded_write import Source, replace_recorded
from enertwin.kg.provenance.verify import Verdict, verify
from enertwin.kg.queries import Bindings, Term, load_query
from enertwin.kg.query_guard import check_user_query
from enertwin.kg.rdf_input import require_triples
from enertwin.kg.reports import ReportInfo, ReportTable, list_reports, run_report
from enertwin.kg.store import COST_GRAPH, Store, WriteReport
from enertwin.kg.terms import PlainValue, to_python
from enertwin.kg.topology import check_topology
from enertwin.kg.violation import Violation
from enertwin.reasoning.cancel import Cancellation
from enertwin.reasoning.decision_reader import find_decision, provenance
from enertwin.reasoning.dispatch import DispatchRun, read_run, record_run, solve_dispatch
from enertwin.reasoning.explain import Explanation, explain
from enertwin.reasoning.portfolio_reader import read_problem, reference_grids
from enertwin.reasoning.problem import DispatchProblem
from enertwin.reasoning.replay import ReplayOutcome, replay
from enertwin.record_burst import RecordBurst
from enertwin.requests import OptimiseRequest

Progress = Callable[[str, float], None]


def _quiet(_stage: str, _fraction: float) -> None:
    """A progress callback that shows nothing."""


@dataclass(frozen=True, slots=True)
class Table:
    """Query results as plain Python values (:func:`~enertwin.kg.terms.to_python`), ready to print or serialise."""

    columns: list[str]
    rows: list[dict[str, PlainValue]]


@dataclass(frozen=True, slots=True)
class CostsLoaded:
    """A replaced cost model: what was written, and its record (``None``: the same model was already live)."""

    report: WriteReport
    receipt: Receipt | None


@dataclass(frozen=True, slots=True)
class KeySetup:
    """The signing key after :meth:`Twin.init`: where it is, whether it was created, where it was published."""

    path: Path
    created: bool
    signer: Signer
    published: Receipt | None

    @property
    def genesis(self) -> bool:
        """Whether this key's publication is the store's first record (pin it outside the store)."""
        return self.published is not None and self.published.entry.seq == 1


@dataclass(frozen=True, slots=True)
class HumanVerdict:
    """An approval or override: the decision it concerns and its record."""

    decision: str
    schedule: str
    receipt: Receipt


@dataclass(frozen=True, slots=True)
class Endorsement:
    """Another operator's key published in a record the twin's key signed."""

    key_id: str
    receipt: Receipt
    signed_before: tuple[int, ...]


class Twin:
    """A digital twin: the store, its series, the signed ledger and the use cases over them.

    Open one with :meth:`open`; use it as a context manager, or call :meth:`close`. Methods are
    safe to call from several threads (one call at a time touches the store); an optimise job
    solves without holding the twin.
    """

    def __init__(self, store: Store, *, signer: Signer | None = None, keys: Path | None = None) -> None:
        """Wrap an opened store; most callers want :meth:`open`. ``keys``: the key folder (``$ENERTWIN_HOME/keys``)."""
        self._store = store
        self._signer = signer
        self._keys = keys
        self._ledger: Ledger | None = None
        self._lock = threading.RLock()
        self._subscribers = Subscribers()
        self._jobs: list[OptimiseJob] = []
        self._burst: RecordBurst | None = None

    @classmethod
    def open(
        cls,
        location: str | Path | None = None,
        *,
        read_only: bool = False,
        signer: Signer | None = None,
        keys: Path | None = None,
    ) -> Twin:
        """Open the twin at ``location``: ``None`` in memory, a directory on disk, ``http(s)://…`` a remote endpoint.

        ``read_only`` opens an existing disk store for reading only (beside a process writing it).
        The signing key is read when the first record is written (``signer`` gives one directly).
        """
        return cls(Store.open(location, read_only=read_only), signer=signer, keys=keys)

    def __enter__(self) -> Twin:
        """Use as a context manager that closes the twin."""
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        """Close on leaving the ``with`` block."""
        self.close()

    def close(self) -> None:
        """Cancel running jobs, wait for them, and close the store and its series."""
        for job in self._jobs:
            job.cancel()
        for job in self._jobs:
            job.wait()
        with self._lock:
            if self._burst is not None:  # records still held: stored before the store closes
                self.release_records(self._burst)
            self._store.close()

    @contextmanager
    def _holding(self) -> Iterator[Store]:
        with self._lock:
            yield self._store

    # -- who signs -------------------------------------------------------------------------

    @property
    def key_folder(self) -> Path:
        """Where the signing key is kept."""
        return self._keys or key_folder()

    @property
    def signer(self) -> Signer:
        """The key that signs this twin's records (loaded on first use; an :class:`InputError` if there is none)."""
        if self._signer is None:
            self._signer = Signer.load(self.key_folder)
        return self._signer

    @property
    def ledger(self) -> Ledger:
        """The signed ledger every write of this twin is recorded in."""
        if self._ledger is None:
            self._ledger = Ledger(self._store, self.signer)
            self._ledger.listeners.append(self._subscribers.publish)
        return self._ledger

    def ensure_key(self, identity: Identity | None = None) -> bool:
        """Create the signing key if there is none (mode 0600); whether it was created."""
        if self._signer is not None or (self.key_folder / KEY_FILE).exists():
            return False
        self._signer = Signer.create(self.key_folder, identity)
        return True

    def init(self, identity: Identity | None = None) -> KeySetup:
        """Create the signing key if there is none and publish its public key in the store (if not yet)."""
        created = self.ensure_key(identity)
        with self._holding():
            published = None if self.ledger.key_published() else self.ledger.publish_key()
        return KeySetup(self.key_folder / KEY_FILE, created, self.signer, published)

    def endorse(self, public: str, person: str) -> Endorsement:
        """Publish another operator's key (base64) in a record this twin's key signs."""
        checked = public_key(public)
        if checked == self.signer.public_key:
            raise InputError("that is your own key: a key cannot endorse itself (pin it with `enertwin key pin`)")
        with self._holding() as store:
            before = tuple(e.seq for e in entries(store) if e.key == key_node(key_id(checked)))
            receipt = self.ledger.append(endorsement(checked, person, self.signer.identity, self.signer.key_id))
        return Endorsement(key_id(checked), receipt, before)

    # -- commits ---------------------------------------------------------------------------

    def subscribe(self, callback: Callback) -> Subscription:
        """Call ``callback`` with a :class:`~enertwin.events.CommitEvent` after each commit of this twin.

        >>> with Twin.open(None) as twin:
        ...     seen = []
        ...     with twin.subscribe(seen.append):
        ...         setup = twin.init()  # publishes the signing key: the store's first record
        ...     [(e.seq, e.kind.rsplit("#", 1)[-1]) for e in seen]
        [(1, 'KeyPublication')]
        """
        return self._subscribers.add(callback)

    def commits(self, timeout: float | None = None) -> CommitStream:
        """Commit events as an iterator (queued from now on); ``timeout`` ends it when none comes in time."""
        return CommitStream(self._subscribers, timeout)

    # -- reading ---------------------------------------------------------------------------

    def graphs(self) -> dict[str, str]:
        """Logical graph → its live version."""
        with self._holding() as store:
            return {g.value: v.value for g, v in store.live().items()}

    def query(self, text: str, bindings: Bindings | None = None, *, allow_service: Sequence[str] = ()) -> Table:
        """Run a user's SPARQL SELECT (read only; no SERVICE call unless its endpoint is allowed)."""
        check_user_query(text, allow_service)
        with self._holding() as store:
            solutions = store.query(text, bindings)
            columns = [v.value for v in solutions.variables]
            rows = [{c: to_python(s[c]) for c in columns} for s in solutions]
        return Table(columns, rows)

    def read_series(self, key: str, start: int = 0, count: int | None = None) -> np.ndarray:
        """Values of series ``key`` (a profile, a price, a schedule's) from step ``start``."""
        with self._holding() as store:
            return store.series.read(key, start, count)

    def shipped_query(self, package: str, name: str, bindings: Bindings | None = None) -> Table:
        """Rows of a query shipped in ``package`` (an ``.rq`` file) over the data graphs, not the ledger's records."""
        return self._table(package, name, bindings)

    def _table(self, package: str, name: str, bindings: Bindings | None = None) -> Table:
        with self._holding() as store:
            solutions = store.query_data(load_query(package, name), bindings)
            columns = [v.value for v in solutions.variables]
            return Table(columns, [{c: to_python(s[c]) for c in columns} for s in solutions])

    def summary(self, name: str, grid: NamedNode) -> Table:
        """One of the shipped summaries of a grid (``portfolio_summary.rq``, ``thermal_by_fuel.rq``, …)."""
        return self._table("enertwin.kg", name, {"grid": grid})

    def validate(self, code: str | None = None) -> list[Violation]:
        """Every shape, series reference, topology check (of grid ``code`` only, if given) and leftover."""
        grid = grid_node(resolve_code(code)) if code else None
        with self._holding() as store:
            return store.check_all() + store.orphans() + check_topology(store, grid)

    def topology(self, grid: NamedNode | None = None) -> list[Violation]:
        """The topology findings of one grid (or of all)."""
        with self._holding() as store:
            return check_topology(store, grid)

    # -- importing and costs ---------------------------------------------------------------

    def import_simbench(self, code: str, progress: Progress | None = None) -> ImportResult:
        """Import SimBench ``code`` (a code or short name), replacing an earlier import of it; recorded."""
        code = resolve_code(code)
        with self._holding() as store:
            return import_simbench(store, code, progress, self.ledger)

    def prepare_case(self, code: str, progress: Progress | None = None) -> str:
        """Import the case's grid and the grids that price its market where the store lacks them; the grid IRI."""
        code = resolve_code(code)
        with self._holding() as store:
            ensure_imported(store, code, progress, self.ledger)
            for grid in reference_grids(store):
                reference = code_of_grid(grid)
                if reference is not None:
                    ensure_imported(store, reference, progress, self.ledger)
        return grid_node(code).value

    def costs(self) -> Table:
        """The cost table as it is in the graph."""
        return self._table("enertwin.kg", "cost_table.rq")

    @staticmethod
    def cost_model_turtle() -> bytes:
        """The cost model shipped with enertwin, as Turtle (a start for one's own)."""
        from enertwin.kg.store import default_cost_table

        return default_cost_table()

    def load_costs(self, turtle: bytes, source: str) -> CostsLoaded:
        """Replace the cost model by ``turtle`` (validated; rejected whole on any violation), recorded from ``source``.

        >>> with Twin.open(None) as twin:
        ...     twin.load_costs(twin.cost_model_turtle(), "the shipped cost table").receipt is None  # already live
        True
        """
        require_triples(turtle, RdfFormat.TURTLE, source)
        label = Source(source, f"SHA-256 {hashlib.sha256(turtle).hexdigest()}")
        with self._holding():
            report, receipt = replace_recorded(self.ledger, COST_GRAPH, turtle, RdfFormat.TURTLE, label)
        return CostsLoaded(report, receipt)

    def load_costs_file(self, path: Path) -> CostsLoaded:
        """:meth:`load_costs` from a Turtle file (the record names the file and the hash of its bytes)."""
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read the cost model file {path}: {exc.strerror or exc}") from exc
        return self.load_costs(data, f"cost model file {path.name}")

    def drop(self, graph: NamedNode | str, *, series_prefix: str | None = None, reason: str | None = None) -> Receipt:
        """Remove logical ``graph`` (and the series under ``series_prefix``) if nothing else then breaks; recorded.

        The record says which version it invalidated; a version a decision used stays for replay.
        """
        graph = graph if isinstance(graph, NamedNode) else NamedNode(graph)
        with self._holding() as store:
            drop = store.prepare_drop(graph, series_prefix=series_prefix)
            now = datetime.now(UTC)
            activity = ActivityRecord(NamedNode(f"{ns.ID_BASE}removal/{uuid.uuid4().hex}"), ns.REMOVAL, now, now)
            activity.add(activity.iri, ns.RDFS_LABEL, text(f"Removal of <{graph.value}>"))
            activity.add(activity.iri, ns.PROV_INVALIDATED, drop.version)
            activity.add(drop.version, ns.PROV_SPECIALIZATION_OF, graph)
            if reason and reason.strip():
                activity.add(activity.iri, ns.REASON, text(reason.strip()))
            activity.associate(SOFTWARE_AGENT, ns.OPERATOR_ROLE).extend(agent_triples(self.signer.identity))
            return self.ledger.append(activity, drops=[drop])

    def set(self, asset: str, prop: str, value: str, reason: str | None = None) -> ChangeReceipt:
        """Replace the values of ``prop`` on ``asset`` by ``value``: one fact, validated and recorded.

        ``asset`` is an IRI or a SimBench name, ``prop`` a CURIE such as ``et:maxActivePower``,
        ``value`` text typed by the property's range. A value the shapes reject is a
        ``ValidationError`` and changes nothing. The change costs the size of the change: the
        version a decision read stays readable as a reverse delta (``bench/change_bench.py``).
        """
        with self._holding() as store:
            return set_value(store, self.ledger, asset, prop, value, reason)

    # -- deciding --------------------------------------------------------------------------

    def optimise(self, request: OptimiseRequest, progress: Progress | None = None) -> DispatchRun:
        """Solve and record one dispatch in this thread (importing the grids it needs first)."""
        return self._optimise(request, progress or _quiet, Cancellation())

    def optimise_job(self, request: OptimiseRequest) -> OptimiseJob:
        """Start :meth:`optimise` in its own thread: a job with ``progress``, ``cancel()`` and ``result()``."""
        self.signer  # noqa: B018 (no signing key: fail now, not in the job's thread)
        job = OptimiseJob(lambda progress, cancel: self._optimise(request, progress, cancel), request.case)
        self._jobs = [j for j in self._jobs if not j.done] + [job]
        return job

    def _optimise(self, request: OptimiseRequest, progress: Progress, cancel: Cancellation) -> DispatchRun:
        code = resolve_code(request.case)
        progress("importing the grids", 0.0)
        grid = self.prepare_case(code, lambda stage, fraction: progress(stage, 0.05 * fraction))
        cancel.check()
        progress("reading the problem", 0.05)
        with self._holding() as store:
            ledger = self.ledger  # no signing key: fail before solving
            prepared = read_run(
                store, grid, code, request.start, request.steps, request.cost_model, request.window, request.overlap
            )
        progress("solving", 0.1)

        def windows(stage: str, fraction: float) -> None:
            progress(stage, 0.1 + 0.85 * fraction)

        result = solve_dispatch(prepared.problem, request.settings, request.window, request.overlap, windows, cancel)
        cancel.check()
        progress("recording the decision", 0.95)
        with self._holding() as store:
            return record_run(store, ledger, prepared, result)

    def explain(self, decision: str) -> Explanation:
        """Why a stored schedule is what it is, read from the inputs the decision recorded."""
        with self._holding() as store:
            return explain(store, decision)

    def provenance(self, decision: str) -> list[tuple[str, str]]:
        """What the decision records about itself: (property, value) pairs."""
        with self._holding() as store:
            return provenance(store, decision)

    def replay(self, decision: str) -> ReplayOutcome:
        """Re-run a decision from the inputs it recorded; the replay is recorded too."""
        with self._holding() as store:
            return replay(store, decision, self.ledger)

    def approve(self, decision: str, reason: str | None = None) -> HumanVerdict:
        """Record the key holder's approval of a decision (or of the decision of a schedule)."""
        return self._verdict(ns.APPROVAL, decision, reason)

    def override(self, decision: str, reason: str) -> HumanVerdict:
        """Record the key holder's override of a decision, with the reason (required)."""
        return self._verdict(ns.OVERRIDE, decision, reason)

    def _verdict(self, kind: NamedNode, decision: str, reason: str | None) -> HumanVerdict:
        with self._holding() as store:
            found = find_decision(store, decision)
            receipt = record_verdict(self.ledger, kind, NamedNode(found.decision), NamedNode(found.schedule), reason)
        return HumanVerdict(found.decision, found.schedule, receipt)

    def policy_verdict(
        self, action: str, verdict: str, reason: str, policy_version: str | None = None, *, rules: Sequence[str] = ()
    ) -> Receipt:
        """Record the policy engine's verdict (allowed, blocked, pending-approval), its reason and the rules broken."""
        version = NamedNode(policy_version) if policy_version is not None else None
        broken = [NamedNode(r) for r in rules]
        with self._holding():
            return record_policy_verdict(self.ledger, NamedNode(action), verdict, reason, version, rules=broken)

    # -- auditing --------------------------------------------------------------------------

    def verify(self, *, deep: bool = False, pinned: Collection[str] = ()) -> Verdict:
        """Check every record's hash, chain link and signature, and the signed tree head.

        ``deep`` also checks what records vouch for (graph versions, series, snapshots, schedules);
        ``pinned`` public keys are the trust root.
        """
        with self._holding() as store:
            return verify(store, deep=deep, pinned=pinned)

    def extends(self, saved: Checkpoint) -> Consistency:
        """Whether the ledger extends a checkpoint saved earlier."""
        with self._holding() as store:
            return consistency(store, saved)

    def checkpoint(self, *, pinned: Collection[str] = ()) -> Checkpoint:
        """The verified signed tree head, to keep outside the store; an :class:`EvidenceError` if it does not verify."""
        with self._holding() as store:
            verdict = verify(store, pinned=pinned)
            bad = verdict.first_bad
            if bad is not None:
                raise EvidenceError(f"record {bad.seq} <{bad.graph}> does not verify: {bad.problem}; no checkpoint")
            return checkpoint(store)

    def proof(self, iri: str) -> InclusionProof:
        """The inclusion proof of one record (named by itself, its graph or its activity)."""
        with self._holding() as store:
            return inclusion_proof(store, iri)

    def record_of(self, iri: str) -> tuple[int, str, str]:
        """The ledger entry of a record or activity: its sequence number, hash and signing key."""
        with self._holding() as store:
            entry = find_entry(store, iri)
        return entry.seq, entry.record_hash, entry.key.value

    def export(self, iris: Sequence[str] = (), fmt: str = "turtle") -> str:
        """Provenance records (default: all) for PROV tooling: turtle, trig, jsonld or provjson."""
        with self._holding() as store:
            selected = [find_entry(store, iri) for iri in iris] if iris else None
            return export_records(record_contents(store, selected), fmt)

    @staticmethod
    def reports() -> list[ReportInfo]:
        """The canned compliance reports."""
        return list_reports()

    def report(
        self,
        name: str,
        *,
        start: str | datetime | None = None,
        end: str | datetime | None = None,
        decision: str | None = None,
    ) -> ReportTable:
        """Run a canned report over the provenance records."""
        with self._holding() as store:
            return run_report(store, name, start=start, end=end, decision=decision)

    # --- issue 12: loop ---

    def record_activities(self, activities: Sequence[ActivityRecord]) -> list[Receipt]:
        """Append an agent's burst of records (a round's proposal, actuation, incidents) in one commit.

        While records are held (:meth:`hold_records`) they join the held burst instead, and no receipt is returned.
        """
        with self._holding():
            if self._burst is not None:
                self._burst.add(activities, closes_round=True)
                return []
            return self.ledger.append_many(activities)

    def hold_records(self, rounds: int, seconds: float) -> RecordBurst:
        """Hold agents' records for up to ``rounds`` rounds or ``seconds``, then append them in one commit.

        Held: :meth:`record_activities` (each call closes a round) and :meth:`policy_verdicts`.
        :meth:`release_records` flushes and stops holding.
        """
        with self._holding():
            if self._burst is not None:
                raise InputError("records are already held for another run; release them first")
            self.ledger  # noqa: B018 (no signing key: fail now, not at the first flush)
            self._burst = RecordBurst(self._append_held, rounds, seconds)
            return self._burst

    def release_records(self, burst: RecordBurst) -> list[Receipt]:
        """Append what ``burst`` still holds and stop holding records."""
        with self._holding():
            if self._burst is burst:
                self._burst = None
            return burst.flush()

    def _append_held(self, activities: Sequence[ActivityRecord]) -> list[Receipt]:
        with self._holding():
            return self.ledger.append_many(activities)

    def dispatch_problem(self, case: str, start: datetime, steps: int) -> DispatchProblem:
        """The case's dispatch problem read from the graph (importing what it needs first), without solving it."""
        grid = self.prepare_case(case)
        with self._holding() as store:
            return read_problem(store, grid, resolve_code(case), start, steps)

    def read_series_many(self, keys: Sequence[str], start: int = 0, count: int | None = None) -> dict[str, np.ndarray]:
        """The same slice of several series in one read (a forecaster's history)."""
        with self._holding() as store:
            return store.series.read_many(keys, start, count)

    # --- issue 12: control ---

    def record_state(
        self,
        graph: NamedNode,
        described: Mapping[NamedNode, Sequence[Triple]],
        activity: ActivityRecord,
        seen: str | None,
    ) -> Receipt:
        """Replace what state graph ``graph`` says about some nodes, committed with ``activity``'s record.

        ``seen``: the graph's version the caller decided on
        (see :func:`~enertwin.kg.provenance.recorded_state.record_state`).
        """
        with self._holding() as store:
            return record_state(store, self.ledger, graph, described, activity, seen)

    def state_rows(
        self, graph: NamedNode, package: str, name: str, bindings: Bindings | None = None
    ) -> tuple[str | None, list[dict[str, Term | None]]]:
        """The live version of state graph ``graph`` and the rows of query ``name`` over it alone."""
        with self._holding() as store:
            return state_rows(store, graph, package, name, bindings)

    def watch_state(self, graph: NamedNode) -> StateWatch:
        """A cheap test of whether state graph ``graph`` moved (also by another twin or process)."""
        return StateWatch(self._store, graph, self._lock)

    def is_asset(self, asset: str) -> bool:
        """Whether ``asset`` (an IRI) is an asset of the store: typed et:Asset or one of its subclasses."""
        with self._holding() as store:
            return bool(list(store.query(load_query("enertwin.kg", "asset_known.rq"), {"asset": NamedNode(asset)})))

    # --- issue 12: policy ---

    def policy_verdicts(self, verdicts: Sequence[PolicyVerdictRecord]) -> list[Receipt]:
        """Record several verdicts in one commit (a burst of proposals).

        While records are held (:meth:`hold_records`) they join the round's burst, and no receipt is returned.
        """
        with self._holding():
            identity = self.ledger.signer.identity
            activities = [policy_verdict_activity(identity, *v) for v in verdicts]
            if self._burst is not None:  # the round's records follow; they close it
                self._burst.add(activities, closes_round=False)
                return []
            return self.ledger.append_many(activities)

    def policy_asset_facts(self, assets: Sequence[NamedNode]) -> Table:
        """What the policies read of some assets (``agents/policy/asset_facts.rq``): ratings, capacity, fuel, ramp."""
        return self._table("enertwin.agents.policy", "asset_facts.rq", {"asset": list(assets)})

    def active_policy(self) -> str:
        """The active policy set's version IRI; the default set is loaded and activated (recorded) when none is."""
        with self._holding() as store:
            active = policy_sets.active_version(store)
            return active.value if active is not None else policy_sets.ensure_default(store, self.ledger).value

    def policy_rules(self, version: str) -> PolicyFile:
        """A stored policy set version, compiled."""
        with self._holding() as store:
            return policy_sets.stored_policy(store, NamedNode(version))

    def policy_versions(self) -> list[PolicySetInfo]:
        """The stored policy set versions."""
        with self._holding() as store:
            return policy_sets.versions(store)

    def load_policy(self, turtle: bytes, source: str) -> PolicyLoaded:
        """Store a new policy set version (refused whole unless it can be evaluated); recorded. Not activated."""
        with self._holding() as store:
            policy_sets.ensure_default(store, self.ledger)
            return policy_sets.load(store, self.ledger, turtle, source)

    def activate_policy(self, version: str, reason: str) -> PolicyActivated:
        """Make a stored version (IRI or label) the active set; recorded with who and why."""
        with self._holding() as store:
            policy_sets.ensure_default(store, self.ledger)
            return policy_sets.activate(store, self.ledger, policy_sets.resolve(store, version), reason)

    def rollback_policy(self, reason: str) -> PolicyActivated:
        """Make the previously active set active again; recorded with who and why."""
        with self._holding() as store:
            policy_sets.ensure_default(store, self.ledger)
            return policy_sets.rollback(store, self.ledger, reason)

    def show_policy(self, version: str) -> str:
        """A stored version (IRI or label) as Turtle."""
        with self._holding() as store:
            return policy_sets.show(store, policy_sets.resolve(store, version))

    def diff_policies(self, old: str, new: str) -> PolicyDiff:
        """What changed between two stored versions (IRIs or labels)."""
        with self._holding() as store:
            return policy_sets.diff(store, policy_sets.resolve(store, old), policy_sets.resolve(store, new))

    # --- issue 12: settings ---

    def agent_settings(self, *, load: bool = False) -> AgentSettings:
        """The agents' settings from the graph; ``load`` first puts the shipped ones there (recorded) if it has none.

        Without ``load`` a store with none gives the shipped settings and writes nothing.
        """
        with self._holding() as store:
            if load:
                ensure_settings(store, self.ledger)
            return read_settings(store)

    def set_agent_setting(self, name: str, value: str, reason: str) -> ChangeReceipt:
        """Change one agent setting (``gate-max-age``, …) to ``value`` in its unit: validated and recorded.

        A value ``shapes/agent_settings.ttl`` rejects is a ``ValidationError`` naming the setting and
        changes nothing. The same change as ``set(<agent settings IRI>, "et:gateMaxAge", value, reason)``.
        """
        with self._holding() as store:
            return change_setting(store, self.ledger, name, value, reason)
