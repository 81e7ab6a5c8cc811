"""How much one MoF intervention moves USD/JPY, how long it lasts, and what funds it.

One intervention of ``jpy_tn`` (a ``mof_intervention`` event, the intervention rule off:
``mof.intervention = false``) on day :data:`INTERVENTION_DAY` of the baseline started at
``market.usdjpy = level``, against its twin without the event on the same seed (common random
numbers: the two runs are identical up to that day), on the held-out seeds 1001, … (the
signalling coefficient is fitted on seeds 1, …). Measured per seed:

* the effect on the day's close, ``100·(ln S_with − ln S_without)`` (%), and per ¥1 tn;
* the share of it left after 5 and 20 trading days (the MoF record: about half after a week);
* the MoF's UST sale: the proceeds ``mof_ust_sold_usd_bn``, the fall in its UST holdings against the
  twin (units the twin still holds, at the day's price), which must equal them, and the UST 10y yield's
  response on the day (bp);
* the split between flow and signalling: the same pair with the signalling coefficient at 0
  (``mof.signal_log_per_jpy_tn = 0``, flow only); signalling = full − flow.

Statistics: the median over seeds, with a seed-bootstrap 95% interval of the median
(:func:`experiments.analysis.statistics.seed_spread`). A seed whose pair failed to clear in either
arm (full or flow only) is left out of both and counted (``failed_seeds``), so that the flow and
signal split is over one set of seeds. The record it is set beside (−0.9 to −0.4% per ¥1 tn,
:mod:`experiments.calibration.intervention`) runs from the level just before each intervention
(intraday) to the day's close: the nearest observed stand-in for the price without it. From the
previous close it would take in the day's move before the intervention (29 Apr 2024: 158.3 at the
26 Apr close, 160.2 just before). Two of its four days are the ones the signal coefficient is
fitted on::

    python -m experiments.analysis.interventions --seeds 10 --workers 1 --out out/interventions.json
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import numpy as np

from experiments.analysis.statistics import seed_spread

__all__ = [
    "INTERVENTION_DAY",
    "HORIZONS",
    "SIZES_JPY_TN",
    "LEVEL_USDJPY",
    "twin_effect",
    "measure",
    "main",
]

INTERVENTION_DAY = 20  # days of warm-up before the intervention (the twins are identical until then)
HORIZONS = (0, 5, 20)  # trading days after the intervention at which the effect is read
SIZES_JPY_TN = (3.0, 4.5, 6.0)  # the MoF's intervention days of 2022-24 were ¥2.8-5.9 tn
LEVEL_USDJPY = 157.5  # near the 155-160 zone of the 2024 interventions


def twin_effect(task: tuple[dict[str, Any], float, int, float]) -> dict[str, float]:
    """One intervention against its twin: ``task = (overrides, jpy_tn, seed, level)``.

    ``overrides`` are configuration fields as ``section__field`` (the rule is switched off here);
    ``level`` is the initial USD/JPY. Returns the effect on ln USD/JPY at each of :data:`HORIZONS`
    (``effect_pct_dH``, %), the UST 10y yield's response on the day (``ust_bp_d0``), the dollars
    sold (``usd_sold_bn``), the UST sale's proceeds (``ust_sold_usd_bn``), the fall in the MoF's
    UST holdings against the twin at the day's price (``ust_holdings_fall_usd_bn``) and the
    signal's shift of the anchor on the day (``signal_log_d0``); all NaN if either run fails to clear.
    """
    from model.clearing import ClearingError
    from model.model import CarryUnwindModel
    from model.results import check_accounting, run_name
    from model.scenarios import ScenarioEvent

    overrides, jpy_tn, seed, level = task
    days = INTERVENTION_DAY + max(HORIZONS)
    runs = []
    for amount in (jpy_tn, 0.0):
        model = CarryUnwindModel(scenario="baseline", seed=seed, mof__intervention=False, market__usdjpy=level,
                                 collect=False, **overrides)  # fmt: skip
        if amount:
            event = ScenarioEvent(day=INTERVENTION_DAY, kind="mof_intervention", params={"jpy_tn": amount})
            model.schedule_scenario_event(event)
        try:
            model.run_days(days)
        except ClearingError:
            keys = [f"effect_pct_d{h}" for h in HORIZONS]
            keys += ["ust_bp_d0", "usd_sold_bn", "ust_sold_usd_bn", "ust_holdings_fall_usd_bn", "signal_log_d0"]
            return dict.fromkeys(keys, math.nan)
        check_accounting(model, f"{run_name(model)}, intervention of {amount} tn yen at {level}")
        runs.append({k: np.asarray(v, dtype=float) for k, v in model.arrays().items()})
    with_it, without = runs
    t = INTERVENTION_DAY
    out = {f"effect_pct_d{h}": 100.0 * math.log(with_it["usdjpy"][t + h] / without["usdjpy"][t + h]) for h in HORIZONS}
    duration = model.config.market.ust_duration
    price_with = math.exp(-duration * with_it["ust10y_yield"][t])
    price_without = math.exp(-duration * without["ust10y_yield"][t])
    # the twin holds the units the MoF sold: value both holdings at the day's price of the run with the sale
    twin_holdings = without["mof_ust_holdings_usd_bn"][t] / price_without * price_with
    out.update(
        ust_bp_d0=1e4 * (with_it["ust10y_yield"][t] - without["ust10y_yield"][t]),
        usd_sold_bn=jpy_tn * 1000.0 / with_it["usdjpy"][t - 1],
        ust_sold_usd_bn=float(with_it["mof_ust_sold_usd_bn"][t]),
        ust_holdings_fall_usd_bn=float(twin_holdings - with_it["mof_ust_holdings_usd_bn"][t]),
        signal_log_d0=float(with_it["mof_signal_log"][t]),
    )
    return out


def _median(values) -> float:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(np.median(v)) if v.size else math.nan


def measure(seeds: int, *, sizes=SIZES_JPY_TN, level: float = LEVEL_USDJPY, workers: int = 1,
            overrides: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    """The measurements of the module docstring, at the defaults plus ``overrides``, on the first ``seeds``
    held-out seeds (:func:`~experiments.analysis.targets.held_out_seeds`: 1001, …), not the seeds 1… the
    signalling coefficient is fitted on (:mod:`experiments.calibration.intervention`)."""
    from experiments.analysis.targets import held_out_seeds
    from experiments.runner import run_tasks

    base = dict(overrides or {})
    flow_only = {**base, "mof__signal_log_per_jpy_tn": 0.0}
    tasks = [(o, x, s, level) for o in (base, flow_only) for x in sizes for s in held_out_seeds(seeds)]
    results = run_tasks(twin_effect, tasks, workers=workers, progress=True, desc="interventions")
    n = len(sizes) * seeds
    full, flow = results[:n], results[n:]
    by_size = []
    all_per_tn, all_flow_per_tn = [], []
    failed = []
    for i, x in enumerate(sizes):
        f, q = full[i * seeds : (i + 1) * seeds], flow[i * seeds : (i + 1) * seeds]
        # the seeds whose pairs cleared in both arms: one set for the full effect and its split
        both = [
            math.isfinite(a["effect_pct_d0"]) and math.isfinite(b["effect_pct_d0"]) for a, b in zip(f, q, strict=True)
        ]
        failed.append(len(both) - sum(both))
        f, q = [r for r, k in zip(f, both, strict=True) if k], [r for r, k in zip(q, both, strict=True) if k]
        per_tn = np.array([r["effect_pct_d0"] / x for r in f])
        flow_per_tn = np.array([r["effect_pct_d0"] / x for r in q])
        all_per_tn += list(per_tn)
        all_flow_per_tn += list(flow_per_tn)
        d0 = np.array([r["effect_pct_d0"] for r in f])
        gap = np.array([r["ust_holdings_fall_usd_bn"] - r["ust_sold_usd_bn"] for r in f])
        by_size.append({
            "jpy_tn": x,
            "failed_seeds": failed[-1],
            "effect_pct_d0": seed_spread(d0, of="median"),
            "effect_pct_per_jpy_tn_d0": seed_spread(per_tn, of="median"),
            "share_left_d5": seed_spread(np.array([r["effect_pct_d5"] for r in f]) / d0, of="median"),
            "share_left_d20": seed_spread(np.array([r["effect_pct_d20"] for r in f]) / d0, of="median"),
            "flow_only_pct_per_jpy_tn_d0": seed_spread(flow_per_tn, of="median"),
            "signal_pct_per_jpy_tn_d0": seed_spread(per_tn - flow_per_tn, of="median"),
            "flow_share_of_effect_d0": _median(flow_per_tn / per_tn),
            "flow_only_share_left_d5": _median([r["effect_pct_d5"] / r["effect_pct_d0"] for r in q]),
            "ust_bp_d0": seed_spread([r["ust_bp_d0"] for r in f], of="median"),
            "usd_sold_bn": _median([r["usd_sold_bn"] for r in f]),
            "ust_sold_usd_bn": _median([r["ust_sold_usd_bn"] for r in f]),
            "ust_holdings_fall_usd_bn": _median([r["ust_holdings_fall_usd_bn"] for r in f]),
            "ust_holdings_fall_minus_sold_max_abs_usd_bn": float(np.nanmax(np.abs(gap))) if gap.size else math.nan,
        })  # fmt: skip
    from model.config import ModelConfig

    mof = ModelConfig().with_overrides(base).mof if base else ModelConfig().mof
    return {
        "seeds": seeds,
        "level_usdjpy": level,
        "intervention_day": INTERVENTION_DAY,
        "signal_log_per_jpy_tn": mof.signal_log_per_jpy_tn,
        "signal_halflife_days": mof.signal_halflife_days,
        "overrides": base,
        "target_pct_per_jpy_tn": [-0.9, -0.4],
        "median_effect_pct_per_jpy_tn_d0_all_sizes": _median(all_per_tn),
        "median_flow_only_pct_per_jpy_tn_d0_all_sizes": _median(all_flow_per_tn),
        "failed_seeds": int(sum(failed)),
        "by_size": by_size,
    }


def report(result: dict[str, Any]) -> str:
    """A plain-text table of :func:`measure`'s result."""
    lines = [
        f"one intervention on day {result['intervention_day']} of the baseline at USD/JPY {result['level_usdjpy']}, "
        f"rule off, against its twin ({result['seeds']} seeds; median [95% interval of the median]); "
        f"signal κ = {result['signal_log_per_jpy_tn']:.4g} per ¥1 tn, half-life {result['signal_halflife_days']:g} d",
        f"{'¥ tn':>5} {'close %/¥1tn':>22} {'flow only':>8} {'signal':>8} {'left d5':>8} {'left d20':>8} "
        f"{'UST bp':>7} {'$ sold':>7} {'UST sold':>8} {'UST fall':>8}",
    ]
    for r in result["by_size"]:
        e = r["effect_pct_per_jpy_tn_d0"]
        lines.append(
            f"{r['jpy_tn']:>5.1f} {e['median']:>7.3f} [{e['ci95_lo']:.3f}, {e['ci95_hi']:.3f}] "
            f"{r['flow_only_pct_per_jpy_tn_d0']['median']:>8.3f} {r['signal_pct_per_jpy_tn_d0']['median']:>8.3f} "
            f"{r['share_left_d5']['median']:>8.2f} {r['share_left_d20']['median']:>8.2f} "
            f"{r['ust_bp_d0']['median']:>7.2f} {r['usd_sold_bn']:>7.1f} {r['ust_sold_usd_bn']:>8.1f} "
            f"{r['ust_holdings_fall_usd_bn']:>8.1f}"
        )
    lines.append(
        f"all sizes: median {result['median_effect_pct_per_jpy_tn_d0_all_sizes']:.3f}% per ¥1 tn on the close "
        f"(flow only {result['median_flow_only_pct_per_jpy_tn_d0_all_sizes']:.3f}); record -0.9 to -0.4 (from the "
        "level just before each intervention to the close; two of its four days fitted)"
    )
    if result.get("failed_seeds"):
        lines.append("seeds whose pair failed to clear in either arm, left out of both: "
                     + ", ".join(f"{r['failed_seeds']} at ¥{r['jpy_tn']:g} tn" for r in result["by_size"]))  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from pathlib import Path

    from experiments.cli.common import FORMATTER, Parser, check_out_file

    # one-line errors, "prog: error: ... (see 'prog --help')", as the carry-unwind commands give them
    parser = Parser(prog="python -m experiments.analysis.interventions", description=__doc__, formatter_class=FORMATTER)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--level", type=float, default=LEVEL_USDJPY, help="initial USD/JPY")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", default="", help="write the JSON here")
    args = parser.parse_args(argv)
    for name, lo, hi in (("seeds", 1, 1000), ("level", 70.0, 360.0), ("workers", 1, 256)):
        value = getattr(args, name)
        if not lo <= value <= hi:
            parser.error(f"--{name} = {value} is not allowed; expected {lo} to {hi}")
    if args.out:  # before the runs (and their checkpoint beside it), not after them
        parser.check(check_out_file, Path(args.out))
    from experiments.runner import beside, command_settings, resumable

    command = "experiments.analysis.interventions"
    with resumable(beside(args.out), command_settings(args, command)):
        result = measure(args.seeds, level=args.level, workers=args.workers)
        if args.out:
            from experiments.analysis.replay import output_provenance
            from experiments.analysis.targets import held_out_seeds
            from experiments.runner import write_text_atomic
            from model.results import json_safe

            made = output_provenance(args, command, held_out_seeds(args.seeds))
            # strict JSON: a median over no seeds (every pair failed) is written as null, not NaN
            text = json.dumps(json_safe({"provenance": made, **result}), indent=1, allow_nan=False)
            write_text_atomic(args.out, text + "\n")
        print(report(result))
        return 0


if __name__ == "__main__":
    sys.exit(main())
