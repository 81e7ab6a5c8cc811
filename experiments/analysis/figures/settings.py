"""The settings of every paper figure (seeds, grids, labels, colours) and the helpers they share."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from agents.hedge_funds import HedgeFundConfig

if TYPE_CHECKING:
    pass

__all__ = [
    "SEEDS",
    "RETURN_DAYS",
    "PHASE_GRID",
    "PHASE_WINDOW",
    "PHASE_SCENARIO",
    "PHASE_OVERRIDES",
    "SENSITIVITY_SIZES",
    "PARAMETER_LABELS",
    "PILLAR_LABELS",
    "EVENT_LABELS",
    "figure_colors",
    "plain",
    "band",
    "none_to_nan",
]


# (full, quick) numbers of seeds, all validation's held-out seeds 1001.. (as the hypotheses, validate and
# the replay analysis run them: not the calibration's fitting seeds 1..12)
SEEDS = {
    "aug2024_replay": (20, 4),
    "replay_positioning": (20, 3),
    "phase_diagram": (10, 2),
    "feedback_ablation": (10, 3),
    "fiscal_vs_monetary": (10, 3),
    "return_statistics": (20, 3),
    "early_warning_roc": (10, 3),
}
RETURN_DAYS = (2000, 500)  # trading days of each baseline run (validate's defaults and its --quick)
# leverage caps (x equity) and triggers (sizes of a negative US growth surprise in sd: 3 is risk_off's);
# the full grid holds the default cap, so that the cell with risk_off's set-up is on it and outlined
PHASE_GRID = {
    False: (
        sorted({1.5, 2.0, 3.0, 5.0, 12.0, 16.0, 25.0, HedgeFundConfig().max_leverage}),  # the default a cell of it
        [0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0],
    ),
    True: ([1.5, 6.0, 20.0], [1.0, 3.0, 5.0]),
}
PHASE_WINDOW = 40  # trading days after the trigger in which the surge is measured (as H1)
PHASE_SCENARIO = "baseline"
# risk_off's starting book without its day-60 surprise: the trigger is the only news
PHASE_OVERRIDES = {"hedge_funds__initial_leverage_fraction": 1.0, "nisa__n_households": 2000}

# The Sobol' figure's sweep. Full: the parameters and sizes of experiments/specs/sobol_feedback.toml
# (kept here so that the figure does not change when that example is edited); quick: 3 parameters,
# N = 8, one replicate, 100 days.
SENSITIVITY_SIZES = {False: dict(samples=256, replicates=4, days=250), True: dict(samples=8, replicates=1, days=100)}
PARAMETER_LABELS = {
    "hedge_funds.max_leverage": "leverage cap",
    "hedge_funds.margin_vol_elasticity": "margin tightening",
    "hedge_funds.trend_share": "trend followers",
    "hedge_funds.flow_sensitivity": "investor redemptions",
    "dealers.capacity_risk_elasticity": "dealer withdrawal",
    "dealers.fx_capacity_usd_bn": "dealer capacity",
    "market.risk_vol_sensitivity": "price → risk feedback",
}
PILLAR_LABELS = {
    "dash_a_boj_signal_bp": "BoJ signal",
    "dash_a_auction_tail_bp": "UST auction tails",
    "dash_a_fx_break_pct": "USD/JPY breaks",
    "dash_a_risk_index": "credit spreads / VIX",
    "dash_b_real_yield_pct": "real yields",
    "dash_b_political_support": "political support",
    "dash_b_indirect_bidding": "indirect bidding",
    "dash_b_zone": "155–160 zone",
}
# the paper's short names of the scenarios' event kinds (the replay's key: "3 31 Jul BoJ, BoJ guidance, Fed-path news")
EVENT_LABELS = {
    "mof_intervention": "MoF",
    "boj_rate": "BoJ",
    "boj_path_news": "BoJ guidance",
    "us_short_rate": "Fed",
    "fed_path_news": "Fed-path news",
    "us_growth_news": "US data",
    "ust2y_observed": "observed 2y close",
    "commodity_shock": "commodity shock",
    "risk_shock": "sentiment jump (scripted)",
    "supplementary_budget": "budget",
}


def figure_colors() -> dict[str, str]:
    """One colour per role across the paper figures (model, observed, dashboards A and B, ...)."""
    from experiments.analysis.style import OKABE_ITO

    return {
        "model": OKABE_ITO["blue"],
        "observed": OKABE_ITO["vermilion"],
        "a": OKABE_ITO["blue"],
        "b": OKABE_ITO["vermilion"],
        "second": OKABE_ITO["orange"],
        "event": "0.55",
    }


def plain(x: Any) -> Any:
    """JSON-ready: numpy to Python, tuples to lists, NaN and infinities to ``None``."""
    if isinstance(x, Mapping):
        return {str(k): plain(v) for k, v in x.items()}
    if isinstance(x, np.ndarray):
        return plain(x.tolist())
    if isinstance(x, list | tuple):
        return [plain(v) for v in x]
    if isinstance(x, bool | np.bool_):
        return bool(x)
    if isinstance(x, int | np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        return float(x) if math.isfinite(x) else None
    return x


def band(paths: np.ndarray) -> dict[str, list[float]]:
    """Median and 5-95 % band over runs of ``paths``, shape ``(runs, days)``."""
    q05, med, q95 = np.percentile(paths, [5, 50, 95], axis=0)
    return {"q05": q05.tolist(), "median": med.tolist(), "q95": q95.tolist()}


def none_to_nan(values: Sequence[Any]) -> np.ndarray:
    """A float array with NaN where ``values`` has ``None`` (JSON's missing numbers)."""
    return np.array([math.nan if v is None else v for v in values], dtype=float)
