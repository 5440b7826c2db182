"""``enertwin kill``, ``release``, ``approvals list``, ``approve`` and ``reject`` end to end; bad input exits 2 and
changes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from control_portfolio import AGENT, BATTERY, add_portfolio
from typer.testing import CliRunner

from enertwin import Twin
from enertwin.agents.control.approvals import Approvals
from enertwin.agents.events import Proposal, Setpoint
from enertwin.api.cli import app
from enertwin.kg.provenance.keys import Signer
from enertwin.kg.provenance.ledger import entries
from enertwin.kg.store import Store

runner = CliRunner()


@pytest.fixture
def store(tmp_path: Path, signing_key: Signer) -> str:
    """A disk store holding the small grid of the control tests."""
    location = tmp_path / "store"
    with Twin.open(location, signer=signing_key) as twin:
        add_portfolio(twin)
    return str(location)


def _records(store: str) -> int:
    with Store.open(store, read_only=True) as opened:
        return len(entries(opened))


def _request(store: str, signing_key: Signer, deadline: datetime) -> str:
    point = Setpoint(asset=BATTERY, at=datetime.now(UTC), p_mw=0.5)
    asked = Proposal(source=AGENT, setpoints=(point,), cost_impact_eur=50_000.0)
    with Twin.open(store, signer=signing_key) as twin:
        Approvals(twin).request(asked, deadline)
    return asked.id


def test_kill_and_release_each_scope(store: str) -> None:
    for option in (["--all"], ["--asset", BATTERY], ["--agent", AGENT]):
        pulled = runner.invoke(app, ["kill", *option, "--reason", "storm", "--store", store])
        assert pulled.exit_code == 0, pulled.output
        assert "pulled" in pulled.output and "test-operator" in pulled.output
        released = runner.invoke(app, ["release", *option, "--reason", "calm", "--store", store])
        assert released.exit_code == 0, released.output
    report = runner.invoke(app, ["report", "kill-switches", "--store", store, "--format", "json"])
    rows = json.loads(report.output)
    assert [(r["action"], r["scope"], r["reason"], r["by"]) for r in rows] == [
        (action, scope, reason, "test-operator")
        for scope in ("global", "asset", "agent")
        for action, reason in (("pull", "storm"), ("release", "calm"))
    ]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["kill", "--reason", "x"], "exactly one of --all, --asset IRI or --agent IRI"),
        (["kill", "--all", "--agent", AGENT, "--reason", "x"], "exactly one of --all"),
        (["kill", "--all"], "needs a reason"),
        (["kill", "--all", "--reason", "  "], "needs a reason"),
        (["kill", "--asset", "https://w3id.org/enertwin/id/unknown", "--reason", "x"], "no asset <https://w3id.org/"),
        (["kill", "--asset", "not an iri", "--reason", "x"], "is not an IRI"),
        (["release", "--all", "--reason", "x"], "is not pulled"),
        (["release", "--asset", BATTERY, "--reason", "x"], "is not pulled"),
        (["approve", "unknown-action", "--reason", "x"], "no action 'unknown-action' waits for approval"),
        (["approve", "not an iri"], "is not an IRI"),
        (["reject", "unknown-action", "--reason", "x"], "no action 'unknown-action' waits for approval"),
        (["reject", "some-action"], "needs a reason"),
    ],
)
def test_bad_input_exits_2_naming_the_rule_and_changes_nothing(store: str, arguments: list[str], message: str) -> None:
    before = _records(store)
    ran = runner.invoke(app, [*arguments, "--store", store])
    assert ran.exit_code == 2, ran.output
    assert message in " ".join(ran.output.split())
    assert "Traceback" not in ran.output
    assert _records(store) == before


def test_approvals_list_approve_and_reject(store: str, signing_key: Signer) -> None:
    later = datetime.now(UTC) + timedelta(hours=1)
    first, second = _request(store, signing_key, later), _request(store, signing_key, later)
    listed = runner.invoke(app, ["approvals", "list", "--store", store, "--json"])
    assert listed.exit_code == 0, listed.output
    assert sorted(r["action"] for r in json.loads(listed.output)) == sorted([first, second])
    refused = runner.invoke(app, ["approve", first, "--store", store])
    assert refused.exit_code == 2 and "needs a reason" in refused.output
    approved = runner.invoke(app, ["approve", first, "--reason", "worth it", "--store", store])
    assert approved.exit_code == 0, approved.output
    rejected = runner.invoke(app, ["reject", second, "--reason", "too costly", "--store", store])
    assert rejected.exit_code == 0, rejected.output
    again = runner.invoke(app, ["approve", second, "--reason", "after all", "--store", store])
    assert again.exit_code == 2 and "is rejected, not pending" in again.output
    every = json.loads(runner.invoke(app, ["approvals", "list", "--all", "--store", store, "--json"]).output)
    assert {r["action"]: (r["status"], r["decided_by"], r["reason"]) for r in every} == {
        first: ("approved", "test-operator", "worth it"),
        second: ("rejected", "test-operator", "too costly"),
    }
    assert json.loads(runner.invoke(app, ["approvals", "list", "--store", store, "--json"]).output) == []
    report = json.loads(runner.invoke(app, ["report", "approvals", "--store", store, "--format", "json"]).output)
    assert {(r["kind"], r["action"], r["status"]) for r in report} >= {
        ("request", first, "approved"),
        ("approval", first, "approved"),
        ("rejection", second, "rejected"),
    }


def test_an_action_past_its_deadline_cannot_be_approved(store: str, signing_key: Signer) -> None:
    late = _request(store, signing_key, datetime.now(UTC) - timedelta(seconds=1))
    before = _records(store)
    ran = runner.invoke(app, ["approve", late, "--reason", "sorry, late", "--store", store])
    assert ran.exit_code == 2 and "passed its deadline" in ran.output
    assert _records(store) == before
