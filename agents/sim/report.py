"""``--report DIR``: PNG plots of a simulated run and one HTML page with them and the KPI table."""

from __future__ import annotations

import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from enertwin.agents.sim.kpis import Kpis
from enertwin.agents.sim.simulation import SimulationRun
from enertwin.kg.errors import InputError

PLOTS = ("dispatch", "state_of_charge", "price", "timeline")
REGRET_NOTE = (
    "Regret is the run's cost minus the perfect-foresight optimum of the same days, whose stores must end at "
    "least as full as the agents' run left them (end_storage_mwh in total), so that stored energy counts alike."
)


def write_report(run: SimulationRun, kpis: Kpis, folder: Path) -> Path:
    """Write the plots and ``index.html`` into ``folder`` (created); the page's path."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the report folder {folder}: {exc.strerror or exc}") from exc
    instants = [run.truth.horizon.time_at(t).timestamp() for t in range(len(run.plant.outcomes))]
    times = np.array(instants) / 86_400.0  # matplotlib's date numbers: days since 1970-01-01 UTC
    for name, draw in zip(PLOTS, (_dispatch, _soc, _price, _timeline), strict=True):
        figure, axes = plt.subplots(figsize=(10, 3.6))
        draw(run, times, axes)
        axes.set_xlim(times[0], times[-1] + (times[1] - times[0] if len(times) > 1 else 1 / 96))  # the run only
        axes.xaxis_date(run.truth.horizon.start.tzinfo)
        axes.grid(alpha=0.3)
        figure.autofmt_xdate()
        figure.tight_layout()
        figure.savefig(folder / f"{name}.png", dpi=90)
        plt.close(figure)
    page = folder / "index.html"
    page.write_text(_page(run, kpis), encoding="utf-8")
    return page


def _dispatch(run: SimulationRun, times: np.ndarray, axes: Axes) -> None:
    outcomes, truth = run.plant.outcomes, run.truth
    layers: dict[str, np.ndarray] = {}
    for i, unit in enumerate(truth.thermal):
        fuel = unit.costs.fuel_code
        layers[fuel] = layers.get(fuel, np.zeros(len(outcomes))) + np.array([o.thermal_mw[i] for o in outcomes])
    layers["renewables"] = np.array([o.renewable_mw for o in outcomes])
    storage = np.array([sum(o.storage_mw) for o in outcomes])
    layers["storage discharge"] = np.maximum(storage, 0.0)
    layers["market buy"] = np.array([o.buy_mw for o in outcomes])
    layers["unserved"] = np.array([o.unserved_mw for o in outcomes])
    axes.stackplot(times, *layers.values(), labels=list(layers), step="post")
    axes.plot(times, [o.demand_mw for o in outcomes], color="black", lw=1, label="demand")
    below = np.array([o.sell_mw for o in outcomes]) + np.maximum(-storage, 0.0)
    axes.fill_between(times, 0, -below, step="post", alpha=0.4, label="sell + storage charge")
    axes.set_title("Dispatch by fuel and storage (MW)")
    axes.legend(fontsize=7, ncol=4, loc="upper left")


def _soc(run: SimulationRun, times: np.ndarray, axes: Axes) -> None:
    for j, store in enumerate(run.truth.storage):
        axes.plot(times, [s[j] for s in run.plant.soc], lw=1, label=store.name)
    axes.set_title("State of charge (MWh)")
    if len(run.truth.storage) <= 8:
        axes.legend(fontsize=7)


def _price(run: SimulationRun, times: np.ndarray, axes: Axes) -> None:
    axes.step(times, run.truth.market.price[: len(times)], where="post")
    axes.set_title("Market price (EUR/MWh)")


def _timeline(run: SimulationRun, times: np.ndarray, axes: Axes) -> None:
    rows = {"blocked": 3, "fallback": 2, "incident": 1, "kill switch": 0}
    for r in run.rounds:
        marks = []
        if r.decision.blocked:
            marks.append("blocked")
        if r.decision.fallback:
            marks.append("fallback")
        if r.incidents:
            marks.append("incident")
        for mark in marks:
            axes.plot([times[r.offset]], [rows[mark]], marker="|", ms=14, ls="", color="C3")
    for offset, what in run.switch_events:
        axes.plot([times[offset]], [rows["kill switch"]], marker="v" if what == "kill" else "^", ms=8, ls="")
    axes.set_yticks(list(rows.values()), list(rows))
    axes.set_ylim(-0.5, 3.5)
    axes.set_title("Blocks, fallbacks, incidents and kill-switch events")


def _page(run: SimulationRun, kpis: Kpis) -> str:
    c = run.config
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in kpis.as_dict().items()
    )
    images = "".join(f'<h2>{name.replace("_", " ")}</h2><img src="{name}.png" alt="{name}">' for name in PLOTS)
    title = f"enertwin simulation: {c.case} from {c.start.isoformat()} for {c.days:g} day(s)"
    settings = f"noise σ {c.noise:g}, dropout {c.dropout:g}, seed {c.seed}, horizon {c.horizon} steps, run {run.run}"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:1000px;margin:auto}td,th{padding:2px 8px;text-align:left}"
        "img{max-width:100%}</style></head>"
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(settings)}</p>"
        f"<table>{rows}</table><p>{html.escape(REGRET_NOTE)}</p>{images}</body></html>\n"
    )
