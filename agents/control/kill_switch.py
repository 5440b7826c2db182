"""Kill switches: global, per asset and per agent; once one is pulled, no actuation in its scope passes.

The pulled switches live in their own graph (``etg:kill-switches``, checked by
``shapes/control.ttl``), so they survive a restart; each pull and release is a signed record
naming who did it (the key's holder, a person whose command a runtime relayed, or the sandbox's
agent), why and when. :meth:`KillSwitches.blocking` is called
for every actuation and must be cheap: the switches are kept in memory and read again only
when the graph moved (a commit this twin tells of, or a new version seen by
:class:`~enertwin.kg.provenance.recorded_state.StateWatch`, which on a remote store asks the
endpoint on each call so that another process's pull stops the very next actuation).
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Literal, get_args

from pyoxigraph import NamedNode, Triple

from enertwin.agents.control.instants import instant
from enertwin.events import CommitEvent
from enertwin.kg import namespaces as ns
from enertwin.kg.errors import InputError
from enertwin.kg.provenance.record import (
    ActivityRecord,
    Term,
    person_name,
    person_node,
    person_triples,
    text,
    timestamp,
)
from enertwin.kg.terms import to_python
from enertwin.twin import Twin

Scope = Literal["global", "asset", "agent"]
SCOPES: tuple[str, ...] = get_args(Scope)
_PACKAGE = "enertwin.agents.control"
_SWITCH_BASE = f"{ns.ID_BASE}kill-switch/"
_CHANGES = (ns.KILL_SWITCH_PULL.value, ns.KILL_SWITCH_RELEASE.value)


@dataclass(frozen=True, slots=True)
class Switch:
    """A pulled kill switch: what it stops, who pulled it, when and why, and the record of the pull."""

    scope: Scope
    target: str | None
    reason: str
    by: str
    at: datetime
    activity: str
    node: str

    def describe(self) -> str:
        """One line for people: which switch, who pulled it and why."""
        what = "the global kill switch" if self.target is None else f"the {self.scope} kill switch of <{self.target}>"
        return f"{what} (pulled by {self.by} at {self.at.isoformat(timespec='seconds')}: {self.reason})"


@dataclass(frozen=True, slots=True)
class _Pulled:
    """The switches as last read, with the graph version they were read at."""

    version: str | None
    everything: Switch | None
    assets: dict[str, Switch]
    agents: dict[str, Switch]


class KillSwitches:
    """The kill switches of one twin; pull and release them, and ask which one blocks an actuation."""

    def __init__(self, twin: Twin) -> None:
        """Read the switches of ``twin``'s store and follow its commits."""
        self._twin = twin
        self._watch = twin.watch_state(ns.KILL_SWITCH_GRAPH)
        self._stale = True
        self._pulled = _Pulled(None, None, {}, {})
        self._reading = threading.Lock()  # one look at a time: a second thread waits for the switches being read
        self._subscription = twin.subscribe(self._heard)

    def close(self) -> None:
        """Stop following the twin's commits."""
        self._subscription.close()

    def __enter__(self) -> KillSwitches:
        """Use as a context manager that stops following the twin."""
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        """Stop following the twin on leaving the ``with`` block."""
        self.close()

    def _heard(self, event: CommitEvent) -> None:
        """A commit of this twin: a pull or release makes the switches in memory stale (runs in the writer's thread)."""
        if event.kind in _CHANGES:
            self._stale = True

    # -- checking ----------------------------------------------------------------------

    def blocking(self, asset: str, agent: str) -> Switch | None:
        """The switch that stops ``agent``'s actuation of ``asset`` (global first, then asset, then agent), or None."""
        pulled = self._current()
        if pulled.everything is not None:
            return pulled.everything
        return pulled.assets.get(asset) or pulled.agents.get(agent)

    def pulled(self) -> list[Switch]:
        """Every pulled switch: global, then assets, then agents."""
        pulled = self._current()
        found = [pulled.everything] if pulled.everything is not None else []
        return found + sorted(pulled.assets.values(), key=_order) + sorted(pulled.agents.values(), key=_order)

    def _current(self) -> _Pulled:
        with self._reading:
            moved = self._watch.moved()  # always asked, so that the watch keeps up with the version
            if moved or self._stale:
                self._stale = False  # before reading: a pull heard meanwhile makes it stale again
                self._pulled = self._read()
            return self._pulled

    def _read(self) -> _Pulled:
        version, rows = self._twin.state_rows(ns.KILL_SWITCH_GRAPH, _PACKAGE, "kill_switches.rq")
        everything: Switch | None = None
        assets: dict[str, Switch] = {}
        agents: dict[str, Switch] = {}
        for row in rows:
            values = {key: to_python(term) for key, term in row.items()}
            scope = str(values["scope"])
            if scope not in SCOPES:
                continue  # the shapes refuse it; never trusted
            by = row["by"]
            switch = Switch(
                scope=scope,  # type: ignore[arg-type]
                target=None if values["target"] is None else str(values["target"]),
                reason=str(values["reason"]),
                by=person_name(by) if isinstance(by, NamedNode) else str(values["by"]),
                at=instant(values["at"]),
                activity=str(values["activity"]),
                node=str(values["switch"]),
            )
            if switch.scope == "global":
                everything = switch
            elif switch.target is not None:
                (assets if switch.scope == "asset" else agents)[switch.target] = switch
        return _Pulled(version, everything, assets, agents)

    # -- pulling and releasing -----------------------------------------------------------

    def pull(self, scope: str, target: str | None, reason: str, by: str | None = None) -> Switch:
        """Pull the switch of ``scope`` over ``target`` (``None`` for global) for ``reason``; recorded.

        An asset switch must name an asset of the store; an agent switch any agent IRI (an agent
        that does not run yet is stopped before it starts). A switch already pulled is bad input.
        ``by`` is who pulls it: a person's name or an agent's IRI (a person's command relayed by a
        runtime, the sandbox's scenario); ``None`` is the holder of the signing key.
        """
        chosen = self._checked(scope, target, reason)
        node = NamedNode(f"{_SWITCH_BASE}{chosen}/{uuid.uuid4().hex}")  # one node per pull: records never disagree
        if chosen == "asset" and target is not None and not self._twin.is_asset(target):
            raise InputError(
                f"no asset <{target}> in the store: an asset kill switch must name an et:Asset (or a subclass)"
            )
        pulled = self._fresh()
        standing = self._standing(pulled, chosen, target)
        if standing is not None:
            raise InputError(f"{standing.describe()} is already pulled; release it first to pull it again")
        who = self._who(by)
        now = datetime.now(UTC)
        activity = ActivityRecord(
            NamedNode(f"{ns.ID_BASE}kill-switch-pull/{uuid.uuid4().hex}"), ns.KILL_SWITCH_PULL, now, now
        )
        facts: dict[NamedNode, Term] = {
            ns.SWITCH_SCOPE: text(chosen),
            ns.REASON: text(reason.strip()),
            ns.PROV_WAS_ATTRIBUTED_TO: who[0],
            ns.PROV_GENERATED_AT: timestamp(now),
        }
        activity.add(activity.iri, ns.REASON, text(reason.strip()))
        if target is not None:
            facts[ns.SWITCH_TARGET] = NamedNode(target)
            activity.add(activity.iri, ns.CONCERNS, NamedNode(target))
        self._describe(activity, "Pull", chosen, target, who)
        activity.generated(node, ns.KILL_SWITCH, facts)
        state = [Triple(node, ns.RDF_TYPE, ns.KILL_SWITCH), Triple(node, ns.PROV_WAS_GENERATED_BY, activity.iri)]
        state += [Triple(node, p, o) for p, o in facts.items()]
        self._twin.record_state(ns.KILL_SWITCH_GRAPH, {node: state}, activity, pulled.version)
        self._stale = True
        switch = self._standing(self._fresh(), chosen, target)
        assert switch is not None, "a committed pull is read back"
        return switch

    def release(self, scope: str, target: str | None, reason: str, by: str | None = None) -> Switch:
        """Release the pulled switch of ``scope`` over ``target`` for ``reason`` (``by`` as for :meth:`pull`).

        Recorded; returns the switch as it was.
        """
        chosen = self._checked(scope, target, reason)
        pulled = self._fresh()
        standing = self._standing(pulled, chosen, target)
        if standing is None:
            what = "the global kill switch" if target is None else f"the {chosen} kill switch of <{target}>"
            raise InputError(f"{what} is not pulled: only a pulled switch can be released (nothing was changed)")
        who = self._who(by)
        now = datetime.now(UTC)
        activity = ActivityRecord(
            NamedNode(f"{ns.ID_BASE}kill-switch-release/{uuid.uuid4().hex}"), ns.KILL_SWITCH_RELEASE, now, now
        )
        node = NamedNode(standing.node)
        activity.add(activity.iri, ns.PROV_INVALIDATED, node).add(activity.iri, ns.REASON, text(reason.strip()))
        activity.add(activity.iri, ns.PROV_WAS_INFORMED_BY, NamedNode(standing.activity))
        if target is not None:
            activity.add(activity.iri, ns.CONCERNS, NamedNode(target))
        self._describe(activity, "Release", chosen, target, who)
        self._twin.record_state(ns.KILL_SWITCH_GRAPH, {node: []}, activity, pulled.version)
        self._stale = True
        return standing

    def _fresh(self) -> _Pulled:
        """The switches as the store has them now (before a pull or release decides on them)."""
        self._stale = True
        return self._current()

    @staticmethod
    def _standing(pulled: _Pulled, scope: Scope, target: str | None) -> Switch | None:
        if scope == "global":
            return pulled.everything
        return (pulled.assets if scope == "asset" else pulled.agents).get(target or "")

    @staticmethod
    def _checked(scope: str, target: str | None, reason: str) -> Scope:
        """The scope, checked; a bad scope, target or empty reason is bad input naming the rule."""
        if scope not in SCOPES:
            raise InputError(f"a kill switch's scope is one of {', '.join(SCOPES)}, not {scope!r}")
        if not reason.strip():
            raise InputError(
                "a kill switch needs a reason (--reason): the record must say why it was pulled or released"
            )
        if scope == "global" and target is not None:
            raise InputError(f"the global kill switch has no target (got {target!r}); use --all alone")
        if scope != "global":
            if not target:
                raise InputError(f"an {scope} kill switch names its {scope} (--{scope} IRI)")
            try:
                NamedNode(target)
            except ValueError as exc:
                raise InputError(f"the {scope} {target!r} is not an IRI: {exc}") from exc
            if "://" not in target:
                raise InputError(f"the {scope} {target!r} is not an absolute IRI (e.g. https://w3id.org/enertwin/id/…)")
        chosen: Scope = scope  # type: ignore[assignment]
        return chosen

    def _who(self, by: str | None) -> tuple[NamedNode, list[Triple]]:
        """The node of who acts (a person, or an agent named by its IRI) and the triples that describe it."""
        if by is not None and "://" in by:
            try:
                agent = NamedNode(by)
            except ValueError as exc:
                raise InputError(f"who pulls or releases a kill switch, {by!r}, is not an agent IRI: {exc}") from exc
            return agent, [Triple(agent, ns.RDF_TYPE, ns.PROV_AGENT)]
        name = (by or self._twin.signer.identity.person).strip()
        if not name:
            raise InputError("who pulls or releases a kill switch must be named (a person's name or an agent IRI)")
        return person_node(name), person_triples(name)

    @staticmethod
    def _describe(
        activity: ActivityRecord, verb: str, scope: Scope, target: str | None, who: tuple[NamedNode, list[Triple]]
    ) -> None:
        what = "the global kill switch" if target is None else f"the {scope} kill switch of <{target}>"
        activity.add(activity.iri, ns.RDFS_LABEL, text(f"{verb} of {what}"))
        activity.associate(who[0], ns.OPERATOR_ROLE).extend(who[1])


def _order(switch: Switch) -> str:
    return switch.target or ""
