"""Engine equivalence: the plain-Mesa reference engine (one Python agent per fund, SciPy solver)
and the array/numba engine give the same prices."""

from __future__ import annotations

import numpy as np
import pytest

from model.model import CarryUnwindModel

DAYS = 30


def prices(model) -> np.ndarray:
    return np.array([model.history[c] for c in ("usdjpy", "ust10y_yield", "jgb10y_yield")])


@pytest.mark.parametrize(
    "seed, scenario, overrides",
    [(0, "baseline", {}), (1, "baseline", {}), (2, "risk_off", {"hedge_funds__max_leverage": 25.0})],
)
def test_mesa_and_numba_engines_give_the_same_prices(seed, scenario, overrides):
    runs = {}
    for engine in ("numba", "mesa"):
        model = CarryUnwindModel(seed=seed, scenario=scenario, engine=engine, hedge_funds__n_funds=50, **overrides)
        for _ in range(DAYS):
            model.step()
        runs[engine] = model
    assert (
        runs["mesa"].sectors["hedge_funds"].engine is not None and runs["numba"].sectors["hedge_funds"].engine is None
    )
    a, b = prices(runs["numba"]), prices(runs["mesa"])
    assert a.shape == (3, DAYS + 1)
    assert np.ptp(a[0]) > 0.1  # USD/JPY moves: the comparison is not of two constants
    np.testing.assert_allclose(b, a, rtol=1e-9, atol=0.0)
    for col in ("hf_margin_calls", "hf_failures", "hf_alive"):
        assert runs["numba"].history[col] == runs["mesa"].history[col], col
    np.testing.assert_allclose(
        runs["mesa"].hedge_funds.equity_book_usd_bn, runs["numba"].hedge_funds.equity_book_usd_bn, rtol=1e-8, atol=1e-12
    )
