"""A user's run checks its own accounting: :func:`model.results.run_simulation` (and with it
``simulate_many``, the command line's runs, the sweeps) and the hypotheses' arms check every day's
recorded Walras residual and every identity of :func:`model.accounting.check_identities` on the final
state (:func:`model.results.check_accounting`).

Each checker is shown to fail by breaking the state as a faulty sector would (as
tests/model/test_sector_protocol.py breaks it for ``check_identities`` itself), and a run whose books
balance gives the same numbers, bit for bit, with the check as without it."""

from __future__ import annotations

import math

import pytest

import model.model as model_module
import model.results as results
from agents.fx_fundamentals import RealMoney
from model.accounting import WALRAS_SLACK, AccountingError

SMALL = dict(hedge_funds__n_funds=20, nisa__n_households=200)
DAYS = 30
BROKEN_DAY = 7
# what a run whose books do not balance on BROKEN_DAY fails with: the daily Walras check, which sums the
# trades booked that day (3 bn dollars from no one count as dollars bought in spot that no one sold),
# comes before the final state's conservation checks, and names the day
UNBALANCED = f": day {BROKEN_DAY}: excess demand at the recorded prices"


def run(**kw):
    return results.run_simulation(seed=3, days=DAYS, **SMALL, **kw)


def test_a_normal_run_passes_once_and_the_check_changes_no_state(monkeypatch):
    """The check runs once, on the final state, and leaves the ledger, the market and every sector's
    records exactly as it found them (the run's series are recorded before it, so only the state it
    reads could change)."""
    import pickle

    seen = []
    real = results.check_accounting

    def watched(model, where=""):
        def state():
            books = [s.holdings_rows() for s in model.sector_list]
            return pickle.dumps((model.ledger.table, model.market.__dict__, books))

        before = state()
        real(model, where)
        seen.append((model.day, where, before == state()))

    monkeypatch.setattr(results, "check_accounting", watched)
    run(scenario="risk_off")
    assert len(seen) == 1
    day, where, unchanged = seen[0]
    assert day == DAYS and unchanged
    assert where.startswith("scenario risk_off, seed 3")  # names the run, for a failure among many


@pytest.mark.parametrize(
    "breakage, match",
    [
        # a trade booked on one side only: the day's books do not net to zero (and money is not conserved)
        ("one_sided", UNBALANCED),
        # both sides booked, but the sector's own position moves without a trade
        ("own_records", "real_money holds usd_bn"),
        # a balanced ledger entry that the sector's records do not follow
        ("ledger_only", "real_money holds usd_bn"),
    ],
)
def test_a_sector_that_settles_unbalanced_books_fails_the_run(monkeypatch, breakage, match):
    settle = RealMoney.settle

    def faulty(self, model, day):
        settle(self, model, day)
        if model.day != BROKEN_DAY:
            return
        if breakage == "one_sided":
            model.ledger.book("real_money", "usd_bn", 3.0)
        elif breakage == "own_records":
            self.holdings_usd_bn += 1.0
        else:
            model.ledger.book("real_money", "usd_bn", 3.0)
            model.ledger.book("trade", "usd_bn", -3.0)

    monkeypatch.setattr(RealMoney, "settle", faulty)
    with pytest.raises(AccountingError, match=match) as caught:
        run()
    # the identities are checked on the final state: cumulative, so a day's error shows on the last day;
    # the daily Walras check names the day whose books do not net to zero
    day = BROKEN_DAY if breakage == "one_sided" else DAYS
    message = str(caught.value)
    assert message.startswith("scenario baseline, seed 3, ") and f": day {day}: " in message and "\n" not in message


