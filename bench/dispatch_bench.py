#!/usr/bin/env python
"""Dispatch benchmark: ``enertwin optimize`` against an independent linopy + HiGHS reference.

For each case (default ``hv-mixed`` and ``ehv-mixed``), start and number of steps, one run measures,
one after the other, each in its own child process:

* **enertwin, LP-guided CP-SAT**: the real command line, ``enertwin optimize --case … --json … --store …``,
  on a store into which the case grid and the EHV price-reference grid were imported beforehand (untimed),
  so the timed run is graph read, model build, solve and write-back of the decision, plus process start.
* **enertwin, plain CP-SAT** (``--no-lp-guide``, same time limit): what the LP guide bought.
* **linopy + HiGHS**: ``bench/reference_highs.solve_reference`` (built from SimBench with numpy/pandas only,
  no enertwin code), ``mip_rel_gap`` 1e-6, i.e. a proven optimum unless it runs out of time.

Every schedule is then checked with ``tests/reasoning/reference_dispatch.check_schedule`` and its cost
recomputed with ``schedule_cost``; the table gives each method's cost against the HiGHS optimum and its wall
time (measured by this process around the child) against HiGHS's. See ``bench/README.md``.

Usage::

    python bench/dispatch_bench.py                                   # both cases, 96 steps from 2016-01-14
    python bench/dispatch_bench.py --cases hv-mixed --steps 16       # quick
    python bench/dispatch_bench.py --skip-plain --json-out out.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
PRICE_CODE = "1-EHV-mixed--2-sw"
SHORT_NAMES = {"hv-mixed": "1-HV-mixed--2-sw", "ehv-mixed": "1-EHV-mixed--2-sw"}
POLL_SECONDS = 0.05
CHILD_MARGIN_S = 600.0  # a child is killed after its solver limit plus this margin

METHOD_LABELS = {
    "lp": "enertwin (CP-SAT, LP-guided)",
    "plain": "enertwin --no-lp-guide (plain CP-SAT)",
    "highs": "linopy + HiGHS (reference)",
}


def _maxrss_to_mb(maxrss: int) -> float:
    """``ru_maxrss`` is KiB on Linux and bytes on macOS."""
    return maxrss / (1024 * 1024) if sys.platform == "darwin" else maxrss / 1024


def _say(message: str) -> None:
    print(f"[dispatch-bench] {message}", file=sys.stderr, flush=True)


def _code(case: str) -> str:
    return SHORT_NAMES.get(case.strip().lower(), case.strip())


# ---------------------------------------------------------------------------------------------
# phase: HiGHS reference (child process)
# ---------------------------------------------------------------------------------------------


def phase_highs(args: argparse.Namespace) -> int:
    """Child: load the reference data from SimBench, build the linopy model, solve with HiGHS."""
    began = time.perf_counter()
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from reference_highs import solve_reference

    from tests.reasoning.reference_dispatch import load_reference

    imported = time.perf_counter()
    data = load_reference(args.case, args.start, args.steps)
    loaded = time.perf_counter()
    result = solve_reference(
        data, time_limit=args.highs_time_limit, mip_rel_gap=args.highs_gap, threads=args.highs_threads
    )
    ended = time.perf_counter()
    result.update(
        python_imports_s=imported - began,
        load_s=loaded - imported,
        total_in_child_s=ended - began,
    )
    Path(args.out).write_text(json.dumps(result), encoding="utf-8")
    return 0 if result.get("schedule") is not None else 6


# ---------------------------------------------------------------------------------------------
# parent
# ---------------------------------------------------------------------------------------------


@dataclass
class ChildRun:
    """A child process as the parent saw it."""

    command: list[str]
    returncode: int | None
    wall_s: float
    peak_rss_mb: float
    timed_out: bool
    stdout: str = ""
    stderr: str = ""


def run_child(command: list[str], timeout: float, log_stem: Path) -> ChildRun:
    """Run ``command``; wall time from just before the start to the reaping; kill it after ``timeout`` s."""
    out_path, err_path = log_stem.with_suffix(".out"), log_stem.with_suffix(".err")
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        timed_out = False
        try:
            while True:
                pid, status, usage = os.wait4(process.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() - started > timeout:
                    process.kill()
                    pid, status, usage = os.wait4(process.pid, 0)
                    timed_out = True
                    break
                time.sleep(POLL_SECONDS)
        except BaseException:
            process.kill()
            process.wait()
            raise
        wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4, not by Popen
    return ChildRun(
        command,
        process.returncode,
        wall,
        _maxrss_to_mb(usage.ru_maxrss),
        timed_out,
        out_path.read_text(encoding="utf-8", errors="replace"),
        err_path.read_text(encoding="utf-8", errors="replace"),
    )


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


@dataclass
class MethodResult:
    """One method's numbers for one case."""

    key: str
    wall_s: float | None = None
    peak_rss_mb: float | None = None
    returncode: int | None = None
    timed_out: bool = False
    status: str | None = None
    reported_objective_eur: float | None = None
    objective_eur: float | None = None  # recomputed with schedule_cost
    best_bound_eur: float | None = None
    solve_s: float | None = None
    inner_wall_s: float | None = None  # enertwin: JSON wall_seconds (optimize()); HiGHS: load + build + solve
    violations: list[str] = field(default_factory=list)
    checked: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": METHOD_LABELS[self.key],
            "key": self.key,
            "wall_s": self.wall_s,
            "peak_rss_mb": self.peak_rss_mb,
            "returncode": self.returncode,
            "timed_out": self.timed_out,
            "status": self.status,
            "reported_objective_eur": self.reported_objective_eur,
            "objective_eur": self.objective_eur,
            "best_bound_eur": self.best_bound_eur,
            "solve_s": self.solve_s,
            "inner_wall_s": self.inner_wall_s,
            "violations": self.violations,
            "violation_count": len(self.violations) if self.checked else None,
            "extra": self.extra,
            "error": self.error,
        }


