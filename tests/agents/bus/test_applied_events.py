"""AppliedEvents: an id is applied once, across reopening, and the mark commits with the effect or not at all."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest

from enertwin.agents.bus.applied import AppliedEvents


def test_an_event_is_applied_once_even_after_reopening(tmp_path: Path) -> None:
    calls: list[str] = []
    with AppliedEvents(tmp_path / "applied.sqlite") as applied:
        assert applied.apply_once("e1", lambda: calls.append("e1") or "done") == "done"
        assert applied.apply_once("e1", lambda: calls.append("again")) is None
        assert "e1" in applied and "e2" not in applied
    with AppliedEvents(tmp_path / "applied.sqlite") as reopened:
        assert reopened.apply_once("e1", lambda: calls.append("after restart")) is None
        assert len(reopened) == 1
    assert calls == ["e1"]


def test_a_failed_apply_marks_nothing_and_writes_nothing(tmp_path: Path) -> None:
    with AppliedEvents(tmp_path / "applied.sqlite") as applied:
        db = applied.connection
        db.execute("CREATE TABLE effect (id TEXT)")

        def failing() -> None:
            db.execute("INSERT INTO effect VALUES ('e1')")
            raise RuntimeError("the plant did not answer")

        with pytest.raises(RuntimeError, match="did not answer"):
            applied.apply_once("e1", failing)
        assert "e1" not in applied
        assert db.execute("SELECT count(*) FROM effect").fetchone()[0] == 0
        applied.apply_once("e1", lambda: db.execute("INSERT INTO effect VALUES ('e1')"))
        assert db.execute("SELECT count(*) FROM effect").fetchone()[0] == 1


def test_ids_older_than_the_horizon_are_pruned(tmp_path: Path) -> None:
    with AppliedEvents(tmp_path / "applied.sqlite", horizon=timedelta(seconds=0.2)) as applied:
        applied.apply_once("old", lambda: None)
        time.sleep(0.3)
        applied.apply_once("new", lambda: None)
        assert applied.prune() == 1
        assert "old" not in applied and "new" in applied
