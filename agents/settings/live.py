"""A running loop follows changes of the agent settings: at the next round, without a restart.

The Twin's state watch says cheaply whether the settings graph moved (an embedded store runs no
query while nothing was written). A change is applied to the gates and the deadlines, and the
agents are registered again so the records show the values in use from then on. The
forecaster's season shapes the history it read at start, so it changes at the next start.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from enertwin import Twin
from enertwin.agents.loop import AgentLoop
from enertwin.agents.roles.identity import registration
from enertwin.kg import namespaces as ns


class SettingsFollower:
    """Applies the store's agent settings to ``loop`` whenever they changed since the last look."""

    def __init__(self, twin: Twin, loop: AgentLoop, run: str, interval_s: float) -> None:
        """Follow ``twin``'s settings for ``loop`` of run ``run`` (paced for rounds every ``interval_s``)."""
        self._twin, self._loop, self._run, self._interval = twin, loop, run, interval_s
        self._watch = twin.watch_state(ns.AGENT_SETTINGS_GRAPH)
        self._watch.moved()  # what the loop was built with
        self.changes = 0

    def follow(self) -> bool:
        """Apply the settings if they changed (and record the new registration); whether they did."""
        if not self._watch.moved():
            return False
        settings = self._twin.agent_settings().paced(self._interval)
        ingest, coordinator = self._loop.ingest, self._loop.coordinator
        if (ingest.settings, coordinator.deadlines) == (settings.gates, settings.deadlines):
            return False
        ingest.settings = settings.gates
        ingest.agent = dataclasses.replace(ingest.agent, configuration=settings.gates.as_config())
        coordinator.deadlines = settings.deadlines
        coordinator.agent = dataclasses.replace(coordinator.agent, configuration=settings.deadlines.as_config())
        self.changes += 1
        now = datetime.now(UTC)
        self._twin.record_activities([registration(self._loop.agents, now, now, f"{self._run}-s{self.changes}")])
        return True
