"""Fit the MoF's signalling coefficient on two intervention days and check it on the other two.

The MoF's intervention shifts participants' perceived ceiling by ``−κ·X`` in ln USD/JPY on the
day (``mof.signal_log_per_jpy_tn``, :mod:`agents.mof`). The same-day effect on the close of one
intervention of ``X`` (¥ tn), against its twin on the same seed, is measured in the model exactly as
:mod:`experiments.analysis.interventions` does: the baseline started at the day's pre-intervention
level, the intervention rule off, the event on day 20, the median over seeds of
``100·(ln S_with − ln S_without)``.

The record (amounts: MoF, Foreign Exchange Intervention Operations; levels before the intervention
and at the day's close, New York, from market reports):

============  =======  ======  =====  ========
day           ¥ tn     before  close  role
============  =======  ======  =====  ========
22 Sep 2022   2.838    145.9   142.4  fit
21 Oct 2022   5.620    151.9   147.6  check
29 Apr 2024   5.915    160.2   156.3  fit
11 Jul 2024   3.168    161.6   158.9  check (a soft US CPI the same day)
============  =======  ======  =====  ========

The signal enters the day's clearing linearly, so the model's median effect on day ``i`` is close to
affine in κ, ``m_i(κ) ≈ a_i + b_i·κ``: ``a_i`` is measured at κ = 0 and ``b_i`` from one probe
κ. κ minimises ``Σ_fit (a_i + b_i·κ − r_i)²`` over the fit days (``r_i`` the record's
``100·ln(close/before)``), in closed form, clipped to the parameter's range; the model is then run
at the fitted κ on all four days and the gaps are reported (fit and check).

The signal's half-life (``mof.signal_halflife_days``) does not change the same-day effect; it is
chosen second, on a grid, as the one whose median share of the same-day effect left after 5 trading
days, on the fit days, is closest to "about half" (:data:`SHARE_AFTER_WEEK`, a round figure: the
record shows 0.60 left 2 trading days later, 22 Sep 2022: 145.9 → 142.4 on the day, 143.8 on 26
Sep). The grid's shortest half-life is closest to either figure, at the parameter's lower bound:
the half-life is not identified. Run and write the JSON the parameters cite::

    python -m experiments.calibration.intervention --seeds 10 --out experiments/calibration/results/intervention.json
"""

from __future__ import annotations

import logging
import math
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

__all__ = [
    "RECORD",
    "FIT_DAYS",
    "CHECK_DAYS",
    "SHARE_AFTER_WEEK",
    "HALFLIFE_GRID",
    "record_move_pct",
    "linear_response",
    "fit_kappa",
    "fit_halflife",
    "calibrate",
    "main",
]

# day: (¥ tn bought, USD/JPY before, USD/JPY at the day's close)
RECORD: dict[str, tuple[float, float, float]] = {
    "2022-09-22": (2.838, 145.9, 142.4),
    "2022-10-21": (5.620, 151.9, 147.6),
    "2024-04-29": (5.915, 160.2, 156.3),
    "2024-07-11": (3.168, 161.6, 158.9),
}
FIT_DAYS = ("2022-09-22", "2024-04-29")
CHECK_DAYS = ("2022-10-21", "2024-07-11")
# about half of the same-day move left a week (5 trading days) later: a round figure; the record shows 0.60 left
# 2 trading days later (22 Sep 2022: 145.9 → 142.4 at the close, 143.8 on 26 Sep). Either way the grid's
# shortest half-life comes closest (the model keeps ~0.65 at any half-life on the grid's low end): not identified
SHARE_AFTER_WEEK = 0.5
HALFLIFE_GRID = (0.5, 1.0, 2.0, 3.0, 5.0, 10.0)
PROBE_KAPPA = 0.005
KAPPA_RANGE = (0.0, 0.05)  # MofConfig.signal_log_per_jpy_tn's declared range


def record_move_pct(day: str) -> float:
    """The record's same-day move on ``day``: ``100·ln(close/before)`` (%)."""
    _, before, close = RECORD[day]
    return 100.0 * math.log(close / before)


def linear_response(
    effect: Callable[[str, float], float], days: Sequence[str], probe: float
) -> dict[str, tuple[float, float]]:
    """``{day: (a, b)}``: the effect at κ = 0 and its slope in κ from one probe, ``effect(day, κ)``."""
    if not probe > 0:
        raise ValueError(f"probe = {probe!r} is not allowed; expected a positive κ")
    out = {}
    for day in days:
        a = effect(day, 0.0)
        out[day] = (a, (effect(day, probe) - a) / probe)
    return out


def fit_kappa(response: dict[str, tuple[float, float]], targets: dict[str, float],
              bounds: tuple[float, float] = KAPPA_RANGE) -> float:  # fmt: skip
    """κ minimising ``Σ (a_i + b_i·κ − r_i)²`` over the days of ``response``, clipped to ``bounds``."""
    days = list(response)
    if not days:
        raise ValueError("response is empty; expected at least one fit day")
    missing = [d for d in days if d not in targets]
    if missing:
        raise ValueError(f"targets lack the fit days {missing}")
    a = np.array([response[d][0] for d in days])
    b = np.array([response[d][1] for d in days])
    r = np.array([targets[d] for d in days])
    if not np.all(np.isfinite(a)) or not np.all(np.isfinite(b)) or not np.all(np.isfinite(r)):
        raise ValueError("response or targets are not finite; expected finite effects (a run failed to clear?)")
    if not (b * b).sum() > 0:
        raise ValueError("the effect does not respond to κ on the fit days; κ is not identified")
    kappa = float((b * (r - a)).sum() / (b * b).sum())
    return float(min(max(kappa, bounds[0]), bounds[1]))


