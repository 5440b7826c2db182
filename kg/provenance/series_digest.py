"""The hash of a set of series: a schedule's values, so a record can vouch for what is in DuckDB.

An import's record vouches for each series it wrote with :func:`frame_digests`; ``audit verify
--deep`` reads them back and compares (:func:`stored_digest`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import numpy as np
import pandas as pd

SeriesEntry = tuple[str | None, str, np.ndarray]  # asset IRI (or None), quantity, values


def series_digest(series: Mapping[str, SeriesEntry]) -> str:
    """Hex SHA-256 over every series in key order: its key, asset, quantity, length and float64 values."""
    digest = hashlib.sha256()
    for key in sorted(series):
        asset, quantity, values = series[key]
        digest.update(f"{key}\0{asset or ''}\0{quantity}\0{len(values)}\0".encode())
        digest.update(np.asarray(values, dtype="<f8").tobytes())
    return digest.hexdigest()


def stored_digest(key: str, steps: np.ndarray, values: np.ndarray) -> str:
    """Hex SHA-256 of one series as the series store holds it: its key, its steps and their float64 values.

    The steps count, not only the order: a value moved to another step is read at another time.
    """
    digest = hashlib.sha256(f"{key}\0{len(values)}\0".encode())
    digest.update(np.asarray(steps, dtype="<i8").tobytes())
    digest.update(np.asarray(values, dtype="<f8").tobytes())
    return digest.hexdigest()


def frame_digests(frame: pd.DataFrame) -> dict[str, str]:
    """Series key → :func:`stored_digest` of each column of ``frame``, as the series store will hold it.

    Rows are steps from 0; a missing value (NaN) is not stored, so it is not hashed either.
    """
    out = {}
    for position, key in enumerate(frame.columns):
        values = frame.iloc[:, position].to_numpy(dtype=float)
        steps = np.flatnonzero(~np.isnan(values))
        out[str(key)] = stored_digest(str(key), steps, values[steps])
    return out