@pytest.mark.parametrize("value", [1e-3, math.nan, math.inf])
def test_a_day_whose_recorded_walras_residual_is_out_of_bounds_fails_the_run_naming_that_day(monkeypatch, value):
    """The final day's residual is fine: only the check of every day's record finds the broken one."""
    real = model_module.walras_residual
    calls = []

    def corrupted(*args):
        calls.append(None)
        return value if len(calls) == BROKEN_DAY else real(*args)

    monkeypatch.setattr(model_module, "walras_residual", corrupted)
    expected = f"^scenario baseline, seed 3, .*: day {BROKEN_DAY}: excess demand at the recorded prices"
    with pytest.raises(AccountingError, match=expected) as caught:
        run()
    assert "\n" not in str(caught.value)


def test_the_daily_limit_is_the_one_check_identities_applies(monkeypatch):
    """Just within WALRAS_SLACK × clearing_tolerance passes; just beyond it fails."""
    real = model_module.walras_residual
    limit = WALRAS_SLACK * 1e-10  # simulation.clearing_tolerance's default
    for value, fails in ((limit, False), (math.nextafter(limit, 1.0), True)):
        calls = []

        def at(*args, value=value, calls=calls):
            calls.append(None)
            return value if len(calls) == BROKEN_DAY else real(*args)

        monkeypatch.setattr(model_module, "walras_residual", at)
        if fails:
            with pytest.raises(AccountingError, match=f": day {BROKEN_DAY}: "):
                run()
        else:
            run()


@pytest.fixture
def unbalanced(monkeypatch):
    """Real-money investors book 3 bn dollars from nothing on day ``BROKEN_DAY``."""
    settle = RealMoney.settle

    def faulty(self, model, day):
        settle(self, model, day)
        if model.day == BROKEN_DAY:
            model.ledger.book("real_money", "usd_bn", 3.0)

    monkeypatch.setattr(RealMoney, "settle", faulty)


def test_simulate_many_checks_its_runs(unbalanced):
    with pytest.raises(AccountingError, match=UNBALANCED):
        results.simulate_many("baseline", [1], days=DAYS, overrides=SMALL)


def test_the_hypotheses_arms_check_their_runs(unbalanced):
    from experiments.analysis import hypotheses as hyp

    with pytest.raises(AccountingError, match=UNBALANCED):
        hyp.run_arm(hyp.Arm("baseline", 1, DAYS, hyp.overrides(**SMALL)))


def test_the_command_line_reports_an_accounting_failure_in_one_line(unbalanced, tmp_path, capsys):
    """A broken run through ``carry-unwind run`` ends with exit status 1 and one line on stderr that
    says it is a bug, not a traceback."""
    from experiments.cli import main
    from experiments.cli.common import EXIT_FAILURE

    sets = ["--set", "hedge_funds.n_funds=20", "--set", "nisa.n_households=200"]
    status = main(["run", "--days", str(DAYS), "--seed", "3", "--out", str(tmp_path / "out"), "--quiet", *sets])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == EXIT_FAILURE
    assert len(err) == 1 and "accounting does not add up" in err[0] and UNBALANCED in err[0]
    assert "a bug in the model" in err[0]


def test_check_every_day_sees_a_gap_that_closes_before_the_last_day(monkeypatch):
    """A sector whose records disagree with the ledger on one day only: the final-state check cannot
    see it, the daily one names that day; without a gap both give the same numbers bit for bit."""
    from model.accounting import AccountingError
    from model.results import run_simulation

    kw = dict(scenario="baseline", seed=3, days=8, hedge_funds__n_funds=20)
    plain = run_simulation(**kw)
    checked = run_simulation(check_every_day=True, **kw)
    assert plain.timeseries.equals(checked.timeseries)

    from agents.dealers import Dealers

    record = Dealers.record

    def on_day_4_only(self, model):  # the equity account $1 bn off after day 4's books, mended on day 5
        if model.day == 4:
            self.equity_book_usd_bn += 1.0
        elif model.day == 5:
            self.equity_book_usd_bn -= 1.0
        return record(self, model)

    monkeypatch.setattr(Dealers, "record", on_day_4_only)
    run_simulation(**kw)  # the final state's check passes: the gap has closed
    with pytest.raises(AccountingError, match=r"scenario baseline, seed 3.*day 4"):
        run_simulation(check_every_day=True, **kw)
