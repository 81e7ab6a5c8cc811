"""Fit the risk index's own coefficients to the VIX's own moments on the baseline (seeded search).

The risk index (:mod:`model.risk`) has five coefficients: its persistence ``ρ``, its response to
the day's USD/JPY move ``a`` (standardised by the volatility expected that morning), its response to
forced sales ``c``, its response to the US equity return ``e`` and the sd of its news term. They
are set so that the index, simulated on the calm ``baseline`` scenario, has the VIX's own moments —
never on an episode:

==========================  =======  ==============================================
moment of ln v               target   source
==========================  =======  ==============================================
median of v                  17.6     CBOE VIX daily closes 1990-2023
sd of daily Δ ln v           0.07     CBOE VIX daily closes 1990-2023
AR(1) of ln v                0.98     CBOE VIX daily closes 1990-2023
==========================  =======  ==============================================

Three moments do not identify five coefficients in a calm baseline where forced sales are rare:
``c`` is held at its prior (``market.risk_forced_sensitivity``), ``e`` at its sourced slope of daily
ln VIX changes on equity returns (``market.risk_equity_sensitivity``), and the search fits ``ρ``,
``a`` and the news sd (what the model's own channels leave of the VIX's daily variance). The
objective is the sum of squared relative gaps (the AR(1) relative to its distance from 1),
averaged over seeds 1..S of ``days`` days after a 250-day burn-in, plus the share of runs that end
in a clearing failure. The search (:mod:`experiments.calibration.search`) is a seeded uniform
random search followed by a local refinement around the best point; its output (JSON) lists every
candidate, so the choice can be audited and re-run::

    python -m experiments.calibration.risk_index --candidates 32 --seeds 6 --days 1500 --workers 2

(the script's defaults; the committed fit, ``experiments/calibration/results/risk_index.json``, which
the risk index's coefficients cite, ran ``--candidates 24 --seeds 4 --days 1250 --workers 2`` at commit
e91c18e, with an earlier version of the search whose output lacks the ``profile``, ``fixed`` and
``log_scale`` fields)

``--score-defaults`` scores the current defaults instead (the same seeds and days), to see whether
a committed fit still holds on the model as it is now.
"""

from __future__ import annotations

import sys

import numpy as np

from experiments.analysis.targets import BURN_IN  # days dropped before the moments, as validation drops them

__all__ = ["TARGETS", "BOUNDS", "moments_of_run", "objective", "score", "main"]

TARGETS = {"median_v": 17.6, "sd_dlogv": 0.07, "ar1_logv": 0.98}
BOUNDS = {
    "market__risk_persistence": (0.95, 0.99),
    "market__risk_vol_sensitivity": (0.0, 0.15),
    "market__risk_news_sd": (0.0, 0.09),
}
SEARCH_SEED = 20261201


def moments_of_run(task: tuple[dict, int, int]) -> dict[str, float]:
    """The three moments of ln v in one baseline run ``(overrides, seed, days)`` (NaN, and
    ``failed = 1``, where the run ends in a clearing failure)."""
    from model import detmath
    from model.clearing import ClearingError
    from model.model import CarryUnwindModel
    from model.results import check_accounting, run_name

    overrides, seed, days = task
    model = CarryUnwindModel(scenario="baseline", seed=seed, collect=False, **overrides)
    try:
        model.run_days(days + BURN_IN)
    except ClearingError:
        return {**dict.fromkeys(TARGETS, float("nan")), "failed": 1.0}
    check_accounting(model, f"{run_name(model)}, {overrides}")
    v = np.asarray(model.series("risk_index"), dtype=float)[BURN_IN:]
    lv = detmath.log(v)
    d = np.diff(lv)
    x, y = lv[:-1] - lv.mean(), lv[1:] - lv.mean()
    return {"median_v": float(np.median(v)), "sd_dlogv": float(d.std(ddof=1)),
            "ar1_logv": float((x * y).sum() / (x * x).sum()), "failed": 0.0}  # fmt: skip


def objective(moments: dict[str, float]) -> float:
    """Sum of squared relative gaps to :data:`TARGETS` (the AR(1) relative to 1 − target)."""
    gap_m = (moments["median_v"] - TARGETS["median_v"]) / TARGETS["median_v"]
    gap_s = (moments["sd_dlogv"] - TARGETS["sd_dlogv"]) / TARGETS["sd_dlogv"]
    gap_a = (moments["ar1_logv"] - TARGETS["ar1_logv"]) / (1.0 - TARGETS["ar1_logv"])
    return float(gap_m**2 + gap_s**2 + gap_a**2)


def score(runs) -> tuple[float, dict]:
    """The objective of one candidate's runs: :func:`objective` of the moments' mean over the runs that
    cleared, plus the share that failed (a failed run costs as much as a 100% miss of a moment)."""
    ok = [r for r in runs if not r["failed"]]
    failed = 1.0 - len(ok) / len(runs)
    if not ok:
        return float("inf"), {"moments": {}, "failed_share": failed}
    mean = {k: float(np.mean([r[k] for r in ok])) for k in TARGETS}
    return objective(mean) + failed, {"moments": mean, "failed_share": failed}


def search(candidates: int, seeds: int, days: int, workers: int, fixed: dict | None = None) -> dict:
    from experiments.calibration.search import search as seeded_search

    result = seeded_search(moments_of_run, score, BOUNDS, candidates=candidates, seeds=seeds, days=days,
                           workers=workers, search_seed=SEARCH_SEED, fixed=fixed)  # fmt: skip
    return {"targets": TARGETS, "burn_in": BURN_IN, **result}


def main(argv: list[str] | None = None) -> int:
    from experiments.calibration.search import parse_arguments, write_result

    args = parse_arguments("python -m experiments.calibration.risk_index", __doc__, argv, searched=tuple(BOUNDS),
                           candidates=32, seeds=6, days=1500)  # fmt: skip
    from experiments.runner import beside, command_settings, resumable

    with resumable(beside(args.out), command_settings(args, "experiments.calibration.risk_index")):
        if args.score_defaults:
            from experiments.calibration.search import score_point

            result = score_point(
                moments_of_run, score, args.fixed, seeds=args.seeds, days=args.days, workers=args.workers
            )
            return write_result({"targets": TARGETS, "burn_in": BURN_IN, **result}, args.out)
        return write_result(search(args.candidates, args.seeds, args.days, args.workers, args.fixed), args.out)


if __name__ == "__main__":
    sys.exit(main())
