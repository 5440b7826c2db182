"""Versioned policy sets in the graph: load, activate, roll back, list, show, diff.

Each version is its own logical graph (written as a recorded import, so the ledger says who
loaded which file); versions are immutable, so a verdict's ``policy_version`` always names the
rules it applied. Which set is active is the policy state graph: a stack of activations whose
top is the active set, so that rollback returns to the set active before. Every activation
and rollback is one commit of the state and its record (who and why).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.resources import files

from pyoxigraph import BlankNode, Literal, NamedNode, Quad, RdfFormat, Triple, parse, serialize
from pyoxigraph import Store as OxigraphStore

from enertwin.agents.policy.policy_file import PolicyFile, read_policy
from enertwin.kg import namespaces as ns
from enertwin.kg.errors import InputError
from enertwin.kg.provenance.ledger import Ledger, Receipt
from enertwin.kg.provenance.record import ActivityRecord, integer, person_node, person_triples, text
from enertwin.kg.provenance.recorded_write import Source, replace_recorded
from enertwin.kg.queries import load_query
from enertwin.kg.store import Store

STATE_GRAPH = NamedNode(ns.GRAPH_BASE + "policy-state")
STATE_NODE = NamedNode(ns.ID_BASE + "policy-state")
DEFAULT_FILE = "default.ttl"
_PREFIXES = {"et": ns.ET_BASE, "etpol": ns.POLICY_BASE, "sh": ns.SH_BASE, "rdfs": ns.RDFS_BASE, "xsd": ns.XSD_BASE}


def policy_graph(version: NamedNode) -> NamedNode:
    """The logical graph that holds policy set version ``version``."""
    return NamedNode(f"{ns.GRAPH_BASE}policy/{hashlib.sha256(version.value.encode()).hexdigest()[:24]}")


def default_policy_turtle() -> bytes:
    """The default policy set shipped with enertwin (``policies/default.ttl``)."""
    return (files("enertwin.policies") / DEFAULT_FILE).read_bytes()


def with_default_rules(turtle: bytes) -> bytes:
    """The policy set in ``turtle`` with the default set's rules added (as N-Triples, which is Turtle).

    A set that only tightens one thing (the demo's, a test's) keeps the whole default envelope
    this way, without a copy of ``default.ttl`` to keep in step. ``turtle`` names its own set
    (IRI and ``et:policyVersion``); the default set's own description is left out.
    """
    default = list(parse(default_policy_turtle(), format=RdfFormat.TURTLE))
    sets = {t.subject for t in default if t.predicate == ns.RDF_TYPE and t.object == ns.POLICY_SET}
    rules = [t for t in default if t.subject not in sets]
    try:
        own = list(parse(turtle, format=RdfFormat.TURTLE))
    except SyntaxError as exc:
        raise InputError(f"the policy set to extend with the default rules is not Turtle: {exc}") from exc
    return serialize([*own, *rules], format=RdfFormat.N_TRIPLES) or b""


@dataclass(frozen=True, slots=True)
class PolicySetInfo:
    """One stored version: its IRI, label, number of rules and whether it is active."""

    version: str
    label: str
    rules: int
    active: bool


@dataclass(frozen=True, slots=True)
class PolicyLoaded:
    """A loaded version, and its import record (``None``: that exact version was already stored)."""

    version: str
    label: str
    receipt: Receipt | None


@dataclass(frozen=True, slots=True)
class PolicyActivated:
    """The set made active, the one it replaced and the record of who did it and why."""

    version: str
    replaced: str | None
    receipt: Receipt


@dataclass(frozen=True, slots=True)
class PolicyDiff:
    """What changed from one version to another: rules by IRI, and triples."""

    old: str
    new: str
    rules_added: tuple[str, ...]
    rules_removed: tuple[str, ...]
    rules_changed: tuple[str, ...]
    triples_added: tuple[str, ...]
    triples_removed: tuple[str, ...]


# -- reading ------------------------------------------------------------------------------


def version_triples(store: Store, version: NamedNode) -> list[Triple]:
    """The triples of a stored version (an :class:`InputError` if the store has no such version)."""
    physical = store.live().get(policy_graph(version))
    if physical is None:
        raise InputError(f"no policy set version <{version.value}> is loaded (see `enertwin policy list`)")
    return [t for t in parse(store.backend.dump_graph(physical), format=RdfFormat.N_TRIPLES)]


def stored_policy(store: Store, version: NamedNode) -> PolicyFile:
    """A stored version read back and compiled (it was checked whole when loaded)."""
    data = serialize(version_triples(store, version), format=RdfFormat.N_TRIPLES) or b""
    return read_policy(data, f"policy set <{version.value}>")


def activation_stack(store: Store) -> list[NamedNode]:
    """The activated sets from the oldest to the active one (empty: none was ever activated)."""
    physical = store.live().get(STATE_GRAPH)
    if physical is None:
        return []
    entries: dict[NamedNode | BlankNode, dict[NamedNode, object]] = {}
    for t in parse(store.backend.dump_graph(physical), format=RdfFormat.N_TRIPLES):
        entries.setdefault(t.subject, {})[t.predicate] = t.object
    stack = []
    for facts in entries.values():
        position, activated = facts.get(ns.STACK_POSITION), facts.get(ns.ACTIVATED_SET)
        if isinstance(position, Literal) and isinstance(activated, NamedNode):
            stack.append((int(position.value), activated))
    return [v for _, v in sorted(stack, key=lambda e: e[0])]


def active_version(store: Store) -> NamedNode | None:
    """The active set's version IRI, if one is active."""
    stack = activation_stack(store)
    return stack[-1] if stack else None


