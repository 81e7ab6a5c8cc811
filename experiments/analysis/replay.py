"""The July-August 2024 replay from its inputs, measured over seeds and across the news sensitivities.

The ``boj_hike_2024`` scenario holds only inputs: data surprises, the MoF's interventions, policy
decisions and guidance. Nothing in it is the yen's, the VIX's or the carry stock's observed path.
This module runs it over seeds with the risk index's own news switched off (``market.risk_news_sd
= 0``), so that whatever moves the index comes from the model's channels. For each run it reports:

* the close-to-close **peak-to-trough fall** of USD/JPY over the first 60 trading days from 1 Jul
  2024 (observed: about −11% on closes, 161.7 on 10 Jul to about 144 on 5 Aug);
* the **peak of the risk index** (observed VIX close 38.6 on 5 Aug; intraday 65.7);
* the **fall of the carry stock** (``hf_net_usd_bn``) from its peak to its trough in the window
  (BIS Bulletin 90: 60-75% of the yen carry unwound);
* the trough day, days at the index's cap, and failed runs (a clearing failure counts as a failed
  run and is never dropped).

Every figure is given as the median over seeds with its 5-95% range and a seed-bootstrap interval of
the median, for the central news sensitivity and across the sensitivity's sourced range
(``market.growth_news_fed_path_pa`` and ``macro.growth_news_equity_per_sd`` both at the low, central
and high end). A figure shows the median path and 5-95% band against the observed closes::

    python -m experiments.analysis.replay --seeds 20 --workers 2 --out runs/replay
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from experiments.analysis.statistics import seed_spread
from experiments.analysis.targets import EPISODE_BANDS

__all__ = ["OBSERVED_CLOSES", "SENSITIVITIES", "replay_run", "replay_measures", "replay", "main"]

SCENARIO = "boj_hike_2024"
WINDOW_DAYS = 60
# Observed USD/JPY closes, for comparison only (approximate daily closes; BoJ / Federal Reserve H.10)
OBSERVED_CLOSES: dict[str, float] = {
    "2024-07-01": 161.5,
    "2024-07-10": 161.7,
    "2024-07-12": 157.9,
    "2024-07-25": 152.0,
    "2024-08-01": 149.5,
    "2024-08-02": 146.5,
    "2024-08-05": 144.0,
    "2024-08-07": 147.0,
    "2024-08-15": 149.0,
    "2024-09-16": 140.6,
}
# the news sensitivities at the ends of their sourced ranges: 2y yield per sd of a data surprise
# 5-10 bp (Gürkaynak, Kısacıkoğlu & Wright 2020), equities 0.3-1% per sd (Boyd, Hu & Jagannathan
# 2005; Gilbert et al. 2017)
SENSITIVITIES: dict[str, dict[str, float]] = {
    "low": {"market__growth_news_fed_path_pa": 0.0005, "macro__growth_news_equity_per_sd": 0.003},
    "central": {},
    "high": {"market__growth_news_fed_path_pa": 0.0012, "macro__growth_news_equity_per_sd": 0.01},
}


def replay_measures(usdjpy: np.ndarray, risk_index: np.ndarray, carry: np.ndarray, cap: float) -> dict[str, float]:
    """The replay's figures of one run over its window (arrays from day 0, the initial state).

    ``fall_pct``: the largest close-to-close fall of USD/JPY from a running peak, in %, negative;
    ``carry_fall_pct``: the largest fall of the carry stock from a running peak, in % of that peak,
    positive (both :func:`model.results.max_drawdown`).
    """
    from model.results import max_drawdown

    fall, _, trough = max_drawdown(np.asarray(usdjpy, dtype=float))
    carry_fall, _, _ = max_drawdown(np.asarray(carry, dtype=float))
    v = np.asarray(risk_index, dtype=float)
    return {
        "fall_pct": -100.0 * fall,
        "trough_day": float(trough),
        "risk_index_peak": float(v.max()),
        "carry_fall_pct": 100.0 * carry_fall,
        "days_at_cap": float(np.sum(v >= cap * (1.0 - 1e-12))),
    }


def replay_run(task: tuple[int, int, dict[str, Any]]) -> dict[str, Any]:
    """One seed of the replay: ``(seed, days, overrides)`` → its path and measures (``failed`` set
    and measures NaN where the run ends in a clearing failure)."""
    from model.clearing import ClearingError
    from model.model import CarryUnwindModel

    seed, days, overrides = task
    model = CarryUnwindModel(scenario=SCENARIO, seed=seed, collect=False, **overrides)
    failed = ""
    try:
        model.run_for(days)
    except ClearingError as err:
        failed = str(err).splitlines()[0]
    h = model.arrays()
    window = min(WINDOW_DAYS, len(h["usdjpy"]) - 1)
    measures = replay_measures(
        h["usdjpy"][: window + 1], h["risk_index"][: window + 1], h["hf_net_usd_bn"][: window + 1],
        model.config.market.risk_index_max,
    )  # fmt: skip
    if failed:
        measures = dict.fromkeys(measures, float("nan"))
    dates = [model.calendar.date(int(d)).isoformat() for d in h["day"]]
    return {"seed": seed, "failed": failed, "dates": dates, "usdjpy": h["usdjpy"].tolist(),
            "risk_index": h["risk_index"].tolist(), "carry": h["hf_net_usd_bn"].tolist(), **measures}  # fmt: skip


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"runs": len(runs), "failed_runs": sum(bool(r["failed"]) for r in runs)}
    for key in ("fall_pct", "trough_day", "risk_index_peak", "carry_fall_pct", "days_at_cap"):
        vals = np.array([r[key] for r in runs], dtype=float)
        out[key] = seed_spread(vals, of="median")
    band = EPISODE_BANDS["usdjpy_change_pct"]  # a failed run's NaN is never inside it
    out["share_in_band"] = float(np.mean([band.contains(r["fall_pct"]) for r in runs]))
    return out


def replay(seeds: int, *, days: int = WINDOW_DAYS + 5, workers: int = 1, news_sd: float = 0.0,
           progress: bool = True) -> dict[str, Any]:  # fmt: skip
    """Run the replay at each sensitivity over ``seeds`` seeds; return the report."""
    from experiments.runner import run_tasks

    report: dict[str, Any] = {"scenario": SCENARIO, "seeds": seeds, "days": days, "window_days": WINDOW_DAYS,
                              "risk_news_sd": news_sd, "by_sensitivity": {}}  # fmt: skip
    for name, extra in SENSITIVITIES.items():
        overrides = {"market__risk_news_sd": news_sd, **extra}
        tasks = [(seed, days, overrides) for seed in range(seeds)]
        runs = run_tasks(replay_run, tasks, workers=workers, progress=progress, desc=f"replay ({name})")
        report["by_sensitivity"][name] = {"overrides": extra, "summary": _summary(runs), "runs": runs}
    return report


def plot(report: dict[str, Any], path: Path) -> None:
    """Median path and 5-95% band of USD/JPY (central sensitivity) against the observed closes."""
    import matplotlib.dates as mdates

    from experiments.analysis.style import paper_figure, style_axes, style_legend

    runs = [r for r in report["by_sensitivity"]["central"]["runs"] if not r["failed"]]
    if not runs:
        return
    fig, axes = paper_figure("two", 3.2, 1, 2)
    n = min(len(r["usdjpy"]) for r in runs)
    dates = np.array([dt.date.fromisoformat(d) for d in runs[0]["dates"][:n]])
    for ax, key, label, obs in (
        (axes[0], "usdjpy", "USD/JPY", OBSERVED_CLOSES),
        # VIX closes (CBOE), for comparison only
        (axes[1], "risk_index", "risk index", {"2024-07-01": 12.4, "2024-08-02": 23.4, "2024-08-05": 38.6}),
    ):
        paths = np.array([r[key][:n] for r in runs])
        q05, q50, q95 = np.percentile(paths, [5, 50, 95], axis=0)
        ax.fill_between(dates, q05, q95, alpha=0.25, label="model 5-95%")
        ax.plot(dates, q50, lw=1.8, label="model median")
        od = [dt.date.fromisoformat(d) for d in obs]
        ax.plot(od, list(obs.values()), "o", ms=4, color="black", label="observed close")
        style_axes(ax, f"{label}, {len(runs)} seeds", label)
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
        style_legend(ax)
    fig.savefig(path.with_suffix(".png"), dpi=150)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.analysis.replay", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--news-sd", type=float, default=0.0, help="market.risk_news_sd (default 0: no news)")
    parser.add_argument("--out", default="", help="write <out>.json and <out>.png")
    args = parser.parse_args(argv)
    if not 1 <= args.seeds <= 1000:
        parser.error(f"--seeds = {args.seeds} is not allowed; expected 1 to 1000")
    if not 1 <= args.workers <= 256:
        parser.error(f"--workers = {args.workers} is not allowed; expected 1 to 256")
    if not 0.0 <= args.news_sd <= 0.12:  # market.risk_news_sd's range (NaN fails too)
        parser.error(f"--news-sd = {args.news_sd} is not allowed; expected a number in [0, 0.12]")
    report = replay(args.seeds, workers=args.workers, news_sd=args.news_sd)
    for name, part in report["by_sensitivity"].items():
        s = part["summary"]
        print(f"[{name}] failed runs {s['failed_runs']}/{s['runs']}; share of seeds with a fall in -18..-8%: "
              f"{s['share_in_band']:.2f}")  # fmt: skip
        for key in ("fall_pct", "trough_day", "risk_index_peak", "carry_fall_pct", "days_at_cap"):
            q = s[key]
            print(f"  {key:>16}: median {q['median']:8.2f}  5-95% [{q['q05']:.2f}, {q['q95']:.2f}]  "
                  f"95% CI of median [{q['ci95_lo']:.2f}, {q['ci95_hi']:.2f}]")  # fmt: skip
    if args.out:
        from experiments.sweeps.store import write_text_atomic

        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(out.with_suffix(".json"), json.dumps(report, indent=1, default=float))
        plot(report, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
