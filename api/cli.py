"""The ``enertwin`` command line: typer commands that adapt the kg API for people and scripts.

Exit codes: 0 done, 1 unexpected failure, 2 bad input (unknown code, unreadable
file), 3 store cannot be opened or written, 4 store of another ontology version,
5 data rejected by shapes (nothing written), 6 no schedule (the problem is infeasible: the
conflicting graph facts are printed; or no solution was found in time).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError as PydanticValidationError
from pyoxigraph import RdfFormat

from enertwin import OptimiseJob, OptimiseRequest, Twin
from enertwin.api.agents_command import demo_stretch
from enertwin.api.agents_command import register as register_agents
from enertwin.api.audit_command import register as register_audit
from enertwin.api.common import (
    DEFAULT_STORE,
    JsonOption,
    StoreOption,
    iri,
    opened,
    out,
    progress_bar,
    reports_errors,
)
from enertwin.api.control_command import register as register_control
from enertwin.api.output import Format, render
from enertwin.api.policy_command import register as register_policy
from enertwin.api.report_command import register as register_report
from enertwin.api.set_command import register as register_set
from enertwin.api.validate_command import register as register_validate
from enertwin.kg.errors import EvidenceError, InputError, ValidationError
from enertwin.kg.importers.simbench import grid_node, resolve_code, simbench_codes
from enertwin.kg.namespaces import PREFIXES
from enertwin.kg.query_guard import check_user_query
from enertwin.kg.rdf_input import require_triples
from enertwin.kg.violation import Severity
from enertwin.reasoning.dispatch import DEFAULT_OVERLAP, DEFAULT_WINDOW, DispatchRun
from enertwin.reasoning.solver import SolverSettings

app = typer.Typer(name="enertwin", help="Agentic digital twins of energy portfolios.", no_args_is_help=True)
import_app = typer.Typer(help="Import data into the store.", no_args_is_help=True)
costs_app = typer.Typer(help="Show or replace the cost model (graph data).", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(costs_app, name="costs")


@import_app.command("simbench")
@reports_errors
def import_simbench_command(
    code: Annotated[str | None, typer.Argument(help="SimBench code, e.g. 1-HV-mixed--2-sw (or hv-mixed).")] = None,
    store: StoreOption = DEFAULT_STORE,
    list_codes: Annotated[bool, typer.Option("--list", help="List every SimBench code and exit.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Import a SimBench grid: assets, topology, profiles (DuckDB) and their references."""
    if list_codes:
        for known in simbench_codes():
            out.out(known)
        return
    if code is None:
        raise InputError("give a SimBench code (see `enertwin import simbench --list`)")
    code = resolve_code(code)
    with opened(store) as twin, progress_bar(not as_json and sys.stderr.isatty()) as step:
        result = twin.import_simbench(code, step)
    summary = {
        "code": result.code,
        "graph": result.graph.value,
        "triples": result.triples,
        "series": result.series,
        "counts": result.counts,
        "seconds": round(result.seconds, 2),
        "warnings": [w.describe() for w in result.report.warnings],
    }
    if as_json:
        out.print_json(json.dumps(summary))
        return
    out.print(
        f"imported [bold]{code}[/] into {store}: {result.triples:,} triples, {result.series} series, "
        f"{result.seconds:.1f} s"
    )
    render(out, ["table", "rows"], [{"table": k, "rows": v} for k, v in result.counts.items()], Format.TABLE)


