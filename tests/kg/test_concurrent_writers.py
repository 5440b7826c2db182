"""Concurrent writers on one remote store: appending is a compare-and-set, serialised by the shared series
database (``oxigraph serve`` does not serialise updates), so the ledger never forks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from pyoxigraph import Literal, NamedNode

from enertwin.kg import namespaces as ns
from enertwin.kg.errors import CommitConflict
from enertwin.kg.provenance.keys import Identity, Signer
from enertwin.kg.provenance.ledger import Ledger, entries, record_node
from enertwin.kg.provenance.record import ActivityRecord
from enertwin.kg.provenance.verify import verify
from enertwin.kg.store import META_GRAPH, Store

WRITER = Path(__file__).with_name("ledger_writer.py")
WRITERS = 5
EACH = 6
CLIENTS, INCREMENTS = 6, 30
OPTIMIZERS = 3
COUNTER, COUNT = NamedNode("urn:test:counter"), NamedNode("urn:test:count")


def test_concurrent_writers_never_fork_the_ledger(oxigraph_server: str, series_database: str, tmp_path: Path) -> None:
    """N processes append at once to one `oxigraph serve` whose series database serialises the commits."""
    httpx.post(f"{oxigraph_server}/update", data={"update": "DROP ALL"}, timeout=30).raise_for_status()
    Store.open(oxigraph_server, series_database=series_database).close()  # created once, before the race
    password = urlsplit(series_database).password or ""
    start_at = time.time() + 3
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                str(WRITER),
                _spelling(oxigraph_server, i),
                str(tmp_path / f"client{i}"),
                str(EACH),
                str(start_at),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PGPASSWORD": password},  # each finds the database in the store, as on its own machine
        )
        for i in range(WRITERS)
    ]
    outcomes = [p.communicate(timeout=300) for p in processes]
    for process, (_, err) in zip(processes, outcomes, strict=True):
        assert process.returncode == 0, err
    got = [json.loads(out) for out, _ in outcomes]
    with Store.open(oxigraph_server, series_database=series_database) as store:
        listed = entries(store)
        seqs = [e.seq for e in listed]
        assert seqs == list(range(1, WRITERS * (EACH + 1) + 1))  # each writer's key publication and its records
        stored = {e.seq: e.record_hash for e in listed}
        for outcome in got:
            for seq, digest in outcome["records"]:
                assert stored[seq] == digest  # every writer's record is the one stored under its number
        assert verify(store).ok


def test_guarded_commits_on_a_shared_store_apply_one_at_a_time(oxigraph_server: str, series_database: str) -> None:
    """The server alone lets two guarded updates read one snapshot and both apply; the commit lock stops that.

    Threads, each a client of its own, increment a counter in the meta graph with compare-and-set
    commits, each leaving a claim on the number it wrote: a number claimed twice is a fork.
    """
    httpx.post(f"{oxigraph_server}/update", data={"update": "DROP ALL"}, timeout=30).raise_for_status()
    with Store.open(oxigraph_server, series_database=series_database) as store:
        store.backend.update(f"INSERT DATA {{ GRAPH {META_GRAPH} {{ {COUNTER} {COUNT} 0 }} }}")
    applied: list[int] = []

    def work(name: str) -> None:
        with Store.open(oxigraph_server, series_database=series_database) as client:
            for _ in range(INCREMENTS):
                read = f"SELECT ?n WHERE {{ {COUNTER} {COUNT} ?n }}"
                row = next(iter(client.backend.select(read, None, [META_GRAPH])))
                n = int(row["n"].value)  # type: ignore[union-attr]
                claim = NamedNode(f"urn:claim:{n + 1}:{name}")
                try:
                    client.commit(
                        [],
                        meta=f"{COUNTER} {COUNT} {n + 1} . {claim} {ns.REASON} {Literal(name)} .",
                        forget=f"{COUNTER} {COUNT} {n} .",
                        where=f"GRAPH {META_GRAPH} {{ {COUNTER} {COUNT} {n} }}",
                        applied=lambda claim=claim: client.backend.ask(f"ASK {{ {claim} ?p ?o }}", None, [META_GRAPH]),
                    )
                except CommitConflict:
                    continue
                applied.append(n + 1)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with Store.open(oxigraph_server, series_database=series_database) as store:
        claims = [
            int(NamedNode(r["c"].value).value.split(":")[2])  # type: ignore[union-attr]
            for r in store.backend.select(f"SELECT ?c WHERE {{ ?c {ns.REASON} ?w }}", None, [META_GRAPH])
        ]
        final = next(iter(store.backend.select(f"SELECT ?n WHERE {{ {COUNTER} {COUNT} ?n }}", None, [META_GRAPH])))
    assert sorted(claims) == sorted(applied) == list(range(1, len(applied) + 1))  # no number claimed twice
    assert int(final["n"].value) == len(applied)  # type: ignore[union-attr]


def _spelling(url: str, i: int) -> str:
    """Every other client spells the endpoint differently: it is still one store."""
    return url if i % 2 == 0 else f"http://localhost:{urlsplit(url).port}/"


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


def test_concurrent_optimize_runs_on_a_shared_store_never_fork(
    oxigraph_server: str, series_database: str, tmp_path: Path
) -> None:
    """`enertwin optimize` from several machines at once (own homes and keys): every decision is in the ledger."""
    from enertwin.kg.importers.simbench import ensure_imported

    httpx.post(f"{oxigraph_server}/update", data={"update": "DROP ALL"}, timeout=30).raise_for_status()
    with Store.open(oxigraph_server, series_database=series_database) as store:
        ensure_imported(store, "hv-mixed")  # the case and the grid that prices its market, once, before the race
        ensure_imported(store, "ehv-mixed")
    password = urlsplit(series_database).password or ""
    runs = []
    for i in range(OPTIMIZERS):
        env = {**os.environ, "ENERTWIN_HOME": str(tmp_path / f"home{i}"), "PGPASSWORD": password}
        store = _spelling(oxigraph_server, i)
        script = (
            f"{sys.executable} -m enertwin.api.cli init --store {store} --person operator{i} && "
            f"{sys.executable} -m enertwin.api.cli optimize --case hv-mixed --start 2016-01-14T0{i}:00 --steps 4 "
            f"--time-limit 30 --workers 1 --store {store} --json {tmp_path / f'out{i}.json'}"
        )
        runs.append(subprocess.Popen(["sh", "-c", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    for run in runs:
        _out, err = run.communicate(timeout=600)
        assert run.returncode == 0, err.decode()[-2000:]
    decisions = [json.loads((tmp_path / f"out{i}.json").read_text())["decision"] for i in range(OPTIMIZERS)]
    with Store.open(oxigraph_server, series_database=series_database) as store:
        listed = entries(store)
        assert [e.seq for e in listed] == list(range(1, len(listed) + 1))  # no number claimed twice, no gap
        assert verify(store).ok
    for decision in decisions:
        found = subprocess.run(
            [
                sys.executable,
                "-m",
                "enertwin.api.cli",
                "audit",
                "proof",
                decision.removesuffix("/schedule"),
                "--store",
                oxigraph_server,
            ],
            env={**os.environ, "PGPASSWORD": password},
            capture_output=True,
            text=True,
        )
        assert found.returncode == 0, found.stderr  # the decision's record is in the ledger
    audit = subprocess.run(
        [sys.executable, "-m", "enertwin.api.cli", "audit", "verify", "--store", oxigraph_server],
        env={**os.environ, "PGPASSWORD": password},
        capture_output=True,
        text=True,
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr
