"""Where a start the user names falls on a grid's time axis.

Profiles are regular series of instants; people name times on the wall clock of the grid's zone.
A start with an offset (or ``Z``) is that instant; one without is wall-clock time in the zone,
which is refused where the clock skips it (spring) or shows it twice (autumn), since either
guess would place the whole horizon an hour off.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from enertwin.kg.errors import InputError


def zone_named(name: str, grid: str) -> ZoneInfo:
    """The IANA zone ``name`` the grid records (et:timeZone); an unknown name is an :class:`InputError`."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(
            f"the grid <{grid}> names the time zone {name!r} (et:timeZone), which is not an IANA zone"
        ) from None


def locate(start: datetime, zone: ZoneInfo | None, grid: str) -> datetime:
    """The instant ``start`` names, shown on the wall clock of ``zone`` (or with its own offset if there is none)."""
    if start.tzinfo is not None:
        return start.astimezone(zone) if zone is not None else start
    if zone is None:
        raise InputError(
            f"give the start {_minutes(start)} an offset (e.g. {_minutes(start)}+01:00 or {_minutes(start)}Z): "
            f"the grid <{grid}> records no time zone (et:timeZone) to read a wall-clock time in"
        )
    first, second = start.replace(tzinfo=zone, fold=0), start.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first
    if _wall(first.astimezone(UTC).astimezone(zone)) != _wall(start):
        after = first.astimezone(UTC).astimezone(zone)
        raise InputError(
            f"the start {_minutes(start)} does not exist in {zone.key}: the clocks skip it that night; "
            f"give a time that exists or an instant with its offset, e.g. {after.isoformat(timespec='minutes')}"
        )
    raise InputError(
        f"the start {_minutes(start)} happens twice in {zone.key} (the clocks go back that night); give its offset: "
        f"{first.isoformat(timespec='minutes')} for the first, {second.isoformat(timespec='minutes')} for the second"
    )


def steps_between(origin: datetime, moment: datetime, step: timedelta) -> float:
    """How many ``step`` s lie between two instants (never wall-clock arithmetic)."""
    return (moment.astimezone(UTC) - origin.astimezone(UTC)) / step


def _wall(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None, fold=0)


def _minutes(moment: datetime) -> str:
    return moment.isoformat(timespec="minutes")