def versions(store: Store) -> list[PolicySetInfo]:
    """Every stored version, in the order of their IRIs."""
    active = active_version(store)
    rows = store.query(load_query("enertwin.agents.policy", "policy_sets.rq"))
    found = []
    for row in rows:
        version = row["set"]
        if not isinstance(version, NamedNode) or policy_graph(version) not in store.live():
            continue
        rules = len(stored_policy(store, version).rules)
        found.append(PolicySetInfo(version.value, str(row["label"].value), rules, version == active))
    return found


def resolve(store: Store, name: str) -> NamedNode:
    """A version named by its IRI or its et:policyVersion label."""
    for info in versions(store):
        if name in (info.version, info.label):
            return NamedNode(info.version)
    raise InputError(f"no policy set version {name!r} is loaded (see `enertwin policy list`)")


def show(store: Store, version: NamedNode) -> str:
    """A stored version as Turtle."""
    data = serialize(version_triples(store, version), format=RdfFormat.TURTLE, prefixes=_PREFIXES)
    return (data or b"").decode("utf-8")


def diff(store: Store, old: NamedNode, new: NamedNode) -> PolicyDiff:
    """Rules (shapes by IRI) and triples added, removed or changed from ``old`` to ``new``."""
    before = _descriptions(version_triples(store, old), old)
    after = _descriptions(version_triples(store, new), new)
    rules_before, rules_after = _rules(store, old), _rules(store, new)
    lines_before = {f"{s} {line}" for s, lines in before.items() for line in lines}
    lines_after = {f"{s} {line}" for s, lines in after.items() for line in lines}
    return PolicyDiff(
        old.value,
        new.value,
        tuple(sorted(rules_after - rules_before)),
        tuple(sorted(rules_before - rules_after)),
        tuple(sorted(r for r in rules_before & rules_after if before.get(f"<{r}>") != after.get(f"<{r}>"))),
        tuple(sorted(lines_after - lines_before)),
        tuple(sorted(lines_before - lines_after)),
    )


def _rules(store: Store, version: NamedNode) -> set[str]:
    return {r.shape for r in stored_policy(store, version).rules}


def _descriptions(triples: list[Triple], version: NamedNode) -> dict[str, frozenset[str]]:
    """Each named subject's statements, blank nodes written out in full (so they compare across versions)."""
    by_subject: dict[object, list[Triple]] = {}
    for t in triples:
        by_subject.setdefault(t.subject, []).append(t)

    def term(node: object, depth: int = 0) -> str:
        if node == version:
            return "(the policy set)"
        if isinstance(node, BlankNode) and depth < 20:
            inner = sorted(f"{t.predicate} {term(t.object, depth + 1)}" for t in by_subject.get(node, []))
            return "[ " + " ; ".join(inner) + " ]"
        return str(node)

    return {
        term(s): frozenset(f"{t.predicate} {term(t.object)}" for t in ts)
        for s, ts in by_subject.items()
        if isinstance(s, NamedNode)
    }


# -- writing ------------------------------------------------------------------------------


