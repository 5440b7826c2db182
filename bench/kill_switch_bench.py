"""The cost of ``KillSwitches.blocking()``, called once per actuation, against a plain dict lookup.

The baseline is what the check would cost if the switches were a Python dict nobody else could
change (``dict.get`` on the asset, then on the agent): the floor. Measured side by side in one
process, each on a store holding one pulled asset switch:

* **embedded, quiet**: a disk store nobody writes between checks (the write counter stands still);
* **embedded, writes between**: a commit of an unrelated record (a policy verdict) before each
  check, so the watch asks the store for the graph's version each time;
* **remote**: ``oxigraph serve`` on a loopback port; every check asks the endpoint for the version
  (another process may have pulled a switch), one small SPARQL query over HTTP;
* **reload**: a pull and release by another twin on the same store before each check (the switches
  are read again).

Usage::

    python bench/kill_switch_bench.py [--checks 100000] [--remote-checks 2000]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from pyoxigraph import NamedNode

from enertwin import Twin
from enertwin.agents.control.kill_switch import KillSwitches
from enertwin.kg import namespaces as ns
from enertwin.kg.provenance.keys import Identity, Signer
from enertwin.kg.store import Store

ASSET = f"{ns.ID_BASE}bench/battery"
AGENT = f"{ns.ID_BASE}agent/optimizer"
GRID = f"""
@prefix et: <{ns.ET_BASE}> . @prefix xsd: <{ns.XSD_BASE}> . @prefix rdfs: <{ns.RDFS_BASE}> .
<{ns.ID_BASE}bench/grid> a et:Grid ; rdfs:label "g" ; et:sourceName "g" ; et:sourceCode "1-MV-bench--0-sw" .
<{ns.ID_BASE}bench/bus> a et:Bus ; rdfs:label "b" ; et:sourceName "b" ; et:nominalVoltage "20.0"^^xsd:double ;
    et:inGrid <{ns.ID_BASE}bench/grid> ; et:inService true ; et:voltageLevel 5 ; et:subnet "MV1" .
<{ASSET}> a et:Storage ; rdfs:label "s" ; et:sourceName "s" ; et:atBus <{ns.ID_BASE}bench/bus> ;
    et:roundTripEfficiency "0.9"^^xsd:double ; et:energyCapacity "4.0"^^xsd:double ; et:minEnergy "0.4"^^xsd:double ;
    et:ratedApparentPower "1.0"^^xsd:double ; et:selfDischargePercentPerDay "0.1"^^xsd:double .
"""


def per_call_us(check: Callable[[], object], count: int, between: Callable[[], object] | None = None) -> float:
    """Microseconds per ``check()`` (``between`` runs before each, outside the clock)."""
    total = 0.0
    if between is None:
        began = time.perf_counter()
        for _ in range(count):
            check()
        return (time.perf_counter() - began) / count * 1e6
    for _ in range(count):
        between()
        began = time.perf_counter()
        check()
        total += time.perf_counter() - began
    return total / count * 1e6


def prepared(twin: Twin) -> KillSwitches:
    """The small grid and one pulled asset switch in ``twin``'s store; its switches, read once."""
    twin._store.replace_graph(NamedNode(ns.GRAPH_BASE + "bench"), GRID.encode())
    switches = KillSwitches(twin)
    switches.pull("asset", ASSET, "bench")
    assert switches.blocking(ASSET, AGENT) is not None
    return switches


def serve(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``oxigraph serve`` on a free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    binary = shutil.which("oxigraph") or str(Path(sys.executable).parent / "oxigraph")
    process = subprocess.Popen([binary, "serve", "--location", str(folder), "--bind", f"127.0.0.1:{port}"])
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/query", params={"query": "ASK {}"}, timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("oxigraph serve did not start")


def main() -> None:
    """Measure and print the four cases against the dict baseline."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=100_000)
    parser.add_argument("--remote-checks", type=int, default=2_000)
    parser.add_argument("--write-checks", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        signer = Signer.create(root / "keys", Identity("bench", "enertwin bench"))
        table = {ASSET: "switch"}
        baseline = per_call_us(lambda: table.get(ASSET) or table.get(AGENT), args.checks)
        rows = [("dict.get (baseline)", baseline, args.checks)]
        with Store.open(root / "store") as store:
            twin, other = Twin(store, signer=signer), Twin(store, signer=signer)
            switches = prepared(twin)
            rows.append(
                ("embedded, quiet", per_call_us(lambda: switches.blocking(ASSET, AGENT), args.checks), args.checks)
            )

            def write() -> None:
                twin.policy_verdict(f"{ns.ID_BASE}bench/action", "allowed", "bench")

            quiet_writes = per_call_us(lambda: switches.blocking(ASSET, AGENT), args.write_checks, write)
            rows.append(("embedded, writes between", quiet_writes, args.write_checks))
            others = KillSwitches(other)

            def flip() -> None:
                others.pull("agent", AGENT, "bench")
                others.release("agent", AGENT, "bench")

            rows.append(
                (
                    "embedded, reload",
                    per_call_us(lambda: switches.blocking(ASSET, AGENT), args.write_checks, flip),
                    args.write_checks,
                )
            )
        process, url = serve(root / "served")
        try:
            with Twin(Store.open(url, series_path=root / "remote.duckdb"), signer=signer) as remote:
                far = prepared(remote)
                rows.append(
                    (
                        "remote, every check asks",
                        per_call_us(lambda: far.blocking(ASSET, AGENT), args.remote_checks),
                        args.remote_checks,
                    )
                )
        finally:
            process.terminate()
            process.wait(timeout=10)
    print(f"{'case':<28} {'µs per check':>14} {'× baseline':>12} {'checks':>8}")
    for name, micros, count in rows:
        print(f"{name:<28} {micros:>14.2f} {micros / baseline:>12.1f} {count:>8}")


if __name__ == "__main__":
    main()
