"""The agents' settings live in the graph: shipped defaults load and validate, a change is validated and
recorded and used by the next run (and by a running loop at its next round), a bad value changes nothing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from enertwin import Twin
from enertwin.agents.bus.memory import MemoryBus
from enertwin.agents.control.approvals import Approvals
from enertwin.agents.control.kill_switch import KillSwitches
from enertwin.agents.loop import SUBJECT_POLICIES
from enertwin.agents.policy.engine import PolicyEngine
from enertwin.agents.roles.actuator import Actuator
from enertwin.agents.runtime import Wiring, build_loop
from enertwin.agents.settings.live import SettingsFollower
from enertwin.agents.settings.values import SETTINGS, shipped_settings
from enertwin.agents.sim.plant import SandboxPlant
from enertwin.agents.sim.simulation import Portfolio, SimulationRun, simulate
from enertwin.api.cli import app
from enertwin.kg import namespaces as ns
from enertwin.kg.errors import InputError, ValidationError
from enertwin.reasoning.solver import SolverSettings

from .conftest import HORIZON, short_config

runner = CliRunner()
BAD = [
    ("gate-max-age", "-5", "gate-max-age"),
    ("gate-frozen-count", "1", "gate-frozen-count"),
    ("gate-range-margin", "1.5", "gate-range-margin"),
    ("gate-range-margin", "-0.1", "gate-range-margin"),
    ("proposal-deadline", "0", "proposal-deadline"),
    ("verdict-deadline", "-1", "verdict-deadline"),
    ("approval-wait", "-0.5", "approval-wait"),
    ("approval-window", "0", "approval-window"),
    ("forecast-season", "0.1", "forecast-season"),
]


@pytest.fixture()
def fresh(tmp_path: Path) -> Iterator[Twin]:
    with Twin.open(tmp_path / "store") as twin:
        yield twin


@pytest.fixture()
def restored(twin: Twin) -> Iterator[Twin]:
    """The session's twin, its settings put back as shipped after the test."""
    yield twin
    now = twin.agent_settings()
    for setting in SETTINGS:
        shipped = shipped_settings().values[setting.name]
        if now.values[setting.name] != shipped:
            text = str(int(shipped)) if setting.name == "gate-frozen-count" else repr(shipped)
            twin.set_agent_setting(setting.name, text, "test: back to the shipped value")


def test_the_shipped_settings_are_the_roles_values() -> None:
    shipped = shipped_settings()
    assert shipped.gates.max_age == timedelta(minutes=30) and shipped.gates.frozen_count == 24
    assert shipped.gates.range_margin == 0.25 and shipped.season_steps == 96
    assert (shipped.deadlines.proposal, shipped.deadlines.verdict, shipped.deadlines.approval_wait) == (30, 5, 0.2)
    assert shipped.deadlines.approval_window == timedelta(minutes=15)
    assert shipped.paced(0.3).deadlines.telemetry == pytest.approx(0.1)


def test_defaults_load_once_recorded_and_validate(fresh: Twin) -> None:
    assert fresh.agent_settings().source.startswith("shipped")  # reading writes nothing
    assert ns.AGENT_SETTINGS_GRAPH.value not in fresh.graphs()
    loaded = fresh.agent_settings(load=True)
    assert loaded.source.startswith("store graph version") and loaded.values == shipped_settings().values
    version = fresh.graphs()[ns.AGENT_SETTINGS_GRAPH.value]
    assert fresh.agent_settings(load=True).values == loaded.values
    assert fresh.graphs()[ns.AGENT_SETTINGS_GRAPH.value] == version  # loaded once
    assert [v for v in fresh.validate() if ns.AGENT_SETTINGS_NODE.value in v.focus] == []
    assert fresh.verify().ok


@pytest.mark.parametrize(("name", "value", "named"), BAD)
def test_a_bad_value_is_refused_naming_the_setting_and_changes_nothing(
    fresh: Twin, name: str, value: str, named: str
) -> None:
    fresh.agent_settings(load=True)
    version, records = fresh.graphs()[ns.AGENT_SETTINGS_GRAPH.value], len(fresh.report("activities").records())
    with pytest.raises(ValidationError) as refused:
        fresh.set_agent_setting(name, value, "trying a bad value")
    assert named in str(refused.value) and "nothing was written" in str(refused.value)
    assert fresh.graphs()[ns.AGENT_SETTINGS_GRAPH.value] == version
    assert fresh.agent_settings().values == shipped_settings().values
    assert len(fresh.report("activities").records()) == records


