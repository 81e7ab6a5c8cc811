"""Numbers that must be the same on every CPU: the array exp/log and the moments in model.detmath."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from model import detmath


def test_exp_and_log_are_the_c_librarys_element_by_element():
    x = np.random.default_rng(3).normal(0.0, 3.0, (40, 25))
    e, lg = detmath.exp(x), detmath.log(np.abs(x))
    assert e.shape == x.shape and lg.shape == x.shape
    assert [v.hex() for v in e.ravel().tolist()] == [math.exp(v).hex() for v in x.ravel().tolist()]
    assert [v.hex() for v in lg.ravel().tolist()] == [math.log(abs(v)).hex() for v in x.ravel().tolist()]


def test_log_at_zero_negative_and_nan_is_what_numpy_gives():
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.log(np.array([0.0, -1.0, np.nan, np.inf]))
    assert np.array_equal(detmath.log([0.0, -1.0, np.nan, np.inf]), expected, equal_nan=True)
    assert detmath.exp([]).shape == (0,)


@pytest.mark.parametrize("n", [4, 5, 30, 2500])
def test_skew_and_kurtosis_are_scipys_bias_corrected_definitions(n):
    x = np.random.default_rng(n).standard_t(3, size=(4, n)) * 0.01 + 0.002
    skew, kurt = detmath.skew_kurtosis(x, axis=1)
    np.testing.assert_allclose(skew, stats.skew(x, axis=1, bias=False), rtol=1e-12)
    np.testing.assert_allclose(kurt, stats.kurtosis(x, axis=1, fisher=True, bias=False), rtol=1e-12)
    one = detmath.skew_kurtosis(x[0])
    assert one[0].shape == () and float(one[0]) == skew[0] and float(one[1]) == kurt[0]


def test_skew_and_kurtosis_are_nan_without_variance_or_enough_points():
    assert all(math.isnan(float(v)) for v in detmath.skew_kurtosis(np.full(10, 0.3)))
    skew, kurt = detmath.skew_kurtosis(np.array([1.0, 2.0, 4.0]))
    assert math.isfinite(float(skew)) and math.isnan(float(kurt))


def _short_run_digest() -> str:
    from model.results import run_simulation

    r = run_simulation(scenario="risk_off", seed=4, days=60)
    arrays = {c: np.asarray(r.timeseries[c], dtype=float) for c in ("usdjpy", "hf_net_usd_bn", "risk_index")}
    series = {c: [v.hex() for v in a.tolist()] for c, a in arrays.items()}
    summary = {k: v for k, v in r.summary.items() if isinstance(v, float)}
    return json.dumps({"series": series, "summary": summary}, sort_keys=True)


def test_a_run_is_the_same_with_numpys_widest_cpu_loops_switched_off():
    # NumPy picks loops by CPU (AVX-512 ones where the CPU has them); a machine without them must
    # give the same run. On a CPU without them there is nothing to switch off, and nothing to compare.
    from numpy._core import _multiarray_umath as umath

    # NumPy >= 2.4 names its AVX-512 targets X86_V4, AVX512_ICL and AVX512_SPR; earlier ones AVX512F, AVX512_SKX, ...
    names = ("X86_V4", "AVX512F", "AVX512_SKX", "AVX512_CLX", "AVX512_CNL", "AVX512_ICL", "AVX512_SPR")
    # the loops NumPy dispatches to at run time that this CPU has (a name that is only a feature, not a
    # dispatch target, cannot be switched off: NumPy ignores it with a warning)
    wide = [f for f in names if f in umath.__cpu_dispatch__ and umath.__cpu_features__.get(f)]
    if not wide:
        pytest.skip("this CPU has no AVX-512 loops to switch off")
    env = {**os.environ, "NPY_DISABLE_CPU_FEATURES": " ".join(wide)}
    code = (
        "import json; from numpy._core import _multiarray_umath as umath; import tests.model.test_detmath as t; "
        f"print(json.dumps({{f: bool(umath.__cpu_features__.get(f)) for f in {wide!r}}})); print(t._short_run_digest())"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    switched, digest = out.stdout.strip().splitlines()[-2:]
    assert json.loads(switched) == dict.fromkeys(wide, False)
    assert digest == _short_run_digest()


def test_a_summary_has_the_skewness_from_three_returns_and_the_kurtosis_from_four():
    from model.model import CarryUnwindModel
    from model.results import summarize

    model = CarryUnwindModel(seed=1, collect=False, hedge_funds__n_funds=20, simulation__days=4)
    model.run_for(4)
    df = model.timeseries()
    r = np.diff(np.log(df["usdjpy"].to_numpy()))
    three, four = summarize(df.iloc[:4]), summarize(df)
    assert three["usdjpy_logret_skew"] == pytest.approx(stats.skew(r[:3], bias=False), rel=1e-12)
    assert three["usdjpy_logret_excess_kurtosis"] is None  # undefined from 3 returns
    assert four["usdjpy_logret_excess_kurtosis"] == pytest.approx(stats.kurtosis(r, bias=False), rel=1e-12)