@app.command("query")
@reports_errors
def query_command(
    file: Annotated[Path, typer.Argument(help="A SPARQL SELECT query in a .rq file.")],
    store: StoreOption = DEFAULT_STORE,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.TABLE,
    allow_service: Annotated[
        list[str] | None, typer.Option("--allow-service", help="An endpoint a SERVICE in the query may call.")
    ] = None,
) -> None:
    """Run a SPARQL SELECT query against the store (read only; no SERVICE call unless allowed)."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read the query file {file}: {exc.strerror or exc}") from exc
    check_user_query(text, allow_service or ())  # before the store is opened: a refused query creates nothing
    with opened(store, read_only=True) as twin:
        table = twin.query(text, allow_service=allow_service or ())
    render(out, table.columns, table.rows, fmt)


@app.command("graphs")
@reports_errors
def graphs_command(store: StoreOption = DEFAULT_STORE, as_json: JsonOption = False) -> None:
    """List the named graphs of the store (one per import, cost model, policy set, decision)."""
    with opened(store, read_only=True) as twin:
        live = twin.graphs()
    rows = [{"graph": g, "version": v} for g, v in sorted(live.items())]
    render(out, ["graph", "version"], rows, Format.JSON if as_json else Format.TABLE)


@reports_errors
def validate_command(
    store: StoreOption = DEFAULT_STORE,
    code: Annotated[str | None, typer.Option("--code", help="Topology of this imported SimBench grid only.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Check the whole store: every shape, every series reference, the topology (networkx) and leftovers.

    Exits 5 when a violation is found; warnings (e.g. an island) leave the exit code 0.
    """
    code = resolve_code(code) if code else None  # an unknown code is refused before the store is opened
    with opened(store, read_only=True) as twin:
        found = twin.validate(code)
    rows = [
        {"severity": v.severity.value, "focus": v.focus, "name": v.source_name, "rule": v.shape, "message": v.message}
        for v in found
    ]
    render(out, ["severity", "focus", "name", "rule", "message"], rows, Format.JSON if as_json else Format.TABLE)
    errors = sum(v.severity is Severity.VIOLATION for v in found)
    if not as_json:
        out.print(f"{errors} violation(s), {len(found) - errors} warning(s)")
    if errors:
        raise typer.Exit(ValidationError.exit_code)


@costs_app.command("load")
@reports_errors
def costs_load_command(
    file: Annotated[Path, typer.Argument(help="Turtle file with et:CostModel, et:CostEntry and et:FuelType.")],
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Replace the cost model by your own Turtle (validated; rejected whole on any violation)."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the cost model file {file}: {exc.strerror or exc}") from exc
    require_triples(data, RdfFormat.TURTLE, f"the cost model file {file}")  # before the store is opened
    with opened(store) as twin:
        loaded = twin.load_costs(data, f"cost model file {file.name}")
    receipt = loaded.receipt
    recorded = f", recorded as {receipt.graph.value}" if receipt is not None else " (unchanged)"
    out.print(f"cost model replaced: {loaded.report.triples} triples{recorded}")


@costs_app.command("show")
@reports_errors
def costs_show_command(store: StoreOption = DEFAULT_STORE, as_json: JsonOption = False) -> None:
    """Show the cost table as it is in the graph."""
    with opened(store, read_only=True) as twin:
        table = twin.costs()
    render(out, table.columns, table.rows, Format.JSON if as_json else Format.TABLE, title="Cost table (graph data)")


START_HELP = "First step, ISO 8601: wall clock in the grid's zone, or an instant with its offset."


def parse_start(text: str) -> datetime:
    """An ISO 8601 date-time given on the command line."""
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise InputError(
            f"--start {text!r} is not an ISO 8601 date-time such as 2016-07-14T00:00 (wall clock in the grid's zone) "
            "or 2016-07-14T00:00+02:00 (an instant)"
        ) from exc


def settings_from(**options: object) -> SolverSettings:
    """Solver settings from CLI options; a value out of range is bad input naming the option."""
    try:
        return SolverSettings(**options)  # type: ignore[arg-type]
    except PydanticValidationError as exc:
        problems = "; ".join(f"{_option_name(str(e['loc'][0]))}: {e['msg']}" for e in exc.errors())
        raise InputError(f"bad solver option: {problems}") from exc


OPTION_NAMES = {"relative_gap": "--gap", "lp_guide": "--no-lp-guide"}


def _option_name(field: str) -> str:
    """The command-line option that sets solver setting ``field``."""
    return OPTION_NAMES.get(field, "--" + field.replace("_", "-"))


