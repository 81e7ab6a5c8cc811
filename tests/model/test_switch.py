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
# realised volatility), the MoF leaning against surges, the BoJ's stability pause off, the households frozen
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
    "nisa.trading": False,
}
# an overfilled carry book with a high maintenance ratio: margin calls after the shock
CROWDED_BOOK = {"hedge_funds__initial_leverage_fraction": 1.5, "hedge_funds__maintenance_ratio": 0.9}
# a BoJ that wants to hike (H6's setting): the two policies' switches bind in some seeds
HAWK = {"macro__jp_core_inflation": 0.035, "boj__mode": "rule"}
# the switches no sector reads while the initial state is built: switched before day 1, each is the
# run configured with it (the others shape the funds' opening positions); each with a seed and setting
# in which it binds
NOT_IN_THE_OPENING = [
    ("hedge_funds.forced_sales", 3, {}),
    ("hedge_funds.investor_flows", 3, {}),
    ("retail_fx.stop_outs", 3, {}),
    ("dealers.capital_constraint", 3, {}),
    ("market.risk_endogenous", 3, {}),
    ("mof.lean_against_surges", 3, HAWK),
    ("boj.stability_pause", 3, HAWK),
    ("nisa.trading", 3, {}),
]
# each switch on the shock's day, alone, with a seed and setting in which it binds after that day; the
# BoJ's pause cannot here (no meeting falls between day 60 and the runs' end on day 75: the test above
# covers it)
BINDING_AFTER_THE_SHOCK = [
    ("hedge_funds.margin_vol_elasticity", 3, {}),
    ("hedge_funds.forced_sales", 1, CROWDED_BOOK),
    ("hedge_funds.investor_flows", 3, {}),
    ("hedge_funds.risk_feedback", 3, {}),
    ("hedge_funds.realized_vol_weight", 3, {}),
    ("dealers.capital_constraint", 3, {}),
    ("market.risk_endogenous", 3, {}),
    ("retail_fx.stop_outs", 5, {"retail_fx__max_leverage": 25.0}),
    ("mof.lean_against_surges", 6, HAWK),
    ("nisa.trading", 3, {}),
]


def run(switches: dict | None = None, day: int = SHOCK_DAY, *, seed: int = 3, collect: bool = False,
        engine: str = "numba", **overrides) -> dict[str, np.ndarray]:  # fmt: skip
    key = (tuple(sorted((switches or {}).items())) if switches is not None else None, day, seed, collect, engine,
           tuple(sorted(overrides.items())))  # fmt: skip
    if key not in _RUNS:
        _RUNS[key] = _run(switches, day, seed=seed, collect=collect, engine=engine, **overrides)
    return _RUNS[key]


_RUNS: dict = {}  # the same arguments, the same run: computed once


def _run(switches, day, *, seed, collect, engine, **overrides) -> dict[str, np.ndarray]:
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


@pytest.mark.parametrize("field, seed, setting", NOT_IN_THE_OPENING)
def test_a_switch_before_the_first_day_is_the_setting_from_the_start(field, seed, setting):
    switched = run({field: ALL_OFF[field]}, day=1, seed=seed, **setting)
    configured = run(seed=seed, **setting, **{field.replace(".", "__"): ALL_OFF[field]})
    assert any(not np.array_equal(configured[c], run(seed=seed, **setting)[c]) for c in COLUMNS)  # it binds
    for c in COLUMNS:
        np.testing.assert_array_equal(switched[c], configured[c], err_msg=c)


@pytest.mark.parametrize("field, seed, setting", BINDING_AFTER_THE_SHOCK)
def test_each_switch_alone_acts_from_its_day_and_not_before(field, seed, setting):
    on, cut = run(seed=seed, **setting), run({field: ALL_OFF[field]}, seed=seed, **setting)
    for c in COLUMNS:
        np.testing.assert_array_equal(cut[c][:SHOCK_DAY], on[c][:SHOCK_DAY], err_msg=c)
    assert any(not np.array_equal(cut[c][SHOCK_DAY:], on[c][SHOCK_DAY:]) for c in COLUMNS)


def test_a_switch_holds_for_the_events_of_its_own_day():
    """Scheduled first, a switch fires before the day's other events even when they were scheduled
    before it (here a second copy of the scenario's event, scheduled before the switch)."""
    m = CarryUnwindModel(scenario="risk_off", seed=3, collect=False, **SMALL)
    seen = []
    apply_event = m.apply_event
    m.apply_event = lambda ev: (seen.append((ev.kind, m.config.market.risk_endogenous)), apply_event(ev))
    m.schedule(SHOCK_DAY, m.apply_event, load_scenario("risk_off").events[0])  # a second copy, before the switch
    m.schedule(SHOCK_DAY, m.switch, {"market.risk_endogenous": False}, first=True)
    m.run_days(SHOCK_DAY)
    assert seen and all(endogenous is False for _, endogenous in seen)
    assert m.switched == [(SHOCK_DAY, {"market.risk_endogenous": False})]


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


def test_frozen_households_place_no_orders_and_keep_their_books():
    """From the day they are frozen the households' flow is 0 and their units stay what they were
    (yesterday's executed orders booked); the books still balance."""
    from model.accounting import check_identities

    m = CarryUnwindModel(scenario="risk_off", seed=3, collect=False, **SMALL)
    m.schedule(SHOCK_DAY, m.switch, {"nisa.trading": False}, first=True)
    m.run_days(SHOCK_DAY - 1)
    households = m.sectors["nisa_households"]
    assert m.series("nisa_flow_jpy_tn")[-1] != 0.0
    m.run_days(1)
    units = households.state.units.copy()  # the day before's orders booked
    m.run_days(10)
    assert all(x == 0.0 for x in m.series("nisa_flow_jpy_tn")[SHOCK_DAY:])
    np.testing.assert_array_equal(households.state.units, units)
    check_identities(m)


def test_households_frozen_then_trading_again_resume_from_their_books():
    """Frozen for ten days and let trade again, the households place orders the next day and the
    books balance every day; the run is the unfrozen run until the freeze."""
    from model.accounting import check_identities

    m = CarryUnwindModel(scenario="baseline", seed=3, collect=False, **SMALL)
    m.schedule(20, m.switch, {"nisa.trading": False}, first=True)
    m.schedule(30, m.switch, {"nisa.trading": True}, first=True)
    for _ in range(40):
        m.run_days(1)
        check_identities(m)
    flows = m.series("nisa_flow_jpy_tn")
    assert all(x == 0.0 for x in flows[20:30]) and all(x != 0.0 for x in flows[30:])
    unfrozen = CarryUnwindModel(scenario="baseline", seed=3, collect=False, **SMALL)
    unfrozen.run_days(40)
    np.testing.assert_array_equal(m.series("usdjpy")[:20], unfrozen.series("usdjpy")[:20])
    assert m.switched == [(20, {"nisa.trading": False}), (30, {"nisa.trading": True})]