def load(store: Store, ledger: Ledger, turtle: bytes, source: str) -> PolicyLoaded:
    """Store a new version (checked whole first); its label and IRI must not name another stored version."""
    policy = read_policy(turtle, source)
    for info in versions(store):
        if info.label == policy.label and info.version != policy.version.value:
            raise InputError(
                f"{source}: version label {policy.label!r} already names <{info.version}>; give the new set its own"
            )
    graph = policy_graph(policy.version)
    if graph in store.live():
        if _same(version_triples(store, policy.version), list(policy.triples)):
            return PolicyLoaded(policy.version.value, policy.label, None)
        raise InputError(
            f"{source}: policy set <{policy.version.value}> is already loaded with other rules; versions never "
            "change (verdicts name them): give the changed set a new IRI and et:policyVersion"
        )
    data = serialize(list(policy.triples), format=RdfFormat.N_TRIPLES) or b""
    label = Source(f"policy set {policy.label} from {source}", f"SHA-256 {hashlib.sha256(turtle).hexdigest()}")
    _, receipt = replace_recorded(ledger, graph, data, RdfFormat.N_TRIPLES, label)
    return PolicyLoaded(policy.version.value, policy.label, receipt)


def activate(store: Store, ledger: Ledger, version: NamedNode, reason: str) -> PolicyActivated:
    """Make ``version`` the active set (pushed on the stack); recorded with who and why."""
    version_triples(store, version)  # refuses a version that is not loaded
    stack = activation_stack(store)
    if stack and stack[-1] == version:
        raise InputError(f"policy set <{version.value}> is already the active one")
    return _write_state(store, ledger, [*stack, version], ns.POLICY_ACTIVATION, reason)


def rollback(store: Store, ledger: Ledger, reason: str) -> PolicyActivated:
    """Make the set active before the current one active again (the current one is popped)."""
    stack = activation_stack(store)
    if len(stack) < 2:
        raise InputError("there is no earlier active policy set to roll back to")
    return _write_state(store, ledger, stack[:-1], ns.POLICY_ROLLBACK, reason)


def ensure_default(store: Store, ledger: Ledger) -> NamedNode:
    """The active set; when none is, the default set is loaded and activated (recorded) first."""
    active = active_version(store)
    if active is not None:
        return active
    loaded = load(store, ledger, default_policy_turtle(), f"policies/{DEFAULT_FILE}")
    version = NamedNode(loaded.version)
    _write_state(store, ledger, [version], ns.POLICY_ACTIVATION, "no policy set was active: the default set")
    return version


def _write_state(store: Store, ledger: Ledger, stack: list[NamedNode], kind: NamedNode, reason: str) -> PolicyActivated:
    if not reason.strip():
        raise InputError("an activation or rollback must say why (--reason)")
    replaced = active_version(store)
    state = [Triple(STATE_NODE, ns.RDF_TYPE, ns.POLICY_STATE), Triple(STATE_NODE, ns.ACTIVE_POLICY_SET, stack[-1])]
    for position, version in enumerate(stack, start=1):
        entry = NamedNode(f"{STATE_NODE.value}/activation/{position}")
        state += [
            Triple(STATE_NODE, ns.ACTIVATION, entry),
            Triple(entry, ns.STACK_POSITION, integer(position)),
            Triple(entry, ns.ACTIVATED_SET, version),
        ]
    write = store.prepare(STATE_GRAPH, serialize(state, format=RdfFormat.N_TRIPLES) or b"", RdfFormat.N_TRIPLES)
    now = datetime.now(UTC)
    activity = ActivityRecord(NamedNode(f"{ns.ID_BASE}policy-activation/{uuid.uuid4().hex}"), kind, now, now)
    if kind != ns.POLICY_ACTIVATION:
        activity.add(activity.iri, ns.RDF_TYPE, ns.POLICY_ACTIVATION)
    activity.add(activity.iri, ns.PROV_USED, stack[-1]).add(activity.iri, ns.REASON, text(reason.strip()))
    if replaced is not None:
        activity.add(activity.iri, ns.REPLACED_POLICY_SET, replaced)
    who = ledger.signer.identity.person
    activity.associate(person_node(who), ns.OPERATOR_ROLE).extend(person_triples(who))
    receipt = ledger.append(activity, writes=[write])
    return PolicyActivated(stack[-1].value, None if replaced is None else replaced.value, receipt)


def _same(stored: list[Triple], given: list[Triple]) -> bool:
    """Whether a file's triples are the stored version's (literals in the store's canonical form: 1.0 is 1)."""
    canonical = OxigraphStore()
    canonical.extend(Quad(t.subject, t.predicate, t.object) for t in given)
    read_back = [q.triple for q in canonical]
    return _descriptions(stored, NamedNode(ns.POLICY_BASE)) == _descriptions(read_back, NamedNode(ns.POLICY_BASE))
