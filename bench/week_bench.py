"""A week of dispatch in rolling windows against the best bound we can show for the whole week.

Side by side in one run: ``enertwin optimize --steps 672`` (rolling windows, defaults) in a child
process, then the LP relaxation of the whole week's model rounded outward (a valid lower bound on
the reference optimum, see reasoning/scaling.py) in this process. Prints the wall times, the
objective, the bound and the gap; checks the schedule with the independent reference checker.

Usage: ``python bench/week_bench.py --store DIR [--case ehv-mixed] [--start 2016-01-14T00:00]``
(the store must hold the case and 1-EHV-mixed--2-sw; it is copied, not changed).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from enertwin.kg.importers.simbench import grid_node, resolve_code
from enertwin.kg.store import Store
from enertwin.reasoning.cpsat_model import build_model, scaling_for
from enertwin.reasoning.lp_relaxation import Relaxation
from enertwin.reasoning.portfolio_reader import read_problem

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.reasoning import reference_dispatch as ref  # noqa: E402


def main() -> None:
    """Run the rolling week and the week's LP bound, print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", required=True)
    parser.add_argument("--case", default="ehv-mixed")
    parser.add_argument("--start", default="2016-01-14T00:00")
    parser.add_argument("--steps", type=int, default=672)
    parser.add_argument("--enertwin", default=str(Path(sys.executable).parent / "enertwin"))
    parser.add_argument("--extra", nargs="*", default=[], help="more options for enertwin optimize")
    args = parser.parse_args()
    code = resolve_code(args.case)
    with tempfile.TemporaryDirectory(prefix="week-bench-") as tmp:
        store = Path(tmp) / "store"
        shutil.copytree(args.store, store)
        out = Path(tmp) / "week.json"
        command = [args.enertwin, "optimize", "--case", code, "--start", args.start, "--steps", str(args.steps)]
        started = time.perf_counter()
        subprocess.run([*command, "--store", str(store), "--json", str(out), *args.extra], check=True)
        rolling_seconds = time.perf_counter() - started
        document = json.loads(out.read_text())
        started = time.perf_counter()
        with Store.open(store) as opened:
            problem = read_problem(opened, grid_node(code).value, code, datetime.fromisoformat(args.start), args.steps)
        widened = build_model(problem, scaling_for(problem).widened())
        lp = Relaxation.of(widened.model.proto, widened.scaling.objective_eur).solve(time_limit=3600)
        bound = lp.objective * widened.scaling.objective_eur
        bound_seconds = time.perf_counter() - started
    data = ref.load_reference(code, args.start, args.steps)
    violations = ref.check_schedule(document, data)
    cost = document["objective_eur"]
    print(f"{code} from {args.start}, {args.steps} steps")
    print("| | seconds | EUR |\n| --- | ---: | ---: |")
    print(f"| enertwin optimize (rolling windows) | {rolling_seconds:.1f} | {cost:,.2f} |")
    print(f"| LP bound of the whole horizon (widened model, {lp.status}) | {bound_seconds:.1f} | {bound:,.2f} |")
    print(f"gap {(cost - bound) / abs(bound):.4%}; checker violations: {len(violations)}")
    for violation in violations[:10]:
        print("  ", violation)


if __name__ == "__main__":
    main()
