"""Same seed → same history, bit for bit; independent named streams; configuration round-trips."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model.config import ModelConfig
from model.streams import RandomStreams
from tests.support import CRASH_PRONE, run_model

DAYS = 200


@pytest.mark.parametrize(
    "scenario, overrides",
    [("baseline", {}), ("risk_off", CRASH_PRONE)],
    ids=["baseline", "crash_prone"],
)
def test_same_seed_gives_identical_history_bit_for_bit(scenario, overrides):
    a = run_model(11, DAYS, scenario, **overrides)
    b = run_model(11, DAYS, scenario, **overrides)
    ta, tb = a.timeseries(), b.timeseries()
    assert ta.equals(tb)
    assert a.datacollector.get_model_vars_dataframe().equals(b.datacollector.get_model_vars_dataframe())
    for name in a.hedge_funds._fields:
        assert np.array_equal(getattr(a.hedge_funds, name), getattr(b.hedge_funds, name)), name
    assert np.array_equal(a.ledger.table, b.ledger.table)


def test_different_seeds_give_different_histories():
    a = run_model(11, DAYS).timeseries()
    b = run_model(12, DAYS).timeseries()
    assert not np.array_equal(a["usdjpy"].to_numpy(), b["usdjpy"].to_numpy())
    # different almost every day, not just somewhere
    assert np.mean(a["usdjpy"].to_numpy()[1:] != b["usdjpy"].to_numpy()[1:]) > 0.9


def test_history_does_not_depend_on_other_models_run_in_between():
    """No hidden global state: interleaving another model does not change a run."""
    solo = run_model(5, 50).timeseries()
    from tests.support import make_model

    a, other = make_model(5), make_model(6, "risk_off", **CRASH_PRONE)
    for _ in range(50):
        a.step()
        other.step()
    pd.testing.assert_frame_equal(solo, a.timeseries(), check_exact=True)


# ---------------------------------------------------------------------------------------------
# named random streams


def draws(gen: np.random.Generator, n: int = 8) -> np.ndarray:
    return gen.standard_normal(n)


def test_stream_draws_do_not_depend_on_which_other_streams_exist():
    alone = draws(RandomStreams(42)["trade_flows"])
    crowded = RandomStreams(42)
    for name in ("risk_index", "hedge_funds.init", "a_new_sector", "jgb_term_premium"):
        crowded[name].standard_normal(1000)
    assert np.array_equal(alone, draws(crowded["trade_flows"]))


def test_stream_draws_do_not_depend_on_creation_order():
    names = ["trade_flows", "risk_index", "ust_term_premium", "jgb_term_premium", "hedge_funds.init"]
    forward = RandomStreams(3)
    first = {n: draws(forward[n]) for n in names}
    backward = RandomStreams(3)
    second = {n: draws(backward[n]) for n in reversed(names)}
    for n in names:
        assert np.array_equal(first[n], second[n]), n


def test_interleaved_draws_from_other_streams_do_not_shift_a_stream():
    s1, s2 = RandomStreams(9), RandomStreams(9)
    a = np.concatenate([draws(s1["trade_flows"], 3), draws(s1["trade_flows"], 3)])
    b1 = draws(s2["trade_flows"], 3)
    s2["risk_index"].random(17)
    b2 = draws(s2["trade_flows"], 3)
    assert np.array_equal(a, np.concatenate([b1, b2]))


def test_streams_differ_by_name_and_by_seed():
    s = RandomStreams(1)
    assert not np.array_equal(draws(s["trade_flows"]), draws(s["risk_index"]))
    assert not np.array_equal(draws(RandomStreams(1)["trade_flows"]), draws(RandomStreams(2)["trade_flows"]))


def test_exogenous_flow_draws_do_not_depend_on_the_fund_population():
    """Changing another sector (the number of funds, their leverage) leaves the trade-flow shocks alone:
    each sector draws from its own named stream."""
    days = 60
    runs = [
        run_model(21, days, **overrides).history["trade_flow_usd_bn"]
        for overrides in (
            {"hedge_funds__n_funds": 50},
            {"hedge_funds__n_funds": 150, "hedge_funds__max_leverage": 3.0},
            {"hedge_funds__n_funds": 80, "hedge_funds__trend_share": 0.5},
        )
    ]
    assert np.std(runs[0][1:]) > 0  # the series is random, not constant
    for other in runs[1:]:
        assert np.array_equal(np.asarray(runs[0]), np.asarray(other))
    assert not np.array_equal(np.asarray(runs[0]), np.asarray(run_model(22, days).history["trade_flow_usd_bn"]))


@pytest.mark.parametrize("bad", [-1, 1.5, "7", True])
def test_random_streams_reject_bad_seeds(bad):
    with pytest.raises(ValueError, match="seed"):
        RandomStreams(bad)


# ---------------------------------------------------------------------------------------------
# configuration round-trip


def test_default_config_round_trips_through_toml(tmp_path):
    cfg = ModelConfig()
    path = tmp_path / "cfg.toml"
    cfg.to_toml(path)
    assert ModelConfig.from_toml(path) == cfg


def test_modified_config_round_trips_through_toml_exactly(tmp_path):
    cfg = ModelConfig().with_overrides(
        {
            "hedge_funds.max_leverage": 17.123456789012345,
            "hedge_funds.forced_sales": False,
            "hedge_funds.n_funds": 1234,
            "simulation.clearing_tolerance": 3e-11,
            "market.boj_rate": -0.001,
            "real_money.trade_flow_mean_usd_bn": 0.1 + 0.2,  # not a short decimal
        }
    )
    path = tmp_path / "cfg.toml"
    text = cfg.to_toml(path)
    back = ModelConfig.from_toml(path)
    assert back == cfg
    assert back.to_toml() == text
    assert back.hedge_funds.max_leverage == 17.123456789012345
    assert back.hedge_funds.forced_sales is False
    assert isinstance(back.hedge_funds.n_funds, int)