def print_run(run: DispatchRun) -> None:
    """A short account of a dispatch run for people."""
    r = run.result
    start = r.problem.horizon.start.isoformat(timespec="minutes")
    out.print(
        f"[bold]{r.problem.case}[/] from {start} for {r.problem.steps} steps: "
        f"[bold]{r.status}[/] in {run.wall_seconds:.1f} s (solver {r.solve_seconds:.1f} s)"
    )
    if r.objective_eur is not None and r.best_bound_eur is not None:
        gap = (r.objective_eur - r.best_bound_eur) / max(abs(r.objective_eur), 1e-9)
        out.print(f"cost {r.objective_eur:,.2f} EUR, bound {r.best_bound_eur:,.2f} EUR, gap {gap:.4%}")
    out.print(f"decision: {run.record.schedule.value}")
    if r.conflicts:
        out.print("[bold red]no schedule exists[/]: these rules from the graph cannot all hold:")
        for conflict in r.conflicts:
            out.print(f"  - {conflict.text}", highlight=False)
            for fact in conflict.facts:
                out.print(f"      {fact}", highlight=False)
    if r.schedule is None:
        return
    hours = r.problem.horizon.step_hours
    s = r.schedule
    rows = [
        {"kind": "thermal", "assets": len(r.problem.thermal), "energy_mwh": round(float(s.thermal_p.sum()) * hours, 1)},
        {
            "kind": "renewable",
            "assets": len(r.problem.renewables),
            "energy_mwh": round(float(s.renewable_p.sum()) * hours, 1),
        },
        {
            "kind": "storage (discharge)",
            "assets": len(r.problem.storage),
            "energy_mwh": round(float(s.discharge.sum()) * hours, 1),
        },
        {"kind": "market buy", "assets": 1, "energy_mwh": round(float(s.buy.sum()) * hours, 1)},
        {"kind": "market sell", "assets": 1, "energy_mwh": round(-float(s.sell.sum()) * hours, 1)},
        {"kind": "unserved", "assets": 1, "energy_mwh": round(float(s.unserved.sum()) * hours, 1)},
    ]
    render(out, ["kind", "assets", "energy_mwh"], rows, Format.TABLE, title="Schedule")


@app.command("optimize")
@reports_errors
def optimize_command(
    case: Annotated[str, typer.Option("--case", help="SimBench code or short name (hv-mixed, ehv-mixed).")],
    start: Annotated[str, typer.Option("--start", help=START_HELP)] = "2016-01-14T00:00",
    steps: Annotated[int, typer.Option("--steps", help="Number of steps of the profiles' resolution.")] = 96,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Write the schedule as JSON to this file ('-': stdout).")
    ] = None,
    store: StoreOption = DEFAULT_STORE,
    cost_model: Annotated[str | None, typer.Option("--cost-model", help="IRI of the et:CostModel to use.")] = None,
    time_limit: Annotated[float, typer.Option("--time-limit", help="Wall-clock limit in seconds.")] = 60.0,
    workers: Annotated[int, typer.Option("--workers", help="CP-SAT workers (0: one per core).")] = 0,
    gap: Annotated[float, typer.Option("--gap", help="Stop within this relative gap of the bound.")] = 1e-4,
    absolute_gap: Annotated[
        float, typer.Option("--absolute-gap", help="Or within this many euros of the bound.")
    ] = 1.0,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    deterministic_time: Annotated[
        float | None, typer.Option("--deterministic-time", help="CP-SAT deterministic limit (reproducible runs).")
    ] = None,
    no_lp_guide: Annotated[bool, typer.Option("--no-lp-guide", help="Plain CP-SAT: no LP hint or bound.")] = False,
    window: Annotated[
        int, typer.Option("--window", help="Longer horizons are solved in rolling windows of this many steps.")
    ] = DEFAULT_WINDOW,
    overlap: Annotated[int, typer.Option("--overlap", help="Steps each window re-solves from the last.")] = (
        DEFAULT_OVERLAP
    ),
    log: Annotated[bool, typer.Option("--log", help="Print CP-SAT's search log.")] = False,
) -> None:
    """Dispatch a portfolio: read it from the graph, solve with CP-SAT, store the decision."""
    code = resolve_code(case)
    when = parse_start(start)
    if steps <= 0:
        raise InputError(f"--steps must be a positive number of time steps, got {steps}")
    settings = settings_from(
        time_limit=time_limit,
        workers=workers,
        relative_gap=gap,
        absolute_gap=absolute_gap,
        seed=seed,
        deterministic_time=deterministic_time,
        lp_guide=not no_lp_guide,
        log=log,
    )
    request = OptimiseRequest.of(
        case=code,
        start=when,
        steps=steps,
        settings=settings,
        cost_model=cost_model,
        window=window,
        overlap=overlap,
    )
    to_stdout = json_path is not None and str(json_path) == "-"
    if json_path is not None and not to_stdout:
        writable_output(json_path)  # before solving: a decision stored without its JSON is a silent half result
    with opened(store) as twin, progress_bar(sys.stderr.isatty() and not to_stdout) as step:
        run = follow(twin.optimise_job(request), step)
    document = run.output()
    if json_path is not None:
        text = json.dumps(document)
        if to_stdout:
            sys.stdout.write(text + "\n")
        else:
            json_path.write_text(text, encoding="utf-8")
    if not to_stdout:
        print_run(run)
    if run.result.schedule is None:
        raise typer.Exit(6)


