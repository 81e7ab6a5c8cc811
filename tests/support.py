"""Helpers shared by the test modules (plain functions; ``conftest.py`` sets up numba's cache first)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from model.model import CarryUnwindModel

# Margin calls, failures and re-entries do happen within a few hundred days with these settings.
CRASH_PRONE = {
    "hedge_funds__max_leverage": 25.0,
    "hedge_funds__trend_share": 0.5,
    "hedge_funds__risk_aversion_median": 1.0,
    "hedge_funds__vol_floor_pa": 0.03,  # the lowest allowed stressed-VaR floor
}
N_FUNDS = 100
# A test-only scenario with a sentiment jump of the risk index on day 60 (``risk_shock`` is for experiments;
# no named scenario uses it): the tests of crash bookkeeping need a crash to happen, whatever the calibration.
SENTIMENT_STRESS = str(Path(__file__).with_name("scenarios") / "sentiment_stress.toml")
SENTIMENT_CRASH = str(Path(__file__).with_name("scenarios") / "sentiment_crash.toml")  # a jump of ×7.4


def make_model(seed: int, scenario: str = "baseline", **overrides) -> CarryUnwindModel:
    """A small model (``N_FUNDS`` funds unless overridden)."""
    overrides.setdefault("hedge_funds__n_funds", N_FUNDS)
    return CarryUnwindModel(seed=seed, scenario=scenario, **overrides)


def run_model(seed: int, days: int, scenario: str = "baseline", **overrides) -> CarryUnwindModel:
    model = make_model(seed, scenario, **overrides)
    for _ in range(days):
        model.step()
    return model


def log_returns(model: CarryUnwindModel) -> np.ndarray:
    """Daily USD/JPY log returns of a run."""
    return np.diff(np.log(np.asarray(model.history["usdjpy"], dtype=float)))


SNAPSHOT_FIELDS = (
    "alive", "liquidating", "reentry_day", "ust_units", "fwd_usd_bn", "cash_usd_bn", "equity_book_usd_bn",
    "perf_ema", "fwd_new_usd_bn",
)  # fmt: skip


def fund_snapshot(model: CarryUnwindModel) -> dict:
    """A copy of the funds' arrays after the day, keyed by field name, with the day."""
    f = model.hedge_funds
    return {"day": model.day, **{name: getattr(f, name).copy() for name in SNAPSHOT_FIELDS}}


def forwards_held(model: CarryUnwindModel) -> tuple[float, ...]:
    """Every holder's long-USD forwards from its own state (not the ledger): funds long, insurers' hedges
    short, the dealers' book and their outside swap clients, then the other sectors' own records (the
    trend followers, the retail FX traders). In zero net supply they sum to zero."""
    d = model.dealers
    named = (float(model.hedge_funds.fwd_usd_bn.sum()), -float(model.life_insurers.hedge_usd_bn.sum()), d.fwd_usd_bn,
             d.swap_clients_fwd_usd_bn)  # fmt: skip
    others = tuple(
        sum(h.get("usd_fwd_bn", 0.0) for h in s.holdings_rows().values())
        for s in model.sector_list
        if s.name not in ("hedge_funds", "life_insurers", "dealers")
    )
    return named + others


def seeds_run(monkeypatch) -> list[int]:
    """The seeds that ``experiments.runner.run_tasks`` runs from now on, inside a resumable command: those
    whose result its checkpoint does not already hold (the list fills as the command runs)."""
    from experiments import runner

    ran: list[int] = []
    original = runner.run_tasks

    def counting(fn, tasks, **kw):
        found, _ = runner.active_checkpoint().split(fn, list(tasks))
        ran.extend(t["seed"] for i, t in enumerate(tasks) if i not in found)
        return original(fn, tasks, **kw)

    monkeypatch.setattr(runner, "run_tasks", counting)
    return ran


# -- the command line's one-line errors --------------------------------------------------------------
CLI_TINY = ["--days", "3", "--set", "hedge_funds.n_funds=20", "--no-progress", "--quiet"]  # a run of seconds


def one_error_line(err: str) -> str:
    """The single ``carry-unwind: error:`` line of stderr (and no traceback anywhere)."""
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("carry-unwind: error:")]
    assert len(lines) == 1, err
    return lines[0]


def usage_error(capsys, *argv: str) -> str:
    """Run the command line; it must exit 2 with one error line, which is returned."""
    from experiments.cli import main
    from experiments.cli.common import EXIT_USAGE

    status = main(list(argv))
    err = capsys.readouterr().err
    assert status == EXIT_USAGE, err
    return one_error_line(err)
