"""The safe plan follows the last approved schedule covering the step, and falls back once it is overridden."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import numpy as np
import pytest

from enertwin import OptimiseRequest, Twin
from enertwin.agents.control.safe_plan import safe_plan
from enertwin.kg.provenance.keys import Signer
from enertwin.reasoning.dispatch import DispatchRun


@pytest.fixture(scope="module")
def decided(tmp_path_factory: pytest.TempPathFactory, signing_key: Signer) -> Iterator[tuple[Twin, DispatchRun]]:
    """hv-mixed dispatched over 8 steps on a disk store: the twin and the run."""
    with Twin.open(tmp_path_factory.mktemp("safe-plan") / "store", signer=signing_key) as twin:
        run = twin.optimise(OptimiseRequest.of(case="hv-mixed", start=datetime(2016, 1, 14, 6, 0), steps=8))
        assert run.result.schedule is not None
        yield twin, run


def test_an_approved_schedule_is_the_safe_plan_until_it_is_overridden(decided: tuple[Twin, DispatchRun]) -> None:
    twin, run = decided
    problem, schedule = run.result.problem, run.result.schedule
    assert schedule is not None
    decision = run.record.decision.value
    assert safe_plan(twin, problem, 3).source == "conservative"  # not approved yet
    twin.approve(decision, "checked by the shift lead")
    plan = safe_plan(twin, problem, 3)
    assert (plan.source, plan.decision, plan.at) == ("approved-schedule", decision, problem.horizon.time_at(3))
    thermal = {s.asset: s.p_mw for s in plan.setpoints if s.asset in {u.iri for u in problem.thermal}}
    assert np.allclose([thermal[u.iri] for u in problem.thermal], schedule.thermal_p[:, 3])
    assert plan.market_position_mw == pytest.approx(float(schedule.buy[3] - schedule.sell[3]))
    twin.override(decision, "unit tripped")
    assert safe_plan(twin, problem, 3).source == "conservative"