def _enertwin_bin(args: argparse.Namespace) -> str:
    if args.enertwin_bin:
        return args.enertwin_bin
    beside = Path(sys.executable).with_name("enertwin")
    if beside.exists():
        return str(beside)
    found = shutil.which("enertwin")
    if found is None:
        raise SystemExit("cannot find the enertwin command (give --enertwin-bin)")
    return found


def prepare_store(args: argparse.Namespace, code: str, store: Path, work: Path) -> dict[str, float]:
    """Untimed: import the case grid and the EHV price-reference grid into ``store``."""
    seconds: dict[str, float] = {}
    for grid in dict.fromkeys([code, PRICE_CODE]):
        command = [_enertwin_bin(args), "import", "simbench", grid, "--store", str(store), "--json"]
        _say(f"prepare: {' '.join(command)}")
        run = run_child(command, 3600.0, work / f"import-{grid}")
        if run.returncode != 0:
            raise SystemExit(f"import of {grid} failed (exit {run.returncode}):\n{_tail(run.stderr or run.stdout)}")
        seconds[grid] = run.wall_s
    return seconds


def run_enertwin(args: argparse.Namespace, case: str, code: str, base: Path, work: Path, key: str) -> MethodResult:
    """Timed: ``enertwin optimize`` on a fresh copy of the prepared store."""
    store = work / f"store-{key}"
    shutil.copytree(base, store)  # each run writes its decision into its own copy
    out = work / f"{key}.json"
    command = [
        _enertwin_bin(args),
        "optimize",
        "--case",
        case,
        "--start",
        args.start,
        "--steps",
        str(args.steps),
        "--time-limit",
        repr(float(args.time_limit)),
        "--json",
        str(out),
        "--store",
        str(store),
    ]
    if args.gap is not None:
        command += ["--gap", repr(float(args.gap))]
    if key == "plain":
        command.append("--no-lp-guide")
    _say(f"{code}: {' '.join(command)}")
    run = run_child(command, args.time_limit + CHILD_MARGIN_S, work / key)
    result = MethodResult(key, run.wall_s, run.peak_rss_mb, run.returncode, run.timed_out)
    if out.exists():
        doc = json.loads(out.read_text(encoding="utf-8"))
        result.extra["document"] = doc
        result.status = doc.get("status")
        result.reported_objective_eur = doc.get("objective_eur")
        result.best_bound_eur = doc.get("best_bound_eur")
        result.solve_s = doc.get("solve_seconds")
        result.inner_wall_s = doc.get("wall_seconds")
    if run.returncode != 0:
        result.error = f"exit {run.returncode}{' (killed at the timeout)' if run.timed_out else ''}: " + _tail(
            run.stderr or run.stdout
        )
    shutil.rmtree(store, ignore_errors=True)
    return result


