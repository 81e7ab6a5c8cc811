"""``carry-unwind hypotheses``: run H1-H7 and write verdicts with confidence intervals."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from experiments.cli.common import (
    EXIT_OK,
    FORMATTER,
    UsageError,
    add_set_option,
    bounded_count,
    check_out_dir,
    check_utf8_path,
    checked_overrides,
    name_list,
    out_path,
    seed_count,
    worker_count,
)

__all__ = ["register", "HORIZON_NOTE"]

# what to say to a --set simulation.days (or a draw setting it): every hypothesis runs its own horizon
HORIZON_NOTE = "--quick for shorter H7 runs (each hypothesis sets its own horizon)"


def register(sub: Any) -> None:
    """Add ``hypotheses`` to ``sub`` (the object ``add_subparsers`` returned)."""
    p = sub.add_parser(
        "hypotheses",
        help="run the experiments H1-H7 and write verdicts with confidence intervals",
        description=(
            "Run the hypotheses about the yen carry-trade unwind — H1 vicious cycle, H2 fiscal\n"
            "dominance, H3 imported-inflation loop, H4 repatriation, H5 sticky NISA flows, H6 policy,\n"
            "H7 early warning — each with its ablations over the same seeds (common random numbers).\n"
            "Verdicts hold for the parameters used, not in general. Writes:\n"
            "  report.md      verdict table and one section per hypothesis\n"
            "  verdicts.json  effects, 95% Student-t intervals over seeds, verdicts, per-seed values\n"
            "  h1.png ... h7.png  one figure per hypothesis\n"
            "They describe this run only: with --only, the report and verdicts.json hold the hypotheses run,\n"
            "and the figures of the others left by an earlier run in DIR are removed; a DIR holding\n"
            "such files without the verdicts.json of an earlier run is refused.\n"
            "With --draws K (or --draws-from FILE) it runs them instead at K parameter draws and writes\n"
            "the share of draws giving each verdict:\n"
            "  draws.md, draws.json, draws.png"
        ),
        epilog="examples:\n  carry-unwind hypotheses --seeds 10 --out out/hypotheses --workers 2\n"
        "  carry-unwind hypotheses --seeds 3 --only H1,H2 --out out/h12 --quick\n"
        "  carry-unwind hypotheses --draws 16 --seeds 4 --quick --out out/draws --workers 2",
        formatter_class=FORMATTER,
    )
    p.add_argument("--out", type=out_path, required=True, metavar="DIR", help="output directory, created if missing")
    p.add_argument(
        "--seeds", type=seed_count, default=10, metavar="N",
        help="N seeds per arm, validation's held-out seeds 1001 to 1000+N (not the calibration's fitting seeds); "
        "at least 2 (an interval needs two), 3 with H7 (default: 10)",
    )  # fmt: skip
    p.add_argument(
        "--only", default=None, metavar="H1,H2,...",
        help="comma-separated subset of H1..H7 (default: all); without --draws, the figures of the others that an "
        "earlier run left in --out are removed",
    )  # fmt: skip
    p.add_argument(
        "--workers", type=worker_count, default=1, metavar="W", help="worker processes; results do not depend on it"
    )
    draws = p.add_mutually_exclusive_group()
    draws.add_argument(
        "--draws", type=draw_count, default=None, metavar="K",
        help="run every hypothesis at K parameter draws from the prior (a seeded Latin hypercube over the "
        "calibration's search ranges and the funds' leverage caps) and report the share of draws per verdict",
    )  # fmt: skip
    draws.add_argument(
        "--draws-from", default=None, metavar="FILE",
        help='the same at the draws of a JSON file {"draws": [{"section.field": value, ...}, ...]} '
        "(e.g. an estimation's posterior draws)",
    )  # fmt: skip
    p.add_argument("--quick", action="store_true", help="shorter H7 runs, fewer bootstrap resamples for H7")
    p.add_argument(
        "--no-progress", dest="progress", action="store_false", help="hide the progress bars (default: shown on stderr)"
    )
    p.add_argument("--quiet", action="store_true", help="log only warnings and errors; implies --no-progress")
    add_set_option(
        p,
        "run every arm with a field at another value (repeatable; an arm's own settings still win; "
        "recorded in verdicts.json and report.md): the verdicts at another point than the defaults. Refused: a "
        "field that encodes an answer (macro.fiscal_fx_premium other than 0), one every arm of a chosen "
        "hypothesis sets itself (e.g. nisa.n_households) at another value, and one an arm of a chosen hypothesis "
        "switches (e.g. hedge_funds.forced_sales with H1) at any value",
    )
    p.set_defaults(handler=_cmd_hypotheses, resumable=True)


def _cmd_hypotheses(args: argparse.Namespace) -> int:
    from experiments.analysis.hypotheses import HYPOTHESES
    from experiments.analysis.hypotheses_report import format_estimate as _fmt
    from experiments.analysis.hypotheses_report import run_hypotheses

    only = name_list(args.only, HYPOTHESES, "hypothesis", upper=True) or []
    if args.seeds < 2:
        raise UsageError(f"--seeds = {args.seeds} is not allowed; expected at least 2 (an interval needs two)")
    if args.seeds < 3 and (not only or "H7" in only):
        raise UsageError(
            f"--seeds = {args.seeds} is not allowed with H7; expected at least 3 (the first half fit the dashboards, "
            "the rest, at least two, are scored)"
        )
    check_out_dir(args.out)
    if args.draws_from is not None:
        check_utf8_path(args.draws_from, "--draws-from")
    sets = checked_overrides(args.sets, refused={"simulation.days": HORIZON_NOTE})
    from experiments.analysis.hypotheses import check_triggers_apply, chosen

    try:  # before any run, and before any draw file is read
        check_triggers_apply(chosen(only or None), sets)
    except ValueError as exc:
        raise UsageError(f"--set {exc}") from None
    if args.draws is not None or args.draws_from is not None:
        return _over_draws(args, only, sets)
    results = run_hypotheses(args.out, seeds=args.seeds, only=only or None, workers=args.workers, quick=args.quick,
                             overrides=sets, progress=args.progress and not args.quiet)  # fmt: skip
    width = max(len(r.title) for r in results)
    for r in results:
        print(f"  {r.key}  {r.title:<{width}}  {r.verdict:<12}  {r.effect_name}: {_fmt(r.effect)} "
              f"[{_fmt(r.ci_low)}, {_fmt(r.ci_high)}]")  # fmt: skip
    print(f"  report: {Path(args.out) / 'report.md'}")
    return EXIT_OK


def draw_count(text: str) -> int:
    """argparse type: a number of parameter draws, 1 to MAX_DRAWS."""
    from experiments.analysis.hypothesis_draws import MAX_DRAWS

    return bounded_count("--draws", MAX_DRAWS)(text)


def _over_draws(args: argparse.Namespace, only: list[str], sets: dict[str, Any]) -> int:
    """``--draws`` / ``--draws-from``: every hypothesis at each parameter draw; the shares of verdicts."""
    from experiments.analysis.hypotheses import chosen
    from experiments.analysis.hypothesis_draws import check_draws, load_draws, prior_draws, run_over_draws

    try:
        if args.draws_from is not None:
            draws, source = load_draws(args.draws_from), str(args.draws_from)
            where = f"--draws-from {args.draws_from}: "
        else:
            draws, source, where = prior_draws(args.draws, held=tuple(sets)), "prior", "--draws: "
        try:
            check_draws(draws, sets, chosen(only or None))  # each draw with the --set values, before any run
        except ValueError as exc:
            raise ValueError(where + str(exc)) from None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    payload = run_over_draws(args.out, draws, seeds=args.seeds, only=only or None, workers=args.workers,
                             quick=args.quick, overrides=sets, source=source,
                             progress=args.progress and not args.quiet)  # fmt: skip
    n = len(draws)
    for key, s in payload["summary"].items():
        print(f"  {key}  supported {s['supported']:>3} / {n}   refuted {s['refuted']:>3} / {n}   "
              f"inconclusive {s['inconclusive']:>3} / {n}")  # fmt: skip
    print(f"  report: {Path(args.out) / 'draws.md'}")
    return EXIT_OK