def follow(job: OptimiseJob, step: Callable[[str, float], None]) -> DispatchRun:
    """Show a job's progress until it is done; Ctrl-C cancels it (nothing is recorded)."""
    while not job.wait(0.2):
        step(job.progress.stage, job.progress.fraction)
    return job.result()


def writable_output(path: Path) -> None:
    """Refuse an output file whose folder is missing or that is a folder, naming it (exit 2)."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"cannot write {path}: the folder {folder} does not exist (create it, or choose another file)")
    if path.is_dir():
        raise InputError(f"cannot write {path}: it is a folder; --json takes a file name")


@app.command("explain")
@reports_errors
def explain_command(
    decision: Annotated[str, typer.Argument(help="IRI of a decision or its schedule (printed by `optimize`).")],
    store: StoreOption = DEFAULT_STORE,
    step: Annotated[int | None, typer.Option("--step", help="Show the reasons of this step only.")] = None,
    asset: Annotated[
        str | None, typer.Option("--asset", help="Show the reasons of this asset (name or IRI) only.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Why a schedule is what it is: marginal prices per step and reasons per asset, with their graph facts."""
    chosen = iri(decision, "decision")
    with opened(store, read_only=True) as twin:
        explanation = twin.explain(chosen)
    steps = explanation.problem.steps
    if step is not None and not 0 <= step < steps:
        raise InputError(f"--step {step} is outside the schedule's {steps} steps (0 … {steps - 1})")
    reasons = [
        r
        for r in explanation.reasons
        if (step is None or r.step == step) and (asset is None or asset in (r.name, r.asset))
    ]
    if asset is not None and not reasons:
        raise InputError(f"--asset {asset!r} names no asset of this schedule")
    if as_json:
        document = explanation.as_dict()
        if step is not None or asset is not None:
            kept = {(r.step, r.asset) for r in reasons}
            for entry in document["steps"]:
                entry["reasons"] = [x for x in entry["reasons"] if (entry["step"], x["asset"]) in kept]
        out.print_json(json.dumps(document))
        return
    horizon = explanation.problem.horizon
    prices = [
        {
            "step": t,
            "time": horizon.time_at(t).isoformat(timespec="minutes"),
            "market": float(explanation.problem.market.price[t]),
            "marginal": round(float(p), 2),
        }
        for t, p in enumerate(explanation.marginal_price)
        if step is None or t == step
    ]
    render(out, ["step", "time", "market", "marginal"], prices, Format.TABLE, title="Prices (EUR/MWh)")
    if step is None and asset is None:
        counts: dict[str, int] = {}
        for r in reasons:
            counts[r.code] = counts.get(r.code, 0) + 1
        rows = [{"reason": k, "asset-steps": v} for k, v in sorted(counts.items(), key=lambda kv: -kv[1])]
        render(out, ["reason", "asset-steps"], rows, Format.TABLE, title="Reasons (use --step or --asset for detail)")
        return
    rows = [{"step": r.step, "asset": r.name, "reason": r.text, "facts": "\n".join(r.facts)} for r in reasons]
    render(out, ["step", "asset", "reason", "facts"], rows, Format.TABLE, title="Reasons")


