"""A simulated week of hv-mixed with 15-minute re-dispatch, against the 5-minute target of issue 12.

Runs ``enertwin simulate`` in-process (in-process bus, 96-step horizon on the kept intraday model,
noise 0.02, seed 0, without the perfect-foresight regret, which is a separate optimisation) and
prints the wall time, its ratio to the target, the decision latency p50/p99 and the KPIs.

Usage: ``python bench/simulate_bench.py --store DIR [--days 7] [--case hv-mixed]`` (the store must hold the
case and 1-EHV-mixed--2-sw and a signing key must exist: ``enertwin init`` first).
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime

import numpy as np

from enertwin import Twin
from enertwin.agents.loop import AgentLoop, RoundResult
from enertwin.agents.roles.state import PlantState
from enertwin.agents.sim.session import run_session
from enertwin.agents.sim.simulation import SimulationConfig

TARGET_SECONDS = 300.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", required=True)
    parser.add_argument("--case", default="hv-mixed")
    parser.add_argument("--start", default="2016-01-14T00:00")
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--horizon", type=int, default=96)
    parser.add_argument("--regret", action="store_true", help="also solve the perfect-foresight optimum")
    args = parser.parse_args()
    config = SimulationConfig(args.case, datetime.fromisoformat(args.start), args.days, 0.02, 0.0, 0, args.horizon)
    walls: list[float] = []
    timed = AgentLoop.round

    async def timed_round(loop: AgentLoop, offset: int, at: datetime, state: PlantState) -> RoundResult:
        begun = time.perf_counter()
        result = await timed(loop, offset, at, state)
        walls.append(time.perf_counter() - begun)
        return result

    with Twin.open(args.store) as twin:
        twin.dispatch_problem(args.case, config.start, 1)  # imports done before the clock starts
        started = time.perf_counter()
        AgentLoop.round = timed_round  # type: ignore[method-assign,assignment]  # each round's wall, records included
        try:
            session = run_session(twin, config, "memory", None, foresight=args.regret)
        finally:
            AgentLoop.round = timed  # type: ignore[method-assign]
        wall = time.perf_counter() - started
    k = session.kpis
    print(f"{args.case} from {args.start}, {args.days:g} day(s), {k.steps} rounds, horizon {args.horizon} steps")
    print(f"wall {wall:.1f} s; target {TARGET_SECONDS:.0f} s; ratio {wall / TARGET_SECONDS:.2f} (≤ 1 meets it)")
    print(
        f"per round {wall / max(k.steps, 1):.3f} s; decision latency p50 {k.latency_p50_s} s, p99 {k.latency_p99_s} s"
    )
    p50, p99 = np.percentile(walls, [50, 99])
    print(f"round wall (telemetry to records) p50 {p50:.3f} s, p99 {p99:.3f} s, max {max(walls):.3f} s")
    print(json.dumps(k.as_dict()))


if __name__ == "__main__":
    main()
