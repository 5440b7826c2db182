"""Approvals: pending → approved, rejected or expired, recorded with who and why; a timeout yields the safe plan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from control_portfolio import AGENT, BATTERY  # beside this file

from enertwin import Twin
from enertwin.agents.control.approvals import Approvals
from enertwin.agents.control.safe_plan import safe_plan
from enertwin.agents.events import Proposal, Setpoint
from enertwin.kg.errors import InputError
from enertwin.kg.provenance.keys import Signer
from enertwin.kg.provenance.ledger import entries
from enertwin.reasoning.problem import CostTerms, DispatchProblem, Horizon, Market, StorageUnit, ThermalUnit

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
GAS = "https://w3id.org/enertwin/id/control-test/gas"


def proposal(cost: float = 25_000.0) -> Proposal:
    """A proposal big enough to need a person."""
    point = Setpoint(asset=BATTERY, at=NOW + timedelta(minutes=15), p_mw=0.8)
    return Proposal(source=AGENT, setpoints=(point,), cost_impact_eur=cost)


def test_a_request_waits_then_is_approved_with_who_and_why(twin: Twin) -> None:
    approvals = Approvals(twin)
    asked = proposal()
    pending = approvals.request(asked, datetime.now(UTC) + timedelta(hours=1))
    assert (pending.status, pending.proposal, pending.requested_by) == ("pending", asked, AGENT)
    assert approvals.pending() == [pending] and approvals.status(asked.id) == "pending"
    decided = approvals.decide(asked.id, True, " within budget ")
    assert (decided.status, decided.decided_by, decided.reason) == ("approved", "test-operator", "within budget")
    assert approvals.pending() == [] and approvals.status(asked.id) == "approved"
    assert twin.verify(deep=True).first_bad is None


def test_a_rejection_is_recorded_and_a_decided_action_cannot_be_decided_again(twin: Twin) -> None:
    approvals = Approvals(twin)
    asked = proposal()
    approvals.request(asked, datetime.now(UTC) + timedelta(hours=1))
    decided = approvals.decide(pending_iri(approvals, asked.id), False, "too expensive")
    assert decided.status == "rejected"
    with pytest.raises(InputError, match="is rejected, not pending"):
        approvals.decide(asked.id, True, "changed my mind")
    assert approvals.status(asked.id) == "rejected"


def pending_iri(approvals: Approvals, proposal_id: str) -> str:
    """The request IRI of a proposal (approve and reject take it as well as the id)."""
    found = approvals.find(proposal_id)
    assert found is not None
    return found.request


def test_expire_marks_only_the_requests_past_their_deadline(twin: Twin) -> None:
    approvals = Approvals(twin)
    soon, later = proposal(), proposal(30_000.0)
    approvals.request(soon, NOW + timedelta(minutes=5))
    approvals.request(later, NOW + timedelta(hours=2))
    assert approvals.expire(NOW) == []
    expired = approvals.expire(NOW + timedelta(minutes=5))
    assert [p.proposal_id for p in expired] == [soon.id] and expired[0].status == "expired"
    assert [p.proposal_id for p in approvals.pending()] == [later.id]
    assert approvals.expire(NOW + timedelta(minutes=6)) == []  # marked once


def test_an_action_past_its_deadline_cannot_be_approved(twin: Twin) -> None:
    approvals = Approvals(twin)
    asked = proposal()
    approvals.request(asked, NOW)
    before = len(entries(twin._store))
    with pytest.raises(InputError, match="passed its deadline"):
        approvals.decide(asked.id, True, "late but fine")
    approvals.expire(datetime.now(UTC))
    with pytest.raises(InputError, match="is expired, not pending"):
        approvals.decide(asked.id, True, "late but fine")
    assert len(entries(twin._store)) == before + 1  # the expiry only


@pytest.mark.parametrize(
    ("action", "approve", "reason", "message"),
    [("nope", True, "fine", "no action 'nope' waits for approval"), ("ID", True, " ", "needs a reason")],
)
def test_bad_decisions_name_the_rule_and_change_nothing(
    twin: Twin, action: str, approve: bool, reason: str, message: str
) -> None:
    approvals = Approvals(twin)
    asked = proposal()
    approvals.request(asked, datetime.now(UTC) + timedelta(hours=1))
    before = len(entries(twin._store))
    with pytest.raises(InputError, match=message):
        approvals.decide(asked.id if action == "ID" else action, approve, reason)
    assert len(entries(twin._store)) == before and approvals.status(asked.id) == "pending"


def test_a_proposal_is_requested_once_and_needs_an_instant(twin: Twin) -> None:
    approvals = Approvals(twin)
    asked = proposal()
    with pytest.raises(InputError, match="must be an instant"):
        approvals.request(asked, datetime(2026, 12, 3, 13, 0))
    approvals.request(asked, NOW)
    with pytest.raises(InputError, match="already has an approval request"):
        approvals.request(asked, NOW)


def test_requests_survive_a_restart(tmp_path: Path, signing_key: Signer) -> None:
    asked = proposal()
    with Twin.open(tmp_path / "store", signer=signing_key) as first:
        Approvals(first).request(asked, NOW)
    with Twin.open(tmp_path / "store", signer=signing_key) as again:
        assert Approvals(again).status(asked.id) == "pending"


def test_the_approvals_report_shows_every_status(twin: Twin) -> None:
    approvals = Approvals(twin)
    waiting, yes, no, late = proposal(), proposal(), proposal(), proposal()
    for asked in (waiting, yes, no):
        approvals.request(asked, datetime.now(UTC) + timedelta(hours=1))
    approvals.request(late, NOW)
    approvals.decide(yes.id, True, "ok")
    approvals.decide(no.id, False, "no")
    approvals.expire(datetime.now(UTC))
    rows = twin.report("approvals").records()
    statuses = {row["action"]: row["status"] for row in rows if row["kind"] == "request"}
    assert statuses == {waiting.id: "pending", yes.id: "approved", no.id: "rejected", late.id: "expired"}
    decided = {(row["kind"], row["action"], row["by"], row["reason"]) for row in rows if row["kind"] != "request"}
    assert ("approval", yes.id, "test-operator", "ok") in decided
    assert ("rejection", no.id, "test-operator", "no") in decided
    assert any(kind == "expiry" and action == late.id for kind, action, _, _ in decided)


def small_problem(grid: str) -> DispatchProblem:
    """A problem of one gas unit and the battery, built by hand (the conservative plan needs no more)."""
    terms = CostTerms("entry", "fuel", "gas", 60.0, 10.0, 0.2, 1.0, 1.0)
    gas = ThermalUnit(GAS, "gas", 2.0, 10.0, terms, 3.0, 4, 4, True, None, initial_output=8.0)
    battery = StorageUnit(BATTERY, "battery", 1.0, 4.0, 0.9, 0.1, start_mwh=2.5)
    market = Market("market", np.zeros(4), 1.0, None, (), "test")
    horizon = Horizon(NOW, 0, 4, 0.25)
    return DispatchProblem("control", grid, "costs", horizon, (gas,), (), (battery,), (), market, 3000.0, 80.0)


def test_an_approval_timeout_yields_the_conservative_safe_plan(twin: Twin) -> None:
    approvals = Approvals(twin)
    asked = proposal()
    approvals.request(asked, NOW)
    expired = approvals.expire(NOW + timedelta(seconds=1))
    assert [p.proposal_id for p in expired] == [asked.id]
    problem = small_problem("https://w3id.org/enertwin/id/control-test/grid")
    previous = (Setpoint(asset=GAS, at=NOW, p_mw=12.0, committed=True),)  # above its 10 MW limit now
    plan = safe_plan(twin, problem, 1, previous, market_position_mw=-3.0)
    assert plan.source == "conservative" and plan.decision is None and plan.market_position_mw == -3.0
    by_asset = {s.asset: s for s in plan.setpoints}
    assert by_asset[GAS].p_mw == pytest.approx(10.0) and by_asset[GAS].committed  # back inside, within one ramp
    assert by_asset[BATTERY].p_mw == 0.0 and by_asset[BATTERY].soc_mwh == 2.5  # idle, as it was
    held = safe_plan(twin, problem, 1)  # no previous set point: the unit's initial output, held
    assert {s.asset: s.p_mw for s in held.setpoints} == {GAS: 8.0, BATTERY: 0.0}