def test_unknown_settings_text_and_a_missing_reason_are_input_errors(fresh: Twin) -> None:
    with pytest.raises(InputError, match="known: gate-max-age"):
        fresh.set_agent_setting("max-age", "10", "why")
    with pytest.raises(InputError, match="not a valid"):
        fresh.set_agent_setting("gate-frozen-count", "many", "why")
    with pytest.raises(InputError, match="--reason"):
        fresh.set_agent_setting("gate-frozen-count", "12", " ")


def test_the_cli_shows_and_changes_a_setting_validated_and_recorded(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    changed = runner.invoke(app, ["agents", "set", "gate-max-age", "45", "--reason", "slow meters", "--store", store])
    assert changed.exit_code == 0, changed.output
    assert "gate-max-age: 30 → 45" in changed.output and "recorded as" in changed.output
    shown = runner.invoke(app, ["agents", "settings", "--json", "--store", store])
    assert shown.exit_code == 0, shown.output
    values = {row["setting"]: row["value"] for row in json.loads(shown.output)["settings"]}
    assert values["gate-max-age"] == 45 and values["gate-frozen-count"] == 24
    refused = runner.invoke(app, ["agents", "set", "gate-frozen-count", "1", "--reason", "x", "--store", store])
    assert refused.exit_code == 5 and "gate-frozen-count" in refused.output
    table = runner.invoke(app, ["agents", "settings", "--store", store])
    assert table.exit_code == 0 and "gate-frozen-count" in table.output and "45" in table.output
    with Twin.open(store) as twin:
        changes = [r for r in twin.report("activities").records() if "Change" in str(r["type"])]
        assert len(changes) == 1 and twin.agent_settings().gates.max_age == timedelta(minutes=45)


def test_the_next_run_uses_a_changed_setting(restored: Twin, portfolio: Portfolio) -> None:
    restored.set_agent_setting("proposal-deadline", "0.000001", "test: a deadline no solver meets")

    async def go() -> SimulationRun:
        bus = MemoryBus(SUBJECT_POLICIES)
        try:
            return await simulate(restored, short_config(1), bus, None, portfolio)
        finally:
            await bus.close()

    result = asyncio.run(go())
    (only,) = result.rounds
    assert [(i.kind, i.subject) for i in only.incidents] == [("timeout", "proposal")]
    assert only.decision.fallback == "conservative"
    configuration = restored.query(
        "PREFIX et: <https://w3id.org/enertwin/ontology#> SELECT ?c WHERE { GRAPH ?g { "
        f"<{ns.ID_BASE}agent-registration/{result.run}> a et:AgentRegistration . "
        f"<{ns.ID_BASE}agent/coordinator> et:agentConfiguration ?c }} }}"
    ).rows
    assert [json.loads(str(r["c"]))["proposal_s"] for r in configuration] == [0.000001]


def test_a_running_loop_follows_a_change_at_its_next_round(restored: Twin, portfolio: Portfolio) -> None:
    base, facts = portfolio.base, portfolio.facts
    settings = SolverSettings(time_limit=5.0, workers=1)
    wiring = Wiring(MemoryBus(SUBJECT_POLICIES), "follow", HORIZON, settings, restored.agent_settings(load=True))
    safety = (PolicyEngine(restored), KillSwitches(restored), Approvals(restored))
    loop = build_loop(restored, base, facts, wiring, safety, SandboxPlant(base, facts.emission_factors), "sandbox")
    assert isinstance(loop.actuator, Actuator)
    follower = SettingsFollower(restored, loop, "follow", 900.0)
    assert not follower.follow()
    restored.set_agent_setting("gate-frozen-count", "5", "test: stricter frozen gate")
    assert follower.follow()
    assert loop.ingest.settings.frozen_count == 5 and loop.ingest.agent.configuration["frozen_count"] == 5
    assert not follower.follow()