@app.command("demo")
@reports_errors
def demo_command(
    store: Annotated[str | None, typer.Option("--store", help="Store to use (default: a fresh one in memory).")] = None,
    code: Annotated[str, typer.Option("--code", help="SimBench code to import.")] = "1-HV-mixed--2-sw",
    start: Annotated[str, typer.Option("--start", help=START_HELP)] = "2016-01-14T00:00",
    steps: Annotated[int, typer.Option("--steps", help="Steps to dispatch.")] = 96,
    agents: Annotated[bool, typer.Option("--agents", help="End with an hour of agents in the sandbox.")] = False,
) -> None:
    """Import a SimBench grid, summarise it from SPARQL, dispatch it with CP-SAT and show the decision's record."""
    code = resolve_code(code)
    when = parse_start(start)
    with opened(store) as twin:
        if twin.ensure_key():
            folder = twin.key_folder
            out.print(f"created your signing key in {folder} (mode 0600, key id {twin.signer.key_id})", highlight=False)
        with progress_bar(sys.stderr.isatty()) as step:
            result = twin.import_simbench(code, step)
        out.print(
            f"[bold]enertwin demo[/]: imported {code} ({result.triples:,} triples, "
            f"{result.series} profiles in DuckDB) in {result.seconds:.1f} s; every write validated by SHACL."
        )
        grid = grid_node(code)
        for name, title in (
            ("portfolio_summary.rq", "Portfolio by kind"),
            ("thermal_by_fuel.rq", "Thermal units by fuel (costs from the graph)"),
            ("topology_summary.rq", "Topology"),
        ):
            table = twin.summary(name, grid)
            if not table.rows:
                out.print(f"{title}: none in this grid")
                continue
            render(out, [c for c in table.columns if c != "grid"], table.rows, Format.TABLE, title=title)
        findings = twin.topology(grid)
        out.print(f"topology checks: {len(findings)} finding(s)")
        for finding in findings[:10]:
            out.print(f"  {finding.describe()}")
        out.print("importing the grid whose merit order prices the market, then dispatching …")
        with progress_bar(sys.stderr.isatty()) as step:
            run = twin.optimise(OptimiseRequest.of(case=code, start=when, steps=steps), step)
        print_run(run)
        record = twin.provenance(run.record.decision.value)
        render(
            out,
            ["property", "value"],
            [{"property": k, "value": v} for k, v in record],
            Format.TABLE,
            title=f"Decision {run.record.decision.value}",
        )
        print_provenance(twin, run)
        if agents:
            demo_stretch(twin, code, when)


def print_provenance(twin: Twin, run: DispatchRun) -> None:
    """The decision's provenance record: inputs with versions and hashes, its place in the ledger, verify."""
    inputs = twin.report("decision-inputs", decision=run.record.decision.value)
    short = [{c: _short(v) for c, v in row.items()} for row in inputs.records()]
    render(out, inputs.columns, short, Format.TABLE, title="Provenance: what the decision read and made")
    seq, record_hash, key = twin.record_of(run.record.decision.value)
    out.print(
        f"provenance record {seq} <{run.record.graph.value}>: hash {record_hash[:16]}…, "
        f"signed by <{key}>, written in {run.provenance_seconds:.2f} s",
        highlight=False,
    )
    verdict = twin.verify()
    if verdict.first_bad is not None:
        bad = verdict.first_bad
        raise EvidenceError(f"record {bad.seq} <{bad.graph}> does not verify: {bad.problem}")
    out.print(f"audit verify: ok, {verdict.records} records (hashes, chain, Ed25519 signatures, signed Merkle root)")


def _short(value: object) -> object:
    """IRIs as prefixed names and hashes cut to 12 digits, so the demo's tables fit a terminal."""
    if not isinstance(value, str):
        return value
    for prefix in ("etg", "etid"):
        base = PREFIXES[prefix]
        if value.startswith(base):
            value = f"{prefix}:{value[len(base) :]}"
    parts = [p[:12] + "…" if len(p) >= 32 and all(c in "0123456789abcdef" for c in p) else p for p in value.split("/")]
    return "/".join(parts)


register_report(app)
register_audit(app)
register_validate(app, validate_command)
register_set(app)
register_control(app)  # after register_audit: its `approve` takes pending actions and decisions
register_agents(app)
register_policy(app)


def main() -> None:
    """Entry point for ``python -m enertwin.api.cli``."""
    app()


if __name__ == "__main__":
    main()
