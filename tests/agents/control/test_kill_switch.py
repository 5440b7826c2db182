"""Kill switches: each scope blocks and releases, the state survives a restart, another twin's or process's pull
is seen on the next check, and every pull and release is recorded with who and why."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from control_portfolio import AGENT, BATTERY, BUS, add_portfolio  # beside this file

from enertwin import Twin
from enertwin.agents.control.kill_switch import KillSwitches
from enertwin.kg.errors import InputError
from enertwin.kg.provenance.keys import Signer
from enertwin.kg.provenance.ledger import entries
from enertwin.kg.store import Store

OTHER_AGENT = "https://w3id.org/enertwin/id/agent/forecaster"
OTHER_ASSET = "https://w3id.org/enertwin/id/control-test/elsewhere"


@pytest.mark.parametrize(
    ("scope", "target", "blocked", "passes"),
    [
        ("global", None, [(BATTERY, AGENT), (OTHER_ASSET, OTHER_AGENT)], []),
        ("asset", BATTERY, [(BATTERY, AGENT), (BATTERY, OTHER_AGENT)], [(OTHER_ASSET, AGENT)]),
        ("agent", AGENT, [(BATTERY, AGENT), (OTHER_ASSET, AGENT)], [(BATTERY, OTHER_AGENT)]),
    ],
)
def test_each_scope_blocks_its_actuations_until_released(
    twin: Twin,
    scope: str,
    target: str | None,
    blocked: list[tuple[str, str]],
    passes: list[tuple[str, str]],
) -> None:
    with KillSwitches(twin) as switches:
        assert all(switches.blocking(a, g) is None for a, g in blocked + passes)
        pulled = switches.pull(scope, target, "  storm warning ")
        assert (pulled.scope, pulled.target, pulled.reason) == (scope, target, "storm warning")
        assert pulled.by == "test-operator"
        assert [switches.blocking(a, g) for a, g in blocked] == [pulled] * len(blocked)
        assert all(switches.blocking(a, g) is None for a, g in passes)
        assert switches.pulled() == [pulled]
        released = switches.release(scope, target, "storm over")
        assert released == pulled
        assert all(switches.blocking(a, g) is None for a, g in blocked + passes)
        assert switches.pulled() == []
        again = switches.pull(scope, target, "second storm")  # the same switch, pulled and released again
        assert [switches.blocking(a, g) for a, g in blocked] == [again] * len(blocked)
        switches.release(scope, target, "second storm over")
    assert twin.verify(deep=True).first_bad is None
    assert not [v for v in twin.validate() if v.severity.value == "Violation"]


def test_global_switch_comes_first(twin: Twin) -> None:
    with KillSwitches(twin) as switches:
        switches.pull("asset", BATTERY, "repair")
        everything = switches.pull("global", None, "grid emergency")
        assert switches.blocking(BATTERY, AGENT) == everything
        switches.release("global", None, "emergency over")
        blocking = switches.blocking(BATTERY, AGENT)
        assert blocking is not None and blocking.scope == "asset"


def test_a_pulled_switch_survives_a_restart(store_path: Path, signing_key: Signer) -> None:
    with Twin.open(store_path, signer=signing_key) as first:
        add_portfolio(first)
        KillSwitches(first).pull("asset", BATTERY, "inverter fault")
    with Twin.open(store_path, signer=signing_key) as again:
        blocking = KillSwitches(again).blocking(BATTERY, AGENT)
    assert blocking is not None and blocking.reason == "inverter fault" and blocking.by == "test-operator"


def test_another_twin_on_the_same_store_is_seen_on_the_next_check(tmp_path: Path, signing_key: Signer) -> None:
    with Store.open(tmp_path / "store") as store:
        watching, pulling = Twin(store, signer=signing_key), Twin(store, signer=signing_key)
        add_portfolio(pulling)
        switches = KillSwitches(watching)
        assert switches.blocking(BATTERY, AGENT) is None  # read once, kept in memory
        KillSwitches(pulling).pull("agent", AGENT, "runaway optimizer")
        blocking = switches.blocking(BATTERY, AGENT)
        assert blocking is not None and blocking.reason == "runaway optimizer"
        KillSwitches(pulling).release("agent", AGENT, "fixed")
        assert switches.blocking(BATTERY, AGENT) is None


def test_another_process_on_a_remote_store_is_seen_on_the_next_check(
    empty_remote: str, tmp_path: Path, signing_key: Signer
) -> None:
    with Twin(Store.open(empty_remote, series_path=tmp_path / "series.duckdb"), signer=signing_key) as twin:
        add_portfolio(twin)
        switches = KillSwitches(twin)
        assert switches.blocking(BATTERY, AGENT) is None
        command = [sys.executable, "-m", "enertwin.api.cli", "kill", "--asset", BATTERY, "--reason", "fire alarm"]
        ran = subprocess.run(
            [*command, "--store", empty_remote], capture_output=True, text=True, env=dict(os.environ), timeout=120
        )
        assert ran.returncode == 0, ran.stderr
        blocking = switches.blocking(BATTERY, AGENT)
        assert blocking is not None and blocking.reason == "fire alarm"


def test_pulls_and_releases_are_reported_with_who_and_why(twin: Twin) -> None:
    with KillSwitches(twin) as switches:
        switches.pull("global", None, "storm")
        switches.release("global", None, "calm")
        switches.pull("asset", BATTERY, "maintenance")
    report = twin.report("kill-switches")
    rows = [(r["action"], r["scope"], r["target"], r["by"], r["reason"]) for r in report.records()]
    assert rows == [
        ("pull", "global", None, "test-operator", "storm"),
        ("release", "global", None, "test-operator", "calm"),
        ("pull", "asset", BATTERY, "test-operator", "maintenance"),
    ]


@pytest.mark.parametrize(
    ("action", "scope", "target", "reason", "message"),
    [
        ("pull", "asset", "https://w3id.org/enertwin/id/nope", "x", "no asset <https://w3id.org/enertwin/id/nope>"),
        ("pull", "asset", BUS, "x", f"no asset <{BUS}>"),  # a bus is no asset
        ("pull", "asset", "not an iri", "x", "is not an IRI"),
        ("pull", "asset", None, "x", "names its asset"),
        ("pull", "global", BATTERY, "x", "has no target"),
        ("pull", "plant", BATTERY, "x", "scope is one of global, asset, agent"),
        ("pull", "global", None, "  ", "needs a reason"),
        ("release", "global", None, "x", "is not pulled"),
        ("release", "asset", BATTERY, "x", "is not pulled"),
    ],
)
def test_bad_input_names_the_rule_and_changes_nothing(
    twin: Twin, action: str, scope: str, target: str | None, reason: str, message: str
) -> None:
    switches = KillSwitches(twin)
    before = len(entries(twin._store))
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        getattr(switches, action)(scope, target, reason)
    assert len(entries(twin._store)) == before
    assert switches.pulled() == []


def test_pulling_a_pulled_switch_is_refused(twin: Twin) -> None:
    switches = KillSwitches(twin)
    switches.pull("agent", AGENT, "first")
    with pytest.raises(InputError, match="already pulled"):
        switches.pull("agent", AGENT, "second")
    assert [s.reason for s in switches.pulled()] == ["first"]
