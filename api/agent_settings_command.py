"""``enertwin agents settings`` and ``enertwin agents set``: see and change the agents' settings in the graph."""

from __future__ import annotations

from typing import Annotated

import typer

from enertwin.agents.settings.values import SETTINGS, AgentSettings
from enertwin.api.common import DEFAULT_STORE, JsonOption, StoreOption, opened, out, reports_errors
from enertwin.api.output import Format, render

COLUMNS = ["setting", "value", "unit", "property"]


def setting_rows(settings: AgentSettings) -> list[dict[str, object]]:
    """One row per setting: its name, value, unit, property and the role that uses it."""
    return [
        {"setting": s.name, "value": settings.values[s.name], "unit": s.unit, "property": s.curie, "role": s.role}
        for s in SETTINGS
    ]


def _shown(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """Rows for the table: values as written (45, 0.25, 1e-06), not rounded to two decimals."""
    return [{**row, "value": f"{row['value']:g}"} for row in rows]


@reports_errors
def settings_command(store: StoreOption = DEFAULT_STORE, as_json: JsonOption = False) -> None:
    """Print the settings the agents run with (the shipped ones while the store has none)."""
    with opened(store, read_only=True) as twin:
        settings = twin.agent_settings()
    rows = setting_rows(settings)
    if as_json:
        out.print_json(data={"source": settings.source, "settings": rows})
        return
    render(out, COLUMNS, _shown(rows), Format.TABLE, title=f"Agent settings ({settings.source})")


@reports_errors
def set_setting_command(
    setting: Annotated[str, typer.Argument(help="The setting, e.g. gate-max-age (see `enertwin agents settings`).")],
    value: Annotated[str, typer.Argument(help="The new value, in the setting's unit (minutes, seconds, ...).")],
    reason: Annotated[str, typer.Option("--reason", help="Why, kept in the change's record.")],
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Change one setting: validated by the shapes (a bad value exits 5, nothing changes) and recorded."""
    with opened(store) as twin:
        done = twin.set_agent_setting(setting, value, reason)
    before = ", ".join(t.value for t in done.before) or "nothing"
    after = done.after.value
    out.print(
        f"{setting}: {before} → {after}; version {done.version.value}, recorded as {done.receipt.graph.value}",
        highlight=False,
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    """Add ``settings`` and ``set`` to the ``agents`` group."""
    app.command("settings")(settings_command)
    app.command("set")(set_setting_command)
