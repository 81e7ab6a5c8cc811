"""Runtime switches (``CarryUnwindModel.switch``): a feedback link cut between two days of a run.

The hypotheses cut links on a trigger's day so that an ablation and its twin meet the trigger with
the same books; these tests check that a switch changes nothing before its day, takes effect on it,
and means the same as the setting it switches to.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from model.config import RUNTIME_SWITCHES
from model.model import CarryUnwindModel
from model.scenarios import load_scenario
from model.validation import ConfigError
from tests.support import N_FUNDS

SMALL = {"hedge_funds__n_funds": N_FUNDS, "nisa__n_households": 500, "retail_fx__n_accounts": 500}
SHOCK_DAY = 60  # risk_off's US growth surprise
DAYS = 75
COLUMNS = ("usdjpy", "risk_index", "hf_gross_usd_bn", "dealer_equity_usd_bn", "retail_fx_long_usd_bn", "ust10y_yield")
# every runtime switch away from its default: the feedback links cut (hypotheses.FEEDBACK_OFF and
# realised volatility), the MoF leaning against surges, the BoJ's stability pause off
ALL_OFF = {
    "hedge_funds.margin_vol_elasticity": 0.0,
    "hedge_funds.forced_sales": False,
    "hedge_funds.investor_flows": False,
    "hedge_funds.risk_feedback": False,
    "hedge_funds.realized_vol_weight": 0.0,
    "retail_fx.stop_outs": False,
    "dealers.capital_constraint": False,
    "market.risk_endogenous": False,
    "mof.lean_against_surges": True,
    "boj.stability_pause": False,
}
# the switches no sector reads while the initial state is built: switched before day 1, each is the
# run configured with it (the others shape the funds' opening positions)
NOT_IN_THE_OPENING = ("hedge_funds.forced_sales", "hedge_funds.investor_flows", "retail_fx.stop_outs",
                      "dealers.capital_constraint", "market.risk_endogenous", "mof.lean_against_surges",
                      "boj.stability_pause")  # fmt: skip


def run(switches: dict | None = None, day: int = SHOCK_DAY, *, seed: int = 3, collect: bool = False,
        engine: str = "numba", **overrides) -> dict[str, np.ndarray]:  # fmt: skip
    m = CarryUnwindModel(scenario="risk_off", seed=seed, collect=collect, engine=engine,
                         **{**SMALL, "simulation__days": DAYS, **overrides})  # fmt: skip
    if switches is not None:
        m.schedule(day, m.switch, switches)
    m.run_for(DAYS) if collect else m.run_days(DAYS)
    return {c: np.asarray(m.series(c) if not collect else m.history[c], dtype=float) for c in COLUMNS}


def test_the_switches_and_the_cut_values_name_the_same_fields():
    assert set(ALL_OFF) == RUNTIME_SWITCHES


def test_a_switch_changes_nothing_before_its_day_and_acts_on_it():
    on, cut = run(), run(ALL_OFF)
    for c in COLUMNS:
        np.testing.assert_array_equal(cut[c][:SHOCK_DAY], on[c][:SHOCK_DAY], err_msg=c)
    # the shock's own day already differs: the links act inside the day's clearing
    assert cut["usdjpy"][SHOCK_DAY] != on["usdjpy"][SHOCK_DAY]
    assert cut["risk_index"][SHOCK_DAY] != on["risk_index"][SHOCK_DAY]


def test_switching_to_the_values_a_run_has_changes_nothing():
    on = run()
    cfg = load_scenario("risk_off").config.to_dict()
    same = run({k: cfg[k.split(".")[0]][k.split(".")[1]] for k in ALL_OFF})
    for c in COLUMNS:
        np.testing.assert_array_equal(same[c], on[c], err_msg=c)


@pytest.mark.parametrize("field", NOT_IN_THE_OPENING)
def test_a_switch_before_the_first_day_is_the_setting_from_the_start(field):
    switched = run({field: ALL_OFF[field]}, day=1)
    configured = run(**{field.replace(".", "__"): ALL_OFF[field]})
    for c in COLUMNS:
        np.testing.assert_array_equal(switched[c], configured[c], err_msg=c)


@pytest.mark.parametrize("engine, collect", [("numba", True), ("numpy", False), ("mesa", False)])
def test_every_path_and_engine_takes_a_switch_alike(engine, collect):
    lean = run(ALL_OFF)
    other = run(ALL_OFF, engine=engine, collect=collect)
    np.testing.assert_array_equal(other["usdjpy"], lean["usdjpy"])


@pytest.mark.parametrize(
    "switches, named",
    [
        ({"hedge_funds.n_funds": 10}, "hedge_funds.n_funds"),
        ({"hedge_funds__max_leverage": 2.0}, "hedge_funds__max_leverage"),
        ({"nosuch.field": 1.0}, "nosuch.field"),
        ({"hedge_funds.realized_vol_weight": 2.0}, "realized_vol_weight"),
        ({"hedge_funds.realized_vol_weight": float("nan")}, "realized_vol_weight"),
        ({"retail_fx.stop_outs": "no"}, "stop_outs"),
    ],
)
def test_a_bad_switch_is_refused_in_one_line_naming_it(switches, named):
    m = CarryUnwindModel(scenario="baseline", seed=1, collect=False, **SMALL)
    before = m.config
    with pytest.raises(ConfigError) as exc:
        m.switch(switches)
    msg = str(exc.value)
    assert named in msg and "\n" not in msg
    assert m.config is before  # nothing changed


def test_an_arm_switches_its_links_on_its_day():
    from experiments.analysis import hypotheses as hyp

    arm = hyp.Arm("risk_off", 3, DAYS, hyp.overrides(**SMALL), columns=("usdjpy",))
    cut = hyp.overrides(**{k.replace(".", "__"): v for k, v in ALL_OFF.items()})
    on = hyp.run_arm(arm)["usdjpy"]
    off = hyp.run_arm(dataclasses.replace(arm, switches=cut, switch_day=SHOCK_DAY))["usdjpy"]
    np.testing.assert_array_equal(off[:SHOCK_DAY], on[:SHOCK_DAY])
    np.testing.assert_array_equal(off, run(ALL_OFF)["usdjpy"])  # the model's own switch, the same numbers
