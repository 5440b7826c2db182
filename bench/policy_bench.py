"""Policy engine: how long one proposal of ~100 setpoints takes to judge, on a real SimBench portfolio.

Imports ``--code`` into a twin in memory, builds a proposal with one setpoint per asset (thermal,
storage, renewable; up to ``--setpoints``) after the applied setpoints 15 minutes before, and times

* **check**: ``PolicyEngine.check`` (active version read, asset facts read with SPARQL through the twin,
  the action's RDF built, the compiled rules run), median and p95 over ``--runs``;
* **evaluate**: ``PolicyEngine.evaluate`` (check and the signed ledger record of the verdict);
* **baseline**: pyshacl-turbo (``kg/validation/conformant.py``, shapes compiled once) validating the same
  action graph, as the full SHACL engine the fast path is measured against.

Usage::

    python bench/policy_bench.py                      # 1-HV-mixed--0-sw, 100 setpoints, 50 runs
    python bench/policy_bench.py --code 1-EHV-mixed--0-sw --setpoints 100 --runs 30
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime, timedelta

from pyoxigraph import Quad, RdfFormat, Store, parse

from enertwin import Twin
from enertwin.agents.events import Proposal, Setpoint
from enertwin.agents.policy.action_rdf import action_triples, read_asset_facts
from enertwin.agents.policy.engine import PolicyEngine
from enertwin.agents.policy.sets import default_policy_turtle
from enertwin.kg.validation.conformant import ConformantShapes

ASSETS = """
PREFIX et: <https://w3id.org/enertwin/ontology#>
SELECT ?asset ?max WHERE {
  { ?asset a et:ThermalUnit ; et:maxActivePower ?max } UNION { ?asset a et:Storage ; et:ratedApparentPower ?max }
  UNION { ?asset a et:RenewableUnit . BIND (1.0 AS ?max) }
} ORDER BY ?asset
"""


def timed(run, runs: int) -> tuple[float, float]:
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - start)
    seconds.sort()
    return statistics.median(seconds) * 1000, seconds[int(0.95 * (len(seconds) - 1))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--code", default="1-HV-mixed--0-sw")
    parser.add_argument("--setpoints", type=int, default=100)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    with Twin.open(None) as twin:
        twin.init()
        twin.import_simbench(args.code)
        rows = twin.query(ASSETS).rows[: args.setpoints]
        at = datetime(2016, 7, 14, 12, tzinfo=UTC)
        proposal = Proposal(
            source="https://w3id.org/enertwin/id/agent/bench",
            setpoints=tuple(Setpoint(asset=str(r["asset"]), at=at, p_mw=0.5 * float(r["max"])) for r in rows),
            previous=tuple(
                Setpoint(asset=str(r["asset"]), at=at - timedelta(minutes=15), p_mw=0.45 * float(r["max"]))
                for r in rows
            ),
        )
        engine = PolicyEngine(twin)
        print(f"{args.code}: {len(proposal.setpoints)} setpoints, verdict {engine.check(proposal).outcome}")
        check = timed(lambda: engine.check(proposal), args.runs)
        evaluate = timed(lambda: engine.evaluate(proposal), args.runs)
        data = Store()
        for t in parse(default_policy_turtle(), format=RdfFormat.TURTLE):
            data.add(Quad(t.subject, t.predicate, t.object))
        for t in action_triples(proposal, read_asset_facts(twin, {s.asset for s in proposal.setpoints})):
            data.add(Quad(t.subject, t.predicate, t.object))
        turbo = ConformantShapes([default_policy_turtle().decode()])
        baseline = timed(lambda: turbo.report(data), max(5, args.runs // 5))
    print(f"{'what':<40} {'median ms':>10} {'p95 ms':>10} {'/ baseline':>11}")
    for name, (median, p95) in (
        ("check (not recorded)", check),
        ("evaluate (check + signed record)", evaluate),
        ("baseline: pyshacl-turbo on the graph", baseline),
    ):
        print(f"{name:<40} {median:>10.2f} {p95:>10.2f} {median / baseline[0]:>10.2f}x")


if __name__ == "__main__":
    main()
