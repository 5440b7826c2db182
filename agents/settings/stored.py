"""The agent settings in the store: loaded from the shipped Turtle (recorded) on first use, read, changed.

One graph (``ns.AGENT_SETTINGS_GRAPH``) holds one ``et:AgentSettings`` node. A change is the
Twin's recorded change of one value (:func:`~enertwin.kg.provenance.recorded_change.set_value`):
validated by ``shapes/agent_settings.ttl`` on what it touches, signed, with who and why; a value
the shapes reject changes nothing.
"""

from __future__ import annotations

import hashlib

from pyoxigraph import RdfFormat

from enertwin.agents.settings.values import (
    DEFAULT_FILE,
    QUERY,
    AgentSettings,
    default_settings_turtle,
    find_setting,
    settings_from_rows,
    shipped_settings,
)
from enertwin.kg import namespaces as ns
from enertwin.kg.errors import InputError
from enertwin.kg.provenance.ledger import Ledger, Receipt
from enertwin.kg.provenance.recorded_change import ChangeReceipt, set_value
from enertwin.kg.provenance.recorded_state import live_version
from enertwin.kg.provenance.recorded_write import Source, replace_recorded
from enertwin.kg.queries import load_query
from enertwin.kg.store import Store


def read_settings(store: Store) -> AgentSettings:
    """The settings in the store; the shipped ones while the store has none."""
    found = live_version(store, ns.AGENT_SETTINGS_GRAPH)
    if found is None:
        return shipped_settings()
    solutions = store.query(load_query("enertwin.agents.settings", QUERY), {"node": ns.AGENT_SETTINGS_NODE})
    rows = [{"property": s["property"], "value": s["value"]} for s in solutions]
    return settings_from_rows(rows, f"store graph version <{found[1].value}>")


def ensure_settings(store: Store, ledger: Ledger) -> Receipt | None:
    """Load the shipped settings into the store (a recorded import) unless it has some; the import's receipt."""
    if ns.AGENT_SETTINGS_GRAPH in store.live():
        return None
    turtle = default_settings_turtle()
    source = Source(f"agent settings agents/settings/{DEFAULT_FILE}", f"SHA-256 {hashlib.sha256(turtle).hexdigest()}")
    return replace_recorded(ledger, ns.AGENT_SETTINGS_GRAPH, turtle, RdfFormat.TURTLE, source)[1]


def change_setting(store: Store, ledger: Ledger, name: str, value: str, reason: str) -> ChangeReceipt:
    """Set one setting (by name) to ``value`` in its unit, validated and recorded; a bad value changes nothing."""
    if not reason.strip():
        raise InputError("a change of an agent setting must say why (--reason)")
    setting = find_setting(name)
    ensure_settings(store, ledger)
    return set_value(store, ledger, ns.AGENT_SETTINGS_NODE.value, setting.predicate.value, value, reason.strip())