def run_highs(args: argparse.Namespace, code: str, work: Path) -> MethodResult:
    """Timed: the linopy + HiGHS reference in a child process (this script, ``--phase highs``)."""
    out = work / "highs.json"
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--phase",
        "highs",
        "--out",
        str(out),
        "--case",
        code,
        "--start",
        args.start,
        "--steps",
        str(args.steps),
        "--highs-time-limit",
        repr(float(args.highs_time_limit)),
        "--highs-gap",
        repr(float(args.highs_gap)),
        "--highs-threads",
        str(args.highs_threads),
    ]
    _say(f"{code}: linopy + HiGHS, time limit {args.highs_time_limit:g} s, mip_rel_gap {args.highs_gap:g}")
    run = run_child(command, args.highs_time_limit + CHILD_MARGIN_S, work / "highs")
    result = MethodResult("highs", run.wall_s, run.peak_rss_mb, run.returncode, run.timed_out)
    if out.exists():
        data = json.loads(out.read_text(encoding="utf-8"))
        doc = data.pop("schedule", None)
        if doc is not None:
            result.extra["document"] = doc
        result.status = data.get("status")
        result.reported_objective_eur = _finite(data.get("objective_eur"))
        result.best_bound_eur = _finite(data.get("best_bound_eur"))
        result.solve_s = data.get("seconds")
        result.inner_wall_s = (data.get("load_s") or 0.0) + (data.get("build_seconds") or 0.0) + (result.solve_s or 0)
        result.extra.update(
            solver_objective_eur=_finite(data.get("solver_objective_eur")),
            load_s=data.get("load_s"),
            build_s=data.get("build_seconds"),
            python_imports_s=data.get("python_imports_s"),
        )
    if run.returncode != 0:
        result.error = f"exit {run.returncode}{' (killed at the timeout)' if run.timed_out else ''}: " + _tail(
            run.stderr or run.stdout
        )
    return result


