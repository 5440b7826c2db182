"""Concurrent writers on one remote store: appending is a compare-and-set, so the ledger never forks."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from pyoxigraph import Literal, NamedNode

from enertwin.kg import namespaces as ns
from enertwin.kg.provenance.keys import Identity, Signer
from enertwin.kg.provenance.ledger import Ledger, entries, record_node
from enertwin.kg.provenance.record import ActivityRecord
from enertwin.kg.provenance.verify import verify
from enertwin.kg.store import META_GRAPH, Store

WRITER = Path(__file__).with_name("ledger_writer.py")
WRITERS = 5
EACH = 6


@pytest.mark.xfail(
    strict=False,  # the race forks often, not always
    reason="oxigraph serve 0.5 runs concurrent updates on snapshots without conflict detection: "
    "a guarded DELETE/INSERT ... WHERE can apply twice (bench/concurrent_writers_bench.py counts it)",
)
def test_concurrent_writers_never_fork_the_ledger(oxigraph_server: str, tmp_path: Path) -> None:
    httpx.post(f"{oxigraph_server}/update", data={"update": "DROP ALL"}, timeout=30).raise_for_status()
    Store.open(oxigraph_server, series_path=tmp_path / "series.duckdb").close()  # initialised once, before the race
    start_at = time.time() + 3
    processes = [
        subprocess.Popen(
            [sys.executable, str(WRITER), oxigraph_server, str(tmp_path / f"client{i}"), str(EACH), str(start_at)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(WRITERS)
    ]
    outcomes = [p.communicate(timeout=300) for p in processes]
    for process, (_, err) in zip(processes, outcomes, strict=True):
        assert process.returncode == 0, err
    got = [json.loads(out) for out, _ in outcomes]
    with Store.open(oxigraph_server, series_path=tmp_path / "series.duckdb") as store:
        listed = entries(store)
        seqs = [e.seq for e in listed]
        assert seqs == list(range(1, WRITERS * (EACH + 1) + 1))  # each writer's key publication and its records
        stored = {e.seq: e.record_hash for e in listed}
        for outcome in got:
            for seq, digest in outcome["records"]:
                assert stored[seq] == digest  # every writer's record is the one stored under its number
        assert verify(store).ok


def test_a_writer_that_lost_the_race_retries_on_the_new_head(tmp_path: Path, monkeypatch) -> None:
    store = Store.open(None)
    first = Ledger(store, Signer.create(tmp_path / "a", Identity("first")))
    second = Ledger(store, Signer.create(tmp_path / "b", Identity("second")))
    first.publish_key()
    second.publish_key()
    commit = store.commit
    raced = []

    def interleaved(*args, **kwargs):  # type: ignore[no-untyped-def]
        if not raced:  # the other writer appends between this one's read of the head and its commit
            raced.append(True)
            first.append(_action("first"))
        return commit(*args, **kwargs)

    monkeypatch.setattr(store, "commit", interleaved)
    receipt = second.append(_action("second"))
    monkeypatch.undo()
    listed = entries(store)
    assert [e.seq for e in listed] == [1, 2, 3, 4]  # no two records at one number
    assert receipt.entry.seq == 4 and second.retries == 1
    assert {e.seq: e.record_hash for e in listed}[4] == receipt.entry.record_hash
    assert verify(store).ok


def test_a_forked_ledger_is_named_as_forked(tmp_path: Path) -> None:
    signer = Signer.create(tmp_path / "keys", Identity("forked"))
    store = Store.open(None)
    ledger = Ledger(store, signer)
    ledger.publish_key()
    second = record_node(1)
    store.backend.update(  # what two writers at one sequence number left before appending was a compare-and-set
        f"INSERT DATA {{ GRAPH {META_GRAPH} {{ {second} {ns.RECORD_HASH} {Literal('ab' * 32)} }} }}"
    )
    fresh = Ledger(store, signer)
    fresh._published = True
    try:
        fresh.append_many([_action("after-fork")])
    except Exception as error:
        message = str(error)
    else:
        raise AssertionError("appending to a forked ledger was accepted")
    assert "forked at sequence 1" in message and "ab" * 32 in message and "gaps" not in message


def _action(name: str) -> ActivityRecord:
    now = datetime.now(UTC)
    return ActivityRecord(NamedNode(f"{ns.ID_BASE}activity/{name}"), ns.AGENT_ACTION, now, now)
