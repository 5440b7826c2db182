"""The instants of SimBench's profile rows, read from SimBench's own ``time`` labels.

SimBench labels each row with German wall-clock time: the night summer time begins has no
02:00–02:45, the night it ends has them twice. Read in order, the labels are instants of a
regular series; the importer records the first instant with its offset and the zone, and
refuses a table whose labels are not such a series (it would shift every value after the gap).
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

from enertwin.kg.errors import InputError

SIMBENCH_TIME_ZONE = "Europe/Berlin"
LABEL_FORMAT = "%d.%m.%Y %H:%M"


def profile_start(profiles: dict[str, pd.DataFrame], step: timedelta, code: str) -> pd.Timestamp:
    """The instant of row 0 that every non-empty profile table of ``code`` agrees on."""
    starts: dict[str, pd.Timestamp] = {}
    checked: list[tuple[pd.Series, pd.Timestamp]] = []  # tables usually share labels: parse each set once
    for table, frame in profiles.items():
        if not len(frame) or "time" not in frame.columns:
            continue
        labels = frame["time"]
        known = next((start for seen, start in checked if seen.equals(labels)), None)
        if known is None:
            known = _regular_start(labels, step, f"SimBench {code} profile table {table!r}")
            checked.append((labels, known))
        starts[table] = known
    if not starts:
        raise InputError(f"SimBench {code}: no profile table has a 'time' column to place its rows in time")
    first = next(iter(starts.values()))
    for table, start in starts.items():
        if start != first:
            raise InputError(
                f"SimBench {code}: profile table {table!r} starts at {start.isoformat()}, "
                f"the others at {first.isoformat()}; profiles of one grid must share their rows' instants"
            )
    return first


def _regular_start(labels: pd.Series, step: timedelta, what: str) -> pd.Timestamp:
    """The first instant of ``labels`` (wall-clock in SIMBENCH_TIME_ZONE) if they step evenly as instants."""
    try:
        wall = pd.DatetimeIndex(pd.to_datetime(labels.astype(str), format=LABEL_FORMAT))
        instants = wall.tz_localize(SIMBENCH_TIME_ZONE, ambiguous="infer", nonexistent="raise")
    except Exception as exc:  # pandas (or pytz under it): unparsable label, a skipped hour, an unorderable repeat
        raise InputError(
            f"{what}: its 'time' labels are not {SIMBENCH_TIME_ZONE} wall-clock times in order ({exc})"
        ) from exc
    bad = np.flatnonzero((instants[1:] - instants[:-1]) != pd.Timedelta(step))
    if bad.size:
        row = int(bad[0]) + 1
        raise InputError(
            f"{what}: row {row} is labelled {labels.iloc[row]!r} after {labels.iloc[row - 1]!r}; "
            f"as instants in {SIMBENCH_TIME_ZONE} rows must be {step} apart"
        )
    return pd.Timestamp(instants[0])
