"""The validation's report as text: the Markdown tables and the terminal summary."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from experiments.analysis.statistics import TAIL_FRACTION
from experiments.analysis.targets import (
    BLOCK_DAYS,
    EPISODE_BANDS,
    EPISODE_OBSERVED,
    PLAZA_DATE,
    STATISTICS,
    UNWOUND_LARGEST_DRAWDOWN,
    UNWOUND_SINCE_EVE,
)

__all__ = ["format_value", "markdown", "method_notes", "console_summary"]


def format_value(value: Any, spec: str) -> str:
    """``value`` formatted with ``spec``; "n/a" if it is missing or NaN, "+∞"/"−∞" if infinite."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, float) and math.isinf(value):
        return "+∞" if value > 0 else "−∞"
    return f"{value:{spec}}"


_f = format_value


def _day(date: str) -> str:
    """``5 Aug``-style words for an ISO date."""
    import datetime as dt

    d = dt.date.fromisoformat(date)
    return f"{d.day} {d.strftime('%b')}"


def _window(end_day: int | None, date: str) -> str:
    """`` to 5 Aug``-style words for a figure measured up to an observation's date; empty over the whole run."""
    return "" if end_day is None else f" to {_day(date)}"


def _usdjpy_observed(obs: Mapping[str, Any]) -> str:
    """The observed fall of USD/JPY on closes, what the model's daily closes are compared with, and the intraday
    extremes beside it where ``obs`` has them (context, never compared)."""
    text = (
        f"{obs['usdjpy_change_pct']:.1f} on closes ({obs['usdjpy_peak']:.1f} on {_day(obs['usdjpy_peak_date'])} → "
        f"{obs['usdjpy_trough']:.1f} on {_day(obs['usdjpy_trough_date'])})"
    )
    if "usdjpy_intraday_high" in obs and "usdjpy_intraday_low" in obs:
        text += (
            f"; intraday {obs['usdjpy_intraday_high']:g} ({_day(obs['usdjpy_intraday_high_date'])}) → "
            f"{obs['usdjpy_intraday_low']:g} ({_day(obs['usdjpy_intraday_low_date'])}), not compared"
        )
    return text


# What a "model 5–95 % over seeds" column holds, said under each table: the rule's range, in which a failed run
# counts against the observation (experiments.analysis.judgement.model_range), where something is judged by it;
# the plain percentiles over the runs that cleared where nothing is.
RANGE_NOTE_JUDGED = (
    "*Model 5–95 % over seeds* here is the rule's range: a seed without a value counts against the data (its "
    "lower end computed as if such seeds lay above every other seed, its upper end as if below), so it is the "
    "plain 5th–95th percentiles over the seeds only when every seed has a value."
)
RANGE_NOTE_PLAIN = (
    "*Model 5–95 % over seeds* here is the plain 5th and 95th percentiles over the runs that cleared (a run that "
    "ended in a clearing failure is left out, and reported apart), not the judged statistics' range, in which such "
    "a run counts against the data: nothing is judged by this range."
)


def _md(text: str) -> str:
    """Text for a Markdown table cell (a bare | would end the cell)."""
    return text.replace("|", "\\|")


def _verdict(ok: bool | None) -> str:
    return "–" if ok is None else ("**pass**" if ok else "**FAIL**")


def _word(ok: bool | None) -> str:
    """``pass``, ``FAIL`` or ``untestable`` (a test that could not fail with so few seeds)."""
    return "untestable" if ok is None else ("pass" if ok else "FAIL")


def _failed_note(failed: int) -> str:
    """`` (N ended in a clearing failure: outside both bands, left out of the medians)`` or ''."""
    if not failed:
        return ""
    return f" ({failed} ended in a clearing failure: outside both bands, left out of the medians and intervals)"


def _range(lo: Any, hi: Any, spec: str) -> str:
    return f"{_f(lo, spec)} to {_f(hi, spec)}"