def fit_halflife(share: Callable[[float], float], grid: Sequence[float] = HALFLIFE_GRID,
                 target: float = SHARE_AFTER_WEEK) -> tuple[float, dict[float, float]]:  # fmt: skip
    """The half-life on ``grid`` whose ``share(h)`` (left after 5 days) is closest to ``target``;
    returns it and every grid point's share."""
    shares = {float(h): float(share(h)) for h in grid}
    finite = {h: s for h, s in shares.items() if math.isfinite(s)}
    if not finite:
        raise ValueError("no half-life on the grid gave a finite share")
    best = min(finite, key=lambda h: (abs(finite[h] - target), h))
    return best, shares


def _effects(days: Sequence[str], overrides: dict[str, Any], seeds: int, workers: int) -> dict[str, list[dict]]:
    from experiments.analysis.interventions import twin_effect
    from experiments.runner import run_tasks

    tasks = [(overrides, RECORD[d][0], s, RECORD[d][1]) for d in days for s in range(1, seeds + 1)]
    results = run_tasks(twin_effect, tasks, workers=workers, progress=False)
    return {d: results[i * seeds : (i + 1) * seeds] for i, d in enumerate(days)}


def _median(values) -> float:
    """The median of the runs that cleared (a failed twin run's effect is NaN; :func:`_failed` counts them)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(np.median(v)) if v.size else math.nan


def _failed(runs: Sequence[dict], key: str) -> int:
    """Twin runs with no effect ``key`` (one of the twins failed to clear): counted, never dropped unsaid."""
    return int(sum(not math.isfinite(float(r[key])) for r in runs))


def calibrate(seeds: int, workers: int = 1) -> dict[str, Any]:
    """Fit κ on :data:`FIT_DAYS`, check on :data:`CHECK_DAYS`, then choose the half-life."""
    cache: dict[tuple[str, float], float] = {}

    def effect(day: str, kappa: float) -> float:
        if (day, kappa) not in cache:
            runs = _effects([day], {"mof__signal_log_per_jpy_tn": kappa}, seeds, workers)[day]
            cache[(day, kappa)] = _median([r["effect_pct_d0"] for r in runs])
        return cache[(day, kappa)]

    targets = {d: record_move_pct(d) for d in RECORD}
    response = linear_response(effect, FIT_DAYS, PROBE_KAPPA)
    kappa = fit_kappa(response, targets)
    at_fit = _effects(list(RECORD), {"mof__signal_log_per_jpy_tn": kappa}, seeds, workers)
    days = {}
    for d, runs in at_fit.items():
        model = _median([r["effect_pct_d0"] for r in runs])
        days[d] = {
            "role": "fit" if d in FIT_DAYS else "check",
            "failed_runs": _failed(runs, "effect_pct_d0"),
            "jpy_tn": RECORD[d][0],
            "before": RECORD[d][1],
            "close": RECORD[d][2],
            "record_pct": targets[d],
            "record_pct_per_jpy_tn": targets[d] / RECORD[d][0],
            "model_pct": model,
            "model_pct_per_jpy_tn": model / RECORD[d][0],
            "gap_pct": model - targets[d],
            "linear_prediction_pct": response[d][0] + response[d][1] * kappa if d in response else None,
        }

    halflife_failed: dict[str, int] = {}

    def share(h: float) -> float:
        over = {"mof__signal_log_per_jpy_tn": kappa, "mof__signal_halflife_days": h}
        runs = [r for rs in _effects(FIT_DAYS, over, seeds, workers).values() for r in rs]
        halflife_failed[str(float(h))] = _failed(runs, "effect_pct_d5")
        return _median([r["effect_pct_d5"] / r["effect_pct_d0"] for r in runs])

    halflife, shares = fit_halflife(share)
    failed = sum(v["failed_runs"] for v in days.values()) + sum(halflife_failed.values())
    if failed:
        log.warning("intervention calibration: %d twin runs failed to clear; the medians are over the others", failed)
    return {
        "seeds": seeds,
        "fit_days": list(FIT_DAYS),
        "check_days": list(CHECK_DAYS),
        "probe_kappa": PROBE_KAPPA,
        "response": {d: {"a_pct": a, "b_pct_per_unit_kappa": b} for d, (a, b) in response.items()},
        "kappa_log_per_jpy_tn": kappa,
        "days": days,
        "check_mean_abs_gap_pct": float(np.mean([abs(days[d]["gap_pct"]) for d in CHECK_DAYS])),
        "share_after_week_target": SHARE_AFTER_WEEK,
        "share_left_d5_by_halflife": {str(h): s for h, s in shares.items()},
        "failed_runs_by_halflife": halflife_failed,
        "failed_runs": failed,
        "halflife_days": halflife,
    }


def main(argv: list[str] | None = None) -> int:
    from experiments.calibration.search import parse_arguments, write_result

    args = parse_arguments("python -m experiments.calibration.intervention", __doc__, argv, fixable=False, seeds=10)
    from experiments.runner import beside, command_settings, resumable

    with resumable(beside(args.out), command_settings(args, "experiments.calibration.intervention")):
        return write_result(calibrate(args.seeds, args.workers), args.out, brief=False)


if __name__ == "__main__":
    sys.exit(main())
