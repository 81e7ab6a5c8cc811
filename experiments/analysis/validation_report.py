"""The validation's report as text: the Markdown tables and the terminal summary."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from experiments.analysis.statistics import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, TAIL_FRACTION
from experiments.analysis.targets import EPISODE_BANDS, EPISODE_OBSERVED, STATISTICS

__all__ = ["format_value", "markdown", "method_notes", "console_summary"]


def format_value(value: Any, spec: str) -> str:
    """``value`` formatted with ``spec``, or "n/a" if it is missing or not finite."""
    return "n/a" if value is None or (isinstance(value, float) and not math.isfinite(value)) else f"{value:{spec}}"


_f = format_value


def _md(text: str) -> str:
    """Text for a Markdown table cell (a bare | would end the cell)."""
    return text.replace("|", "\\|")


def _verdict(ok: bool | None) -> str:
    return "–" if ok is None else ("**pass**" if ok else "**FAIL**")


def markdown(report: Mapping[str, Any]) -> str:
    b, d = report["baseline"], report["data"]
    lines = [
        "# Validation of the calibrated model",
        "",
        f"Package {report['package_version']}, git commit {report['git_commit'] or 'unknown'}"
        + (" (uncommitted changes)" if report.get("git_dirty") else "")
        + f"; {report['elapsed_s']:.0f} s.",
        "",
        f"## Daily USD/JPY returns: `{b['scenario']}` scenario vs data",
        "",
        f"Model: {len(b['seeds'])} seeds ({b['seeds'][0]}–{b['seeds'][-1]}) × {b['days']} trading days. "
        f"Data: {d['source']}, {d['period']}, {d['n_returns']} daily returns ({d['transformation']}).",
        "",
        "| statistic | data | model median | model mean [95 % CI] | model 5–95 % over seeds | target | "
        "pass (seed median in target) |",
        "| --- | ---: | ---: | ---: | ---: | :---: | :---: |",
    ]
    for name, st in STATISTICS.items():
        row = report["statistics"][name]
        m = row["model"]
        lines.append(
            f"| {_md(st.label)} | {_f(row['data'], st.fmt)} | {_f(m['median'], st.fmt)} | "
            f"{_f(m['mean'], st.fmt)} [{_f(m['ci95_lo'], st.fmt)}, {_f(m['ci95_hi'], st.fmt)}] | "
            f"{_f(m['q05'], st.fmt)} to {_f(m['q95'], st.fmt)} | {_md(st.band.text) if st.band else '–'} | "
            f"{_verdict(row['pass'])} |"
        )
    n_band = sum(1 for st in STATISTICS.values() if st.band)
    n_pass = sum(1 for row in report["statistics"].values() if row["pass"])
    mth = report["method"]
    lines += [
        "",
        f"**{n_pass} of {n_band} targets met** (judged on the median over seeds against the calibration "
        "targets; docs: model/calibration).",
        "",
        "Notes. " + " ".join(mth.values()),
        "",
    ]
    for f in report.get("failed_runs", []):
        lines += [
            f"**Failed run** ({f['scenario']} seed {f['seed']}, counted against every statistic): {f['error']}",
            "",
        ]
    ep = report["episode"]
    lines += ["## The August 2024 episode", ""]
    if ep["status"] != "ok":
        lines += [f"Not run: {ep['message']}", ""]
        return "\n".join(lines)
    obs, s = ep["observed"], ep["summary"]
    lines += [
        f"Scenario `{ep['scenario']}` from {ep['start_date']}, {len(ep['per_seed'])} seeds × {ep['days']} trading "
        f"days. The first scenario event ({(ep['shock_event'] or 'none').replace('_', ' ')}) is on trading day "
        f"{ep['shock_day']} ({ep['shock_date']}); the carry stock's pre-shock level is its level the day before.",
        "",
        "| measure | observed | model median | model mean [95 % CI] | model 5–95 % over seeds | band | "
        "share of seeds in band | median in band |",
        "| --- | ---: | ---: | ---: | ---: | :---: | ---: | :---: |",
    ]
    share, med = ep["share_of_seeds"], ep["median_verdict"]
    lo, hi = obs["carry_fall_pct_range"]
    rows = [
        (
            "largest USD/JPY peak-to-trough change, %",
            "usdjpy_change_pct",
            f"{obs['usdjpy_change_pct']:.1f} (161.9 → 141.7)",
            ".1f",
            "yen_move_of_observed_order",
        ),
        ("its length, trading days", "usdjpy_fall_days", f"{obs['usdjpy_fall_days']} (3 Jul → 5 Aug)", ".0f", None),
        (
            "carry stock, fall from pre-shock level to trough, %",
            "carry_fall_pct",
            f"{lo:.0f}–{hi:.0f}",
            ".1f",
            "carry_unwind_large",
        ),
        (
            "peak risk index, points",
            "risk_index_peak",
            f"VIX {obs['vix_intraday_peak']} intraday ({obs['vix_close_peak']} close)",
            ".1f",
            None,
        ),
    ]
    for label, key, observed, fmt, verdict in rows:
        m = s[key]
        band = EPISODE_BANDS[key].text if key in EPISODE_BANDS else "–"
        lines.append(
            f"| {label} | {observed} | {_f(m['median'], fmt)} | {_f(m['mean'], fmt)} "
            f"[{_f(m['ci95_lo'], fmt)}, {_f(m['ci95_hi'], fmt)}] | {_f(m['q05'], fmt)} to {_f(m['q95'], fmt)} | "
            f"{band} | {_f(share[verdict], '.0%') if verdict else '–'} | "
            f"{_verdict(med[verdict] if verdict else None)} |"
        )
    shorts = obs["cftc_yen_net_shorts_contracts"]
    lines += [
        "",
        f"Also observed, with no counterpart in the model: speculative yen positions (CFTC) swung from about "
        f"{shorts[0] / 1000:+.0f}k to {shorts[1] / 1000:+.0f}k contracts in 8 weeks. The model's risk index is "
        "VIX-like but daily, so it compares with the VIX close more than with the intraday peak.",
        "",
        "Per seed:",
        "",
        "| seed | USD/JPY change, % | peak → trough (dates) | days | carry fall, % | carry trough day | "
        "peak risk index | yen move of observed order | large unwind |",
        "| ---: | ---: | :--- | ---: | ---: | ---: | ---: | :---: | :---: |",
    ]
    for p in ep["per_seed"]:
        lines.append(
            f"| {p['seed']} | {p['usdjpy_change_pct']:.1f} | {p['usdjpy_peak']:.1f} → {p['usdjpy_trough']:.1f} "
            f"({p['usdjpy_peak_date']} → {p['usdjpy_trough_date']}) | {p['usdjpy_fall_days']} | "
            f"{_f(p['carry_fall_pct'], '.1f')} | {p['carry_trough_day']} | {p['risk_index_peak']:.1f} | "
            f"{'yes' if p['yen_move_of_observed_order'] else 'no'} | {'yes' if p['carry_unwind_large'] else 'no'} |"
        )
    lines.append("")
    return "\n".join(lines)


def method_notes() -> dict[str, str]:
    return {
        "pass_rule": "Pass/fail compares the median over seeds with the target band (the mean is shown, not judged).",
        "ci": f"95 % CI of the mean: percentile bootstrap over seeds, {BOOTSTRAP_RESAMPLES} resamples, "
        f"numpy Generator seed {BOOTSTRAP_SEED}.",
        "moments": "Standard deviation with ddof = 1; skewness and excess kurtosis bias-corrected (scipy, bias=False).",
        "acf": "Autocorrelation: full-sample mean, lag-0 sum in the denominator (Box-Jenkins).",
        "tail_index": f"Tail index: Hill estimator on the largest {TAIL_FRACTION:.0%} of |returns| (k = floor(0.05 n) "
        "order statistics, threshold the (k+1)-th); both tails pooled; standard error about alpha/sqrt(k).",
    }


def console_summary(report: Mapping[str, Any], out: Path) -> str:
    """A few lines for the terminal: each target's verdict and the episode's medians."""
    met = f"{report['targets_met']} of {report['targets']}"
    lines = [f"  targets met: {met} (seed median vs the calibration targets, docs: model/calibration)"]
    if report.get("failed_runs"):
        lines.append(f"  failed runs: {len(report['failed_runs'])} (clearing failures; every statistic fails)")
    for name, st in STATISTICS.items():
        row = report["statistics"][name]
        if st.band is None:
            continue
        label = st.label
        lines.append(
            f"    {'pass' if row['pass'] else 'FAIL'}  {label}: model median {_f(row['model']['median'], st.fmt)}, "
            f"data {_f(row['data'], st.fmt)}, target {st.band.text}"
        )
    ep = report["episode"]
    if ep["status"] == "ok":
        s = ep["summary"]
        lines.append(
            f"  {ep['scenario']}: USD/JPY {_f(s['usdjpy_change_pct']['median'], '.1f')}% over "
            f"{_f(s['usdjpy_fall_days']['median'], '.0f')} days (observed {EPISODE_OBSERVED['usdjpy_change_pct']:.1f}% "
            f"over {EPISODE_OBSERVED['usdjpy_fall_days']}), carry stock -{_f(s['carry_fall_pct']['median'], '.0f')}% "
            f"(observed 60-75%), peak risk index {_f(s['risk_index_peak']['median'], '.0f')} (VIX 65.7 intraday); "
            "medians over seeds"
        )
    else:
        lines.append(f"  episode: not run: {ep['message']}")
    lines.append(f"  output: {out}/  ({', '.join(report['files'])})")
    return "\n".join(lines)
