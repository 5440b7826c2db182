"""The checker's market limit: Σ external-grid max_p_mw, unlimited as soon as one external grid gives none."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from .reference_dispatch import market_limit


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1410.0, 1360.0], 2770.0),
        ([1410.0, math.nan], None),  # one grid without a limit: the portfolio can trade any amount through it
        ([math.nan, math.nan, math.nan], None),  # 1-HV-mixed--2-sw
        ([500.0, None], None),
        ([500.0, math.inf], None),
        ([], 0.0),  # no external grid, no market
    ],
)
def test_market_limit(values: list, expected: float | None) -> None:
    assert market_limit(pd.Series(values, dtype=object)) == expected
