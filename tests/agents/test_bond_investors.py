"""The end investors in bonds: what they trade on the first days of a run."""

from __future__ import annotations

import pytest

from tests.support import make_model


@pytest.mark.parametrize("scenario, overrides", [("boj_hike_2024", {}), ("baseline", {"market__risk_index": 30.0})])
def test_the_ust_investors_start_on_their_demand_curve(scenario, overrides):
    """At an opening risk index away from its mean the investors already hold f·(v₀ − v̄): day 1's flight
    to quality trades f times the index's change over day 1 alone, read at the day's index inside the
    clearing, and so does day 2. (Starting that term from 0 sold $58 bn of Treasuries on the replay's first
    day, which no input caused.)"""
    model = make_model(1001, scenario, **overrides)
    bi, f = model.sectors["bond_investors"], model.config.bond_investors.flight_to_quality_usd_bn
    v0 = model.market.risk_index
    assert v0 != model.config.market.risk_index_mean
    assert bi.ust_extra_usd_bn == pytest.approx(f * (v0 - model.config.market.risk_index_mean), rel=1e-12)
    v = v0
    for _ in range(2):
        extra, absorbed = bi.ust_extra_usd_bn, model.signals.get("ust_absorbed_usd_bn", 0.0)
        model.step()
        v_day = model.market.risk_index  # the day's close: the index the clearing cleared at
        assert bi.ust_extra_usd_bn - extra == pytest.approx(f * (v_day - v) + absorbed, rel=1e-9, abs=1e-9)
        v = v_day


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_flight_to_quality_moves_the_treasury_yield_on_its_day(seed):
    """A risk shock before a day's trading raises the day's risk index inside the clearing, and the
    investors' flight to quality, read there, lowers that day's 10y yield against a twin without the
    shock. Without a flight to quality (f = 0) the same shock moves the day's yield far less."""
    from model.scenarios import ScenarioEvent

    def day_yield(shock: bool, **overrides) -> float:
        model = make_model(seed, "baseline", **overrides)
        model.run_days(20)
        if shock:
            model.apply_event(ScenarioEvent(day=21, kind="risk_shock", params={"log_jump": 0.7}))
        model.run_days(1)
        return model.market.ust10y_yield

    moved_bp = 1e4 * (day_yield(True) - day_yield(False))
    still_bp = 1e4 * (day_yield(True, bond_investors__flight_to_quality_usd_bn=0.0)
                      - day_yield(False, bond_investors__flight_to_quality_usd_bn=0.0))  # fmt: skip
    assert moved_bp < -1.0
    assert abs(still_bp) < 0.25 * abs(moved_bp)
