#!/usr/bin/env python
"""Concurrent-writers benchmark: N ledger writers on one `oxigraph serve`, against one writer alone.

The script starts its own ``oxigraph serve`` (the binary beside this Python, or on PATH) and a
throwaway PostgreSQL cluster (the store's series database, whose commit lock serialises the
ledger's compare-and-set; the test suite's fixture starts it) on free loopback ports in a
temporary folder, and stops them at the end. Each client is a separate process
with its own signing key (as on separate machines), appending ``--each`` agent actions (cheap
records, no solve) as fast as it can. Printed: records per second for one client alone
(baseline) and for N together (ratio), the compare-and-set retries the clients made, and the
forks found afterwards (sequence numbers claimed by more than one record: must be 0), plus
whether ``audit verify`` passes. First, a stress test of the server itself: 6 threads increment a
counter by guarded DELETE/INSERT ... WHERE updates, each leaving a claim; a number claimed twice
means two updates read the same snapshot and both applied (the server does not serialise them).

Usage::

    python bench/concurrent_writers_bench.py                 # 4 clients, 25 records each
    python bench/concurrent_writers_bench.py --clients 6 --each 50
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx
from pyoxigraph import Literal, NamedNode

from enertwin.kg import namespaces as ns
from enertwin.kg.provenance.keys import Identity, Signer
from enertwin.kg.provenance.ledger import Ledger, entries
from enertwin.kg.provenance.record import ActivityRecord, person_node
from enertwin.kg.provenance.verify import verify
from enertwin.kg.store import Store

PASSWORD = secrets.token_urlsafe(12)  # the throwaway cluster's; clients get it as PGPASSWORD


def _worker(url: str, home: Path, count: int, start_at: float) -> None:
    """One client: append ``count`` actions from ``start_at`` on; print its retries and seconds as JSON."""
    person = f"bench writer {home.name}"
    signer = Signer.create(home / "keys", Identity(person))
    failures = 0
    with Store.open(url) as store:  # the series database is the one the store records
        ledger = Ledger(store, signer)  # its first append publishes its key
        time.sleep(max(0.0, start_at - time.time()))
        began = time.perf_counter()
        for i in range(count):
            now = datetime.now(UTC)
            action = ActivityRecord(NamedNode(f"{ns.ID_BASE}activity/{home.name}/{i}"), ns.AGENT_ACTION, now, now)
            action.associate(person_node(person), ns.OPERATOR_ROLE).add(action.iri, ns.REASON, Literal(f"step {i}"))
            try:
                ledger.append(action)
            except Exception as error:
                failures += 1
                print(f"client {home.name}: {error}", file=sys.stderr)
        seconds = time.perf_counter() - began
    print(json.dumps({"retries": ledger.retries, "seconds": seconds, "failures": failures}))


def _serve(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    beside = Path(sys.executable).parent / "oxigraph"
    binary = str(beside) if beside.exists() else shutil.which("oxigraph")
    if binary is None:
        sys.exit("the `oxigraph` server (PyPI package oxigraph) is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [binary, "serve", "--location", str(folder), "--bind", f"127.0.0.1:{port}"], stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/query", params={"query": "ASK {}"}, timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    sys.exit("oxigraph serve did not start")


def _round(url: str, series: str, folder: Path, clients: int, each: int) -> dict[str, float]:
    """Run ``clients`` writers together on an emptied store; their throughput, retries, failures, forks."""
    httpx.post(f"{url}/update", data={"update": "DROP ALL"}, timeout=60).raise_for_status()
    database = f"{series}/round{clients}".replace("enertwin@", f"enertwin:{PASSWORD}@")
    _create_database(series, f"round{clients}")
    Store.open(url, series_database=database).close()
    start_at = time.time() + 2 + clients * 0.5
    homes = [folder / f"round{clients}-client{i}" for i in range(clients)]
    processes = [
        subprocess.Popen(
            [sys.executable, __file__, "--worker", url, str(home), str(each), str(start_at)],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PGPASSWORD": PASSWORD},
        )
        for home in homes
    ]
    results = [json.loads(p.communicate()[0]) for p in processes]
    with Store.open(url, series_database=database) as store:
        seqs = Counter(e.seq for e in entries(store))
        forks = sum(1 for n in seqs.values() if n > 1)
        verified = verify(store).ok
    wall = max(r["seconds"] for r in results)
    stored = clients * each - sum(r["failures"] for r in results)
    return {
        "per_second": stored / wall,
        "retries": sum(r["retries"] for r in results),
        "failures": sum(r["failures"] for r in results),
        "forks": forks,
        "verified": verified,
    }


def _create_database(series: str, name: str) -> None:
    import psycopg

    with psycopg.connect(f"{series}/postgres", password=PASSWORD, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")


def _postgres(folder: Path) -> tuple[list[str], Path, str]:
    """Start a throwaway cluster (as an unprivileged user when run as root); its stop command and URL base."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from conftest import _as_postgres_user, _free_port, _postgres_bin  # the test fixture's helpers

    bindir = _postgres_bin()
    if bindir is None:
        sys.exit("PostgreSQL's server programs (Debian package postgresql) are not installed")
    prefix, user = _as_postgres_user()
    (folder / "pw").write_text(PASSWORD)
    if user is not None:
        shutil.chown(folder, user)
        shutil.chown(folder / "pw", user)
    port, data = _free_port(), folder / "data"
    initdb = [str(bindir / "initdb"), "-D", str(data), "-U", "enertwin", f"--pwfile={folder / 'pw'}"]
    subprocess.run([*prefix, *initdb, "--auth=scram-sha-256", "--locale=C"], check=True, capture_output=True)
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder}"
    pg_ctl = [*prefix, str(bindir / "pg_ctl"), "-D", str(data)]
    subprocess.run([*pg_ctl, "-o", options, "-l", str(folder / "log"), "-w", "start"], check=True, capture_output=True)
    return [*pg_ctl, "-m", "fast", "-w", "stop"], folder, f"postgresql://enertwin@127.0.0.1:{port}"


