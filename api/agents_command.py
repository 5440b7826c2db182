"""``enertwin simulate`` and ``enertwin agents run``: the agents in the sandbox, or on a bus until stopped."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from enertwin import Twin
from enertwin.agents.control.approvals import Approvals
from enertwin.agents.control.kill_switch import KillSwitches
from enertwin.agents.metrics import json_logs
from enertwin.agents.policy.engine import PolicyEngine
from enertwin.agents.runtime import run_agents
from enertwin.agents.sim.session import demo_session, kpi_document, run_session
from enertwin.agents.sim.shadow import kpi_rows, step_rows
from enertwin.agents.sim.simulation import SimulationConfig
from enertwin.api.agent_settings_command import register as register_settings
from enertwin.api.common import DEFAULT_STORE, StoreOption, opened, out, reports_errors
from enertwin.api.output import Format, render
from enertwin.kg.errors import InputError
from enertwin.kg.importers.simbench import resolve_code

agents_app = typer.Typer(help="Run the agents.", no_args_is_help=True)
shadow_app = typer.Typer(help="Shadow mode: the agents decide beside a baseline.", no_args_is_help=True)


def _start(text: str) -> datetime:
    from enertwin.api.cli import parse_start  # cli imports this module to register it

    return parse_start(text)


def simulate_command(
    case: Annotated[str, typer.Option("--case", help="SimBench code or short name.")],
    start: Annotated[str, typer.Option("--start", help="First interval, ISO 8601 (wall clock in the grid's zone).")],
    days: Annotated[float, typer.Option("--days", help="Days to simulate (15-minute re-dispatch).")] = 1.0,
    noise: Annotated[float, typer.Option("--noise", help="Relative telemetry noise σ.")] = 0.0,
    dropout: Annotated[float, typer.Option("--dropout", help="Chance a telemetry event is lost.")] = 0.0,
    seed: Annotated[int, typer.Option("--seed", help="Seed: the same seed gives the same run.")] = 0,
    horizon: Annotated[int, typer.Option("--horizon", help="Steps each re-dispatch looks ahead.")] = 96,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the KPIs as JSON to this file.")] = None,
    report: Annotated[Path | None, typer.Option("--report", help="Write PNG plots and index.html here.")] = None,
    bus: Annotated[str, typer.Option("--bus", help="memory, or nats://host:port.")] = "memory",
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Replay SimBench profiles as telemetry; the agents act, the simulated plant applies what passes."""
    code = resolve_code(case)
    config = SimulationConfig(code, _start(start), days, noise, dropout, seed, horizon)
    config.check()
    with opened(store) as twin:
        session = run_session(twin, config, bus, report)
    if json_path is not None:
        try:
            json_path.write_text(kpi_document(session), encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write the KPIs to {json_path}: {exc.strerror or exc}") from exc
    rows = [{"kpi": k, "value": v} for k, v in session.kpis.as_dict().items()]
    render(out, ["kpi", "value"], rows, Format.TABLE, title=f"Simulation {code} ({session.run.run})")
    if session.page is not None:
        out.print(f"report: {session.page}", highlight=False)


@agents_app.command("run")
@reports_errors
def agents_run_command(
    store: StoreOption = DEFAULT_STORE,
    case: Annotated[str, typer.Option("--case", help="SimBench code or short name.")] = "hv-mixed",
    start: Annotated[str, typer.Option("--start", help="Plant time of the first interval.")] = "2016-01-14T00:00",
    bus: Annotated[str, typer.Option("--bus", help="memory, or nats://host:port.")] = "memory",
    metrics_port: Annotated[int | None, typer.Option("--metrics-port", help="Serve Prometheus metrics.")] = None,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between rounds.")] = 900.0,
    rounds: Annotated[int | None, typer.Option("--rounds", help="Stop after this many rounds.")] = None,
    applied: Annotated[
        Path | None,
        typer.Option("--applied", help="File of the bus commands applied, kept across restarts (default: memory)."),
    ] = None,
) -> None:
    """Run the agents until SIGTERM (drains the round in flight, then exits cleanly).

    People's commands sent with ``enertwin kill|release|approve|reject --bus URL`` are applied
    (and recorded) as they arrive, each once.
    """
    json_logs()
    code = resolve_code(case)
    with opened(store) as twin:
        switches = KillSwitches(twin)
        try:
            safety = (PolicyEngine(twin), switches, Approvals(twin))
            when = _start(start)
            done = asyncio.run(
                run_agents(
                    twin,
                    code,
                    when,
                    bus,
                    safety,
                    interval_s=interval,
                    rounds=rounds,
                    metrics_port=metrics_port,
                    applied=applied,
                )
            )
        finally:
            switches.close()
    out.print(f"agents stopped after {done} round(s)")


@shadow_app.command("report")
@reports_errors
def shadow_report_command(
    case: Annotated[str, typer.Option("--case", help="SimBench code or short name.")],
    start: Annotated[str, typer.Option("--start", help="First interval, ISO 8601.")],
    days: Annotated[float, typer.Option("--days", help="Days to run in shadow mode.")] = 1.0,
    baseline: Annotated[str, typer.Option("--baseline", help="merit-order or day-ahead (the one actuated).")] = (
        "merit-order"
    ),
    noise: Annotated[float, typer.Option("--noise", help="Relative telemetry noise σ.")] = 0.0,
    seed: Annotated[int, typer.Option("--seed", help="Seed.")] = 0,
    horizon: Annotated[int, typer.Option("--horizon", help="Steps each re-dispatch looks ahead.")] = 96,
    steps: Annotated[bool, typer.Option("--steps", help="Show every step, not only the totals.")] = False,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Let the agents decide beside a baseline that alone is actuated; compare step by step and in KPIs."""
    code = resolve_code(case)
    config = SimulationConfig(code, _start(start), days, noise, 0.0, seed, horizon, shadow=baseline)
    config.check()
    with opened(store) as twin:
        session = run_session(twin, config, "memory", None, foresight=False)
    if steps:
        rows = step_rows(session.run)
        render(out, list(rows[0]) if rows else ["step"], rows, Format.TABLE, title="Step by step")
    render(
        out, ["kpi", "baseline", "agents"], kpi_rows(session.run), Format.TABLE, title=f"Shadow: {baseline} vs agents"
    )


def register(app: typer.Typer) -> None:
    """Add ``simulate``, ``agents`` and ``shadow`` to ``app``."""
    app.command("simulate")(reports_errors(simulate_command))
    register_settings(agents_app)
    app.add_typer(agents_app, name="agents")
    app.add_typer(shadow_app, name="shadow")


def demo_stretch(twin: Twin, code: str, start: datetime) -> None:
    """The demo's last act: four simulated intervals, the second proposal blocked, the kill switch on the third."""
    session = demo_session(twin, code, start)
    rows = [
        {
            "step": r.offset,
            "time": r.at.isoformat(timespec="minutes"),
            "verdict": r.decision.verdict.outcome if r.decision.verdict else "-",
            "fallback": r.decision.fallback or "-",
            "incidents": ", ".join(sorted({i.kind for i in r.incidents})) or "-",
            "actuated": r.applied is not None,
        }
        for r in session.run.rounds
    ]
    render(out, list(rows[0]), rows, Format.TABLE, title="Agents in the sandbox (a blocked action, the kill switch)")
    out.print(
        "see `enertwin report policy-blocks`, `enertwin report kill-switches` and `enertwin report activities` "
        "for the records"
    )
