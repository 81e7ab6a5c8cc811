"""Which fiscal parameters make a budget weaken the yen, and which strengthen it.

Runs H2's experiment (:func:`experiments.analysis.hypotheses.h2_world`: a supplementary budget and a BoJ
hike, each sized so that the 10y JGB is 25 bp higher five days later than in the same seed without it)
over a grid of the fiscal reaction function's unbacked share ``macro.fiscal_unbacked_share`` and the
BoJ's fiscal constraint ``boj.political_constraint``, and prints the yen's response to each with a 95%
Student-t interval over seeds::

    python -m experiments.analysis.fiscal_worlds --seeds 6

The mapping from parameters to worlds is documented in ``docs/model/state.md`` (Fiscal dominance).
"""

from __future__ import annotations

import itertools
import logging
import math

from experiments.analysis.hypotheses import H2_TARGET_BP, h2_world

__all__ = ["UNBACKED_SHARES", "CONSTRAINTS", "fiscal_worlds", "main"]

UNBACKED_SHARES = (0.0, 0.3, 1.0)  # Ricardian, the default, fully active (macro.fiscal_unbacked_share)
CONSTRAINTS = (0.0, 0.8)  # an unconstrained BoJ, one withholding 80% of its rule (boj.political_constraint)


def fiscal_worlds(seeds, workers: int = 1, shares=UNBACKED_SHARES, constraints=CONSTRAINTS) -> list[dict]:
    """One row per (unbacked share, BoJ constraint): the budget's and the hike's size and the yen's response."""
    rows = []
    for s, c in itertools.product(shares, constraints):
        w = h2_world(seeds, workers, dict(macro__fiscal_unbacked_share=s, boj__political_constraint=c))
        rows.append(dict(unbacked_share=s, boj_constraint=c, fiscal=w["fiscal"], monetary=w["monetary"]))
    return rows


def main(argv=None) -> int:
    from experiments.cli.common import Parser

    # one-line errors, "prog: error: ... (see 'prog --help')", as the carry-unwind commands give them
    p = Parser(prog="python -m experiments.analysis.fiscal_worlds", description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=6, help="seeds 1..N (default 6)")
    p.add_argument("--workers", type=int, default=1, help="worker processes")
    args = p.parse_args(argv)
    # each option on its own: the error names only the one that is out of its range
    for name, lo, hi in (("seeds", 2, 1000), ("workers", 1, 256)):
        value = getattr(args, name)
        if not lo <= value <= hi:
            p.error(f"--{name} = {value} is not allowed; expected {lo} to {hi}")
    logging.basicConfig(level=logging.WARNING)  # a world whose sizing failed says why
    rows = fiscal_worlds(list(range(1, args.seeds + 1)), args.workers)
    print(f"Each shock sized to raise the 10y JGB by {H2_TARGET_BP:.0f} bp after 5 days (the sizes and π^e: medians "
          f"over {args.seeds} seeds; USD/JPY: the mean over them with its 95% Student-t interval)")  # fmt: skip
    print("unbacked s  BoJ c   budget ¥tn  USD/JPY % [95% CI]       π^e bp  hike bp  USD/JPY % [95% CI]       world")
    for r in rows:
        f, m = r["fiscal"], r["monetary"]
        if not math.isfinite(f["size"]):  # the sizing failed (a run did not clear, or the target was out of reach)
            world = "not sized: see the log"  # no verdict, not an unclear one
        elif not all(math.isfinite(x) for x in f["ci"]):
            world = "sized; no interval: a run failed at that size"
        else:
            lo, hi = f["ci"]
            world = "budget weakens the yen" if lo > 0 else "budget strengthens it" if hi < 0 else "unclear"
        print(
            f"{r['unbacked_share']:10.1f}  {r['boj_constraint']:5.1f}  {f['size']:10.1f}  "
            f"{f['usdjpy_change_pct']:+6.2f} [{f['ci'][0]:+.2f}, {f['ci'][1]:+.2f}]  "
            f"{f.get('inflation_expectations_change_bp', float('nan')):6.1f}  {1e4 * m['size']:7.0f}  "
            f"{m['usdjpy_change_pct']:+6.2f} [{m['ci'][0]:+.2f}, {m['ci'][1]:+.2f}]  {world}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