def _finite(value: Any) -> float | None:
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def check_all(code: str, args: argparse.Namespace, results: list[MethodResult]) -> None:
    """Check every schedule against the independent reference and recompute its cost."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from tests.reasoning.reference_dispatch import check_schedule, load_reference, schedule_cost

    data = load_reference(code, args.start, args.steps)
    for result in results:
        doc = result.extra.get("document")
        if not isinstance(doc, dict) or not doc.get("assets"):
            continue
        result.violations = check_schedule(doc, data)
        result.checked = True
        result.objective_eur = schedule_cost(doc, data)


def _rel(a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return None
    return (a - b) / max(abs(b), 1e-9)


def _num(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def case_table(case: dict[str, Any]) -> list[str]:
    """The markdown table of one case."""
    rows = case["methods"]
    highs = next((r for r in rows if r["key"] == "highs"), None)
    ref_cost = highs["objective_eur"] if highs else None
    ref_wall = highs["wall_s"] if highs else None
    ref_optimal = bool(highs) and highs["status"] == "Optimal"
    gap_head = "gap to HiGHS optimum %" if ref_optimal else "gap to HiGHS best (NOT proven optimal) %"
    lines = [
        f"| method | status | violations | objective € | {gap_head} | bound € | own gap % | wall s | "
        "solve s | wall × HiGHS |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        gap = _rel(r["objective_eur"], ref_cost)
        own = None
        if r["objective_eur"] is not None and r["best_bound_eur"] is not None:
            own = (r["objective_eur"] - r["best_bound_eur"]) / max(abs(r["objective_eur"]), 1e-9)
        ratio = None if r["wall_s"] is None or not ref_wall else r["wall_s"] / ref_wall
        violations = "—" if r["violation_count"] is None else str(r["violation_count"])
        status = r["status"] or ("killed" if r["timed_out"] else f"exit {r['returncode']}")
        lines.append(
            f"| {r['method']} | {status} | {violations} | {_num(r['objective_eur'])} | "
            f"{'ref.' if r['key'] == 'highs' else _num(None if gap is None else 100 * gap, 4)} | "
            f"{_num(r['best_bound_eur'])} | {_num(None if own is None else 100 * own, 4)} | "
            f"{_num(r['wall_s'], 1)} | {_num(r['solve_s'], 1)} | {_num(ratio)} |"
        )
    return lines


def print_report(summary: dict[str, Any]) -> None:
    machine = summary["machine"]
    print()
    print(
        f"dispatch benchmark — start {summary['start']}, {summary['steps']} steps, enertwin time limit "
        f"{summary['time_limit_s']:g} s (gap {summary['enertwin_gap'] or 'CLI default'}), HiGHS time limit "
        f"{summary['highs_time_limit_s']:g} s, mip_rel_gap {summary['highs_gap']:g}, threads {summary['highs_threads']}"
        f" — {machine['cpus']} CPUs, Python {machine['python']}"
    )
    for case in summary["cases"]:
        highs = next((r for r in case["methods"] if r["key"] == "highs"), None)
        ref_optimal = bool(highs) and highs["status"] == "Optimal" and highs["objective_eur"] is not None
        ref_cost = highs["objective_eur"] if ref_optimal else None
        ref_bound = highs["best_bound_eur"] if ref_optimal and highs["best_bound_eur"] is not None else ref_cost
        print()
        print(f"### {case['case']} ({case['code']})")
        print()
        for line in case_table(case):
            print(line)
        print()
        for r in case["methods"]:
            notes = [f"peak RSS {_num(r['peak_rss_mb'], 0)} MB"]
            if r["key"] == "highs":
                e = r["extra"]
                notes.append(
                    f"in the child: imports {_num(e.get('python_imports_s'), 1)} s, SimBench load "
                    f"{_num(e.get('load_s'), 1)} s, model build {_num(e.get('build_s'), 1)} s, "
                    f"HiGHS {_num(r['solve_s'], 1)} s"
                )
            else:
                notes.append(f"optimize() wall_seconds {_num(r['inner_wall_s'], 1)} s, solve {_num(r['solve_s'], 1)} s")
            if ref_optimal and r["key"] != "highs":
                if r["best_bound_eur"] is not None and r["best_bound_eur"] > ref_cost + 0.01:
                    notes.append(
                        f"BOUND ABOVE THE HiGHS OPTIMUM by {r['best_bound_eur'] - ref_cost:,.4f} € "
                        "(not a valid lower bound of the reference problem)"
                    )
                if r["objective_eur"] is not None and r["objective_eur"] < ref_bound - 0.01:
                    notes.append(f"COST BELOW THE HiGHS BOUND by {ref_bound - r['objective_eur']:,.4f} €")
            reported, recomputed = r["reported_objective_eur"], r["objective_eur"]
            if reported is not None and recomputed is not None:
                diff = reported - recomputed
                notes.append(f"reported objective {reported:,.4f} € (reported − recomputed = {diff:+.6f} €)")
            print(f"- {r['method']}: " + "; ".join(notes))
            for v in r["violations"][:10]:
                print(f"    VIOLATION {v}")
            if len(r["violations"]) > 10:
                print(f"    … {len(r['violations']) - 10} more")
            if r["error"]:
                print("    FAILED " + r["error"].replace("\n", "\n    "))
        print(
            f"- store preparation (untimed imports): {', '.join(f'{k} {v:.1f} s' for k, v in case['import_s'].items())}"
        )
    print()


def run_all(args: argparse.Namespace) -> int:
    """Parent: for each case, prepare a store, then run each method in its own child, check, report."""
    parent = Path(args.work_dir) if args.work_dir else None
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "start": args.start,
        "steps": args.steps,
        "time_limit_s": args.time_limit,
        "enertwin_gap": args.gap,
        "highs_time_limit_s": args.highs_time_limit,
        "highs_gap": args.highs_gap,
        "highs_threads": args.highs_threads,
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "platform": sys.platform},
        "cases": [],
    }
    failed = False
    for case in args.cases:
        code = _code(case)
        work = Path(tempfile.mkdtemp(prefix="enertwin-dispatch-bench-", dir=parent))
        try:
            base = work / "store"
            import_s = prepare_store(args, code, base, work)
            results = [run_enertwin(args, case, code, base, work, "lp")]
            if not args.skip_plain:
                results.append(run_enertwin(args, case, code, base, work, "plain"))
            results.append(run_highs(args, code, work))
            check_all(code, args, results)
            for r in results:
                if r.error or not r.checked or r.violations:
                    failed = True
            summary["cases"].append(
                {"case": case, "code": code, "import_s": import_s, "methods": [r.as_dict() for r in results]}
            )
        finally:
            if args.keep:
                _say(f"kept {work}")
            else:
                shutil.rmtree(work, ignore_errors=True)
    print_report(summary)
    if args.json_out:
        # the schedules themselves are large; keep only the numbers
        for case in summary["cases"]:
            for r in case["methods"]:
                r["extra"].pop("document", None)
        Path(args.json_out).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        _say(f"numbers written to {args.json_out}")
    return 1 if failed else 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="enertwin optimize (LP-guided and plain CP-SAT) against linopy + HiGHS on the reference dispatch.",
    )
    parser.add_argument("--cases", nargs="+", default=["hv-mixed", "ehv-mixed"], help="SimBench codes or short names")
    parser.add_argument("--start", default="2016-01-14T00:00", help="first step, ISO 8601")
    parser.add_argument("--steps", type=int, default=96, help="number of 15-minute steps")
    parser.add_argument("--time-limit", type=float, default=60.0, help="enertwin's --time-limit in seconds")
    parser.add_argument(
        "--gap", type=float, default=None, help="enertwin's --gap (relative gap to stop at; default: the CLI's)"
    )
    parser.add_argument("--highs-time-limit", type=float, default=600.0, help="HiGHS time limit in seconds")
    parser.add_argument("--highs-gap", type=float, default=1e-6, help="HiGHS mip_rel_gap (default 1e-6)")
    parser.add_argument("--highs-threads", type=int, default=2, help="HiGHS threads (default 2)")
    parser.add_argument("--skip-plain", action="store_true", help="skip the --no-lp-guide run")
    parser.add_argument("--json-out", metavar="FILE", help="also write every number as JSON to FILE")
    parser.add_argument("--work-dir", help="directory under which the stores are made (default: system temp)")
    parser.add_argument("--keep", action="store_true", help="keep the work directories (stores, logs, schedules)")
    parser.add_argument("--enertwin-bin", help="the enertwin command (default: the one beside this Python)")
    # internal: the HiGHS child phase
    parser.add_argument("--phase", choices=["highs"], help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.phase == "highs":
        return phase_highs(args)
    return run_all(args)


if __name__ == "__main__":
    sys.exit(main())
