"""The hash of a set of series: a schedule's values, so a record can vouch for what is in DuckDB."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import numpy as np

SeriesEntry = tuple[str | None, str, np.ndarray]  # asset IRI (or None), quantity, values


def series_digest(series: Mapping[str, SeriesEntry]) -> str:
    """Hex SHA-256 over every series in key order: its key, asset, quantity, length and float64 values."""
    digest = hashlib.sha256()
    for key in sorted(series):
        asset, quantity, values = series[key]
        digest.update(f"{key}\0{asset or ''}\0{quantity}\0{len(values)}\0".encode())
        digest.update(np.asarray(values, dtype="<f8").tobytes())
    return digest.hexdigest()