def _guarded_counter(url: str, threads: int = 6, each: int = 40) -> tuple[int, int]:
    """Does the server serialise guarded updates? Increments by DELETE/INSERT WHERE, each leaving a claim.

    Returns (claims, numbers claimed twice): with serialised updates every number is claimed once.
    """
    import threading

    httpx.post(f"{url}/update", data={"update": "DROP ALL ; INSERT DATA { <urn:c> <urn:v> 0 }"}).raise_for_status()
    csv = {"Accept": "text/csv"}

    def ask(query: str) -> list[str]:
        return httpx.post(f"{url}/query", data={"query": query}, headers=csv).text.split()[1:]

    def work(w: int) -> None:
        for _ in range(each):
            v = int(ask("SELECT ?v WHERE { <urn:c> <urn:v> ?v }")[0])
            claim = f"<urn:claim{v + 1}> <urn:by> <urn:w{w}>"
            update = f"DELETE {{ <urn:c> <urn:v> {v} }} INSERT {{ <urn:c> <urn:v> {v + 1} . {claim} }} "
            httpx.post(f"{url}/update", data={"update": update + f"WHERE {{ <urn:c> <urn:v> {v} }}"})

    workers = [threading.Thread(target=work, args=(w,)) for w in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    claims = len(ask("SELECT ?c WHERE { ?c <urn:by> ?w }"))
    twice = len(ask("SELECT ?c WHERE { ?c <urn:by> ?w } GROUP BY ?c HAVING (COUNT(?w) > 1)"))
    return claims, twice


def main() -> None:
    """Baseline (one client) then N clients; print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--each", type=int, default=25, help="records each client appends")
    parser.add_argument("--worker", nargs=4, metavar=("URL", "HOME", "COUNT", "START_AT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        url, home, count, start_at = args.worker
        _worker(url, Path(home), int(count), float(start_at))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        stop, pg_folder, series = _postgres(
            Path(tempfile.mkdtemp(prefix="enertwin-pg-"))
        )  # not under a root-only folder
        server, url = _serve(folder / "oxigraph")
        try:
            claims, twice = _guarded_counter(url)
            alone = _round(url, series, folder, 1, args.each)
            together = _round(url, series, folder, args.clients, args.each)
        finally:
            server.terminate()
            server.wait(timeout=30)
            subprocess.run(stop, check=False, capture_output=True)
            shutil.rmtree(pg_folder, ignore_errors=True)
    print(f"guarded increments by 6 threads: {claims} applied, {twice} numbers applied twice (serialised: 0)")
    print(f"{'run':<22}{'records/s':>10}{'retries':>9}{'failed':>8}{'forks':>7}  audit verify")
    for label, r in (("1 client (baseline)", alone), (f"{args.clients} clients", together)):
        verdict = "passes" if r["verified"] else "FAILS"
        print(
            f"{label:<22}{r['per_second']:>10.1f}{r['retries']:>9.0f}{r['failures']:>8.0f}{r['forks']:>7.0f}  {verdict}"
        )
    print(f"ratio {args.clients} clients / 1 client: {together['per_second'] / alone['per_second']:.2f}")


if __name__ == "__main__":
    main()