def markdown(report: Mapping[str, Any]) -> str:
    b, d, dn, rule = report["baseline"], report["data"], report["data_without_plaza"], report["rule"]
    boot = rule["bootstrap"]
    lo_pct, hi_pct = rule["model_range_pct"]
    dropped = dn.get("dropped", [{}])[0]
    lines = [
        "# Validation of the calibrated model",
        "",
        f"Package {report['package_version']}, git commit {report['git_commit'] or 'unknown'}"
        + (" (uncommitted changes)" if report.get("git_dirty") else "")
        + f"; {report['elapsed_s']:.0f} s.",
        "",
        f"## Daily USD/JPY returns: `{b['scenario']}` scenario vs data",
        "",
        f"Model: {len(b['seeds'])} seeds ({b['seeds'][0]}–{b['seeds'][-1]}) × {b['days']} trading days, the first "
        f"{b['burn_in']} dropped: {b['returns_per_seed']} daily returns per seed. "
        f"Data: {d['source']}, {d['period']}, {d['n_returns']} daily returns ({d['transformation']}); and the same "
        f"without {dropped.get('date', PLAZA_DATE)} ({_f(dropped.get('return_pct'), '+.1f')} %, the Plaza accord), "
        f"{dn['n_returns']} returns."
        + (
            " Every run with " + ", ".join(f"`{k} = {v}`" for k, v in b["overrides"].items()) + "."
            if b.get("overrides")
            else ""
        ),
        "",
        f"**The rule.** A statistic passes when the data's value lies inside the model's {lo_pct:g}–{hi_pct:g} % "
        "range across seeds. A seed without a value (a run that ended in a clearing failure) counts against the "
        "data: the range's lower end is computed as if such seeds lay above every other seed, its upper end as if "
        f"they lay below; and if more than {rule['max_failed_share']:.0%} of the seeds have no value the statistic "
        f"fails. The range is estimated from the seeds, so data that are a draw of the model fall outside it about "
        f"{_f(rule.get('range_false_fail_rate'), '.0%')} of the time with {len(b['seeds'])} seeds, not "
        f"{1 - (hi_pct - lo_pct) / 100:.0%}; the rank p-value beside each flag (2·min(seeds at or below the data, "
        "seeds at or above, each + 1) / (seeds + 1), a failed run on neither side) has its stated size at any "
        f"number of seeds. Beside it: the data's {rule['data_interval_level']:.0%} interval for a sample of "
        f"{boot['sample_length']} days (moving-block bootstrap, blocks of {boot['block_days']} days, "
        f"{boot['resamples']} samples, seed {boot['seed']}) and the share of all seeds inside it. The median over "
        "seeds is shown, not judged; the stated target range is shown, not judged.",
        "",
        f"| statistic | model median | model {lo_pct:g}–{hi_pct:g} % over seeds | seeds without a value | "
        f"data [{rule['data_interval_level']:.0%} interval] | share of seeds in it | pass (rank p) | "
        f"data without {PLAZA_DATE} [interval] | share of seeds in it | pass (rank p) | stated target |",
        "| --- | ---: | ---: | ---: | ---: | ---: | :---: | ---: | ---: | :---: | :---: |",
    ]
    rest = []
    for name, st in STATISTICS.items():
        row = report["statistics"][name]
        m, full, np_ = row["model"], row["data"], row["data_without_plaza"]
        if not row["judged"]:
            rest.append(
                f"| {_md(st.label)} | {_f(m['median'], st.fmt)} | {_range(m['q05'], m['q95'], st.fmt)} | "
                f"{_f(full['value'], st.fmt)} [{_range(*full['interval'], st.fmt)}] | "
                f"{_f(np_['value'], st.fmt)} [{_range(*np_['interval'], st.fmt)}] |"
            )
            continue
        lines.append(
            f"| {_md(st.label)} | {_f(m['median'], st.fmt)} | {_range(*full['model_range'], st.fmt)} | "
            f"{row['seeds_without_value']} | {_f(full['value'], st.fmt)} [{_range(*full['interval'], st.fmt)}] | "
            f"{_f(full['share_of_seeds_in_interval'], '.0%')} | {_verdict(row['pass'])} "
            f"({_f(full.get('rank_p_value'), '.2f')}) | "
            f"{_f(np_['value'], st.fmt)} [{_range(*np_['interval'], st.fmt)}] | "
            f"{_f(np_['share_of_seeds_in_interval'], '.0%')} | {_verdict(row['pass_without_plaza'])} "
            f"({_f(np_.get('rank_p_value'), '.2f')}) | "
            f"{_md(st.band.text) if st.band else '–'} |"
        )
    mth = report["method"]
    lines += [
        "",
        RANGE_NOTE_JUDGED,
        "",
        f"**{report['targets_met']} of {report['targets']} statistics pass against the data, "
        f"{report['targets_met_without_plaza']} of {report['targets']} against the data without the Plaza day.**",
        "",
        *_joint_markdown(report),
        "Also reported, not judged:",
        "",
        f"| statistic | model median | model {lo_pct:g}–{hi_pct:g} % over seeds | data [interval] | "
        "data without the Plaza day [interval] |",
        "| --- | ---: | ---: | ---: | ---: |",
        *rest,
        "",
        RANGE_NOTE_PLAIN,
        "",
        "Notes. " + " ".join(mth.values()),
        "",
    ]
    for f in report.get("failed_runs", []):
        lines += [
            f"**Failed run** ({f['scenario']} seed {f['seed']}, counted against the data in every statistic): "
            f"{f['error']}",
            "",
        ]
    lines += facts_lines(report.get("episode_facts", []))
    ep = report["episode"]
    lines += ["## The August 2024 episode", ""]
    if ep["status"] != "ok":
        lines += [f"Not run: {ep['message']}", ""]
        return "\n".join(lines)
    obs, s = ep["observed"], ep["summary"]
    lines += [
        f"Scenario `{ep['scenario']}` from {ep['start_date']}, {len(ep['per_seed'])} seeds × {ep['days']} trading "
        f"days{_failed_note(ep.get('failed_runs', 0))}. "
        f"The first scenario event ({(ep['shock_event'] or 'none').replace('_', ' ')}) is on trading day "
        f"{ep['shock_day']} ({ep['shock_date']}); the carry stock's pre-shock level is its level the day before "
        f"(its eve). The {UNWOUND_SINCE_EVE} is the fall from that level to the trough; the replay "
        f"(`experiments.analysis.replay`) compares the same observation with another measure, the "
        f"{UNWOUND_LARGEST_DRAWDOWN} (from a running peak): two measures of one observation. USD/JPY is compared on "
        "closes, the model's and the observed.",
        "",
        "| measure | observed | model median | model mean [95 % CI] | model 5–95 % over seeds | band | "
        "share of seeds in band | median in band |",
        "| --- | ---: | ---: | ---: | ---: | :---: | ---: | :---: |",
    ]
    share, med = ep["share_of_seeds"], ep["median_verdict"]
    lo, hi = obs["carry_fall_pct_range"]
    to_fall = _window(ep.get("fall_end_day"), obs["usdjpy_trough_date"])
    to_carry = _window(ep.get("carry_end_day"), obs["carry_fall_date"])
    rows = [
        (
            f"largest USD/JPY peak-to-trough change{to_fall}, % (closes)",
            "usdjpy_change_pct",
            _usdjpy_observed(obs),
            ".1f",
            "yen_move_of_observed_order",
        ),
        (
            "its length, trading days (closes)",
            "usdjpy_fall_days",
            f"{obs['usdjpy_fall_days']} ({_day(obs['usdjpy_peak_date'])} → {_day(obs['usdjpy_trough_date'])})",
            ".0f",
            None,
        ),
        (
            f"{UNWOUND_SINCE_EVE} (from the carry stock's level the day before it to its trough){to_carry}, %",
            "carry_fall_pct",
            f"{lo:.0f}–{hi:.0f}",
            ".1f",
            "carry_unwind_large",
        ),
        (
            f"peak risk index{to_fall}, points",
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
        RANGE_NOTE_PLAIN,
        "",
        f"Also observed, with no counterpart in the model: speculative yen positions (CFTC) swung from about "
        f"{shorts[0] / 1000:+.0f}k to {shorts[1] / 1000:+.0f}k contracts in 8 weeks. The model's risk index is "
        "VIX-like but daily, so it compares with the VIX close more than with the intraday peak.",
        "",
        "Per seed:",
        "",
        f"| seed | USD/JPY change, % | peak → trough (dates) | days | {UNWOUND_SINCE_EVE}, % | carry trough day | "
        "peak risk index | yen move of observed order | large unwind |",
        "| ---: | ---: | :--- | ---: | ---: | ---: | ---: | :---: | :---: |",
    ]
    for p in ep["per_seed"]:
        if "failed" in p:  # a run that ended in a clearing failure: no figures, counted outside both bands
            lines.append(f"| {p['seed']} | failed: {_md(p['failed'])} | | | | | | no | no |")
            continue
        lines.append(
            f"| {p['seed']} | {p['usdjpy_change_pct']:.1f} | {p['usdjpy_peak']:.1f} → {p['usdjpy_trough']:.1f} "
            f"({p['usdjpy_peak_date']} → {p['usdjpy_trough_date']}) | {p['usdjpy_fall_days']} | "
            f"{_f(p['carry_fall_pct'], '.1f')} | {p['carry_trough_day']} | {p['risk_index_peak']:.1f} | "
            f"{'yes' if p['yen_move_of_observed_order'] else 'no'} | {'yes' if p['carry_unwind_large'] else 'no'} |"
        )
    lines.append("")
    return "\n".join(lines)


def _j_dof(joint: Mapping[str, Any]) -> str:
    """How many degrees of freedom the J-test has, in words."""
    c2 = joint["data"]["chi2"]
    k, fitted = len(joint["statistics"]), c2.get("fitted", 0)
    if c2["df"] > 0:
        return f"{k} − {fitted} = {c2['df']}"
    return (f"{k} − {fitted} = {c2['df']}, so there is no J-test: the parameters are exactly identified by these "
            "statistics, and J says only how closely the fit came")  # fmt: skip


def _joint_markdown(report: Mapping[str, Any]) -> list[str]:
    """The joint test's paragraph and table (nothing for a report written before it existed)."""
    joint = report.get("joint")
    if not joint:
        return []
    level = report["rule"].get("joint_test_level", 0.05)
    names = joint["statistics"]
    labels = ", ".join(STATISTICS[n].label for n in names)
    lines = [
        f"**The statistics jointly.** The {len(names)} judged statistics ({labels}) as one vector: its "
        "simulated-moments distance from the seeds. *Monte Carlo*: the data's vector and each seed's, ranked by "
        "their distance from the mean of all of them, weighted by the inverse of the statistics' covariance "
        "across all these vectors together (the data's included, so that every vector is measured alike); "
        "p = (1 + seeds at least as far as the data) / "
        f"(seeds + 1), a failed run counted as closer than the data; the data pass when p ≥ {level:g}. This is "
        "exact if the data are a draw of the model. Beside it, the seeds' median distance in the data's units (the "
        "covariance of the data's block bootstrap, samples as long as one run) against the figure in brackets, "
        "what it would be were the seeds as variable as samples of the data. *J-test*: "
        "the distance of the data from the seeds' mean, weighted by the data's bootstrap covariance, its "
        "covariance the data's sampling covariance plus the mean's, against chi-squared (asymptotic) with as many "
        f"degrees of freedom as statistics less the parameters fitted to them: {_j_dof(joint)}. The Monte Carlo "
        "test holds the calibrated parameters fixed; they were fitted to these statistics, so its pass is weaker "
        "evidence than it reads.",
        "",
        "| data | seeds with a value | distance (Monte Carlo) | seeds' median distance [if as variable as the data] "
        "| seeds at least as far | p (Monte Carlo) | pass | J | p (chi-squared) | largest gaps (sd units) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | :---: | ---: | ---: | --- |",
    ]
    for key, title in (("data", "with the Plaza day"), ("data_without_plaza", "without the Plaza day")):
        t = joint[key]
        mc, c2 = t["monte_carlo"], t["chi2"]
        gaps = sorted(zip(names, c2["gaps"], strict=True), key=lambda g: -abs(g[1]) if math.isfinite(g[1]) else 0.0)
        top = ", ".join(f"{_md(STATISTICS[n].label)} {_f(g, '+.1f')}" for n, g in gaps[:3])
        lines.append(
            f"| {title} | {t['seeds_with_value']} of {t['seeds']} | {_f(mc['data_distance'], '.2f')} | "
            f"{_f(mc.get('seed_distance_median'), '.1f')} [{_f(mc.get('seed_distance_median_expected'), '.1f')}] | "
            f"{mc.get('seeds_at_least_as_far', 0)} | {_f(mc['p_value'], '.3f')} | "
            f"{'untestable' if mc['pass'] is None else _verdict(mc['pass'])} | "
            f"{_f(c2['distance'], '.2f')} | {_f(c2['p_value'], '.3f')} | {top} |"
        )
    return [*lines, ""]


def method_notes() -> dict[str, str]:
    return {
        "pass_rule": "Pass: the data's value inside the model's 5-95 % range across seeds (numpy's linear "
        "percentiles); seeds without a value placed above every other seed for the lower end and below for the upper "
        "end; no pass if more than 10 % of the seeds have no value. The median and mean over seeds are shown, not "
        "judged.",
        "data_interval": "Data's interval: 5th and 95th percentiles of the statistic over moving-block bootstrap "
        f"samples of the data (blocks of {BLOCK_DAYS} days, starts drawn uniformly, no wrapping), each as long as "
        "one run after the burn-in.",
        "ci": "95 % CI of the mean over seeds: Student's t, mean ± t(n−1)·s/√n.",
        "moments": "Standard deviation with ddof = 1; skewness and excess kurtosis bias-corrected (scipy, bias=False).",
        "acf": "Autocorrelation: full-sample mean, lag-0 sum in the denominator (Box-Jenkins).",
        "tail_index": f"Tail index: Hill estimator on the largest {TAIL_FRACTION:.0%} of |returns| (k = floor(0.05 n) "
        "order statistics, threshold the (k+1)-th); both tails pooled; standard error about alpha/sqrt(k).",
    }


def facts_lines(facts: Sequence[Mapping[str, Any]]) -> list[str]:
    """The validation report's section on the other episodes' facts
    (:mod:`experiments.analysis.episode_facts`); no lines without facts."""
    if not facts:
        return []
    lines = [
        "## The other episodes against their facts",
        "",
        "Each fact is judged by the statistics' range: an observed point must lie inside the model's 5–95 % range "
        "over seeds, an observed range must overlap it (the observed range is the observation's own uncertainty); "
        "for an observed range, the share of seeds inside it is also given. A run that fails to clear counts "
        "against the observation, and more than a tenth of the runs failing fails the fact, as for a statistic. "
        "*Model 5–95 % over seeds* here is that rule's range, a failed run counted against the observation.",
        "",
        "| scenario | fact | observed | model median | model 5–95 % over seeds | "
        "observation in (or overlapping) range | seeds inside | failed runs |",
        "| --- | --- | ---: | ---: | ---: | :---: | ---: | ---: |",
    ]
    for f in facts:
        observed = f"{f['lo']:g}" if f["lo"] == f["hi"] else f"{f['lo']:g} to {f['hi']:g}"
        share = "–" if f["share_inside"] is None else _f(f["share_inside"], ".0%")
        lines.append(
            f"| `{f['scenario']}` | {f['label']} ({f['unit']}) | {observed} | {_f(f['median'], '.2f')} | "
            f"{_f(f['q05'], '.2f')} to {_f(f['q95'], '.2f')} | {_verdict(f['observed_in_range'])} | {share} | "
            f"{f['failed_runs']} |"
        )
    return [*lines, "", "Sources: " + "; ".join(f"{f['label']}: {f['source']}" for f in facts) + ".", ""]


def console_summary(report: Mapping[str, Any], out: Path) -> str:
    """A few lines for the terminal: each judged statistic's pass flags and the episode's medians."""
    n = report["targets"]
    lines = [
        f"  statistics passing: {report['targets_met']} of {n} against the data, "
        f"{report['targets_met_without_plaza']} of {n} without the Plaza day "
        "(the data's value inside the model's 5-95 % range across seeds; flags below: with/without the Plaza day)"
    ]
    if report.get("failed_runs"):
        lines.append(
            f"  failed runs: {len(report['failed_runs'])} "
            "(clearing failures; counted against the data in every statistic)"
        )
    for name, st in STATISTICS.items():
        row = report["statistics"][name]
        if not row["judged"]:
            continue
        full, np_ = row["data"], row["data_without_plaza"]
        lo, hi = full["model_range"]
        lines.append(
            f"    {'pass' if row['pass'] else 'FAIL'}/{'pass' if row['pass_without_plaza'] else 'FAIL'}  {st.label}: "
            f"data {_f(full['value'], st.fmt)} (without Plaza {_f(np_['value'], st.fmt)}), model 5-95 % "
            f"{_f(lo, st.fmt)} to {_f(hi, st.fmt)}; seeds in the data's 90 % interval "
            f"{_f(full['share_of_seeds_in_interval'], '.0%')} ({_f(np_['share_of_seeds_in_interval'], '.0%')})"
        )
    joint = report.get("joint")
    if joint:
        mc, mcn = joint["data"]["monte_carlo"], joint["data_without_plaza"]["monte_carlo"]
        c2, c2n = joint["data"]["chi2"], joint["data_without_plaza"]["chi2"]
        lines.append(
            f"  jointly: {_word(mc['pass'])}/{_word(mcn['pass'])}  the "
            f"{len(joint['statistics'])} statistics as one vector, Monte Carlo p = {_f(mc['p_value'], '.3f')} "
            f"({_f(mcn['p_value'], '.3f')} without Plaza) against the seeds; "
            + (
                f"J-test p = {_f(c2['p_value'], '.3f')} ({_f(c2n['p_value'], '.3f')}; {c2['df']} degrees of freedom)"
                if c2["df"] > 0
                else f"J = {_f(c2['distance'], '.1f')} ({_f(c2n['distance'], '.1f')}), no J-test: "
                f"{c2.get('fitted', 0)} parameters fitted to the {len(joint['statistics'])} statistics"
            )
        )
    ep = report["episode"]
    if ep["status"] == "ok":
        s = ep["summary"]
        unwound_lo, unwound_hi = EPISODE_OBSERVED["carry_fall_pct_range"]
        to_fall = _window(ep.get("fall_end_day"), EPISODE_OBSERVED["usdjpy_trough_date"])
        to_carry = _window(ep.get("carry_end_day"), EPISODE_OBSERVED["carry_fall_date"])
        lines.append(
            f"  {ep['scenario']}: USD/JPY {_f(s['usdjpy_change_pct']['median'], '.1f')}% over "
            f"{_f(s['usdjpy_fall_days']['median'], '.0f')} days{to_fall} on closes (observed "
            f"{EPISODE_OBSERVED['usdjpy_change_pct']:.1f}% on closes over {EPISODE_OBSERVED['usdjpy_fall_days']}, "
            f"{_day(EPISODE_OBSERVED['usdjpy_peak_date'])} to {_day(EPISODE_OBSERVED['usdjpy_trough_date'])}), "
            f"{UNWOUND_SINCE_EVE} {_f(s['carry_fall_pct']['median'], '.0f')}%"
            f"{to_carry} (observed {unwound_lo:.0f}-{unwound_hi:.0f}%), peak risk index "
            f"{_f(s['risk_index_peak']['median'], '.0f')}{to_fall} (VIX 38.6 close, 65.7 intraday); medians over seeds"
        )
    else:
        lines.append(f"  episode: not run: {ep['message']}")
    facts = report.get("episode_facts", [])
    if facts:
        met = sum(bool(f["observed_in_range"]) for f in facts)
        lines.append(f"  other episodes: {met} of {len(facts)} observed facts inside the model's 5-95 % range (an "
                     "observed range: overlapping it) "
                     "(" + "; ".join(f"{f['scenario']} {f['label']}: {'in' if f['observed_in_range'] else 'OUT'}"
                                     for f in facts) + ")")  # fmt: skip
    lines.append(f"  output: {out}/  ({', '.join(report['files'])})")
    return "\n".join(lines)
