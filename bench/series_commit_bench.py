"""What staging a write's series (then promoting them after the graph commit) costs.

Writes a profile-shaped frame (35,136 quarter-hours × N columns) into a fresh DuckDB
series file twice (a first write, then a replacement) and prints the times.
``python bench/series_commit_bench.py [--columns 18 180]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from enertwin.kg.series import SeriesStore

STEPS = 35_136  # one leap year of quarter-hours, as SimBench profiles


def main() -> None:
    """Time a first write and a replacement for each column count."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", type=int, nargs="+", default=[18, 180])
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    for columns in args.columns:
        frame = pd.DataFrame(rng.random((STEPS, columns)), columns=[f"p/{i}" for i in range(columns)])
        with tempfile.TemporaryDirectory() as tmp:
            series = SeriesStore(Path(tmp) / "series.duckdb")
            times = []
            for _ in range(2):
                began = time.perf_counter()
                series.replace(frame, "p/")
                times.append(time.perf_counter() - began)
            series.close()
        print(f"{frame.size:>10,} values: first write {times[0]:.2f} s, replacement {times[1]:.2f} s")


if __name__ == "__main__":
    main()
