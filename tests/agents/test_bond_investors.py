"""The end investors in bonds: what they trade on the first days of a run."""

from __future__ import annotations

import pytest

from tests.support import make_model


@pytest.mark.parametrize("scenario, overrides", [("boj_hike_2024", {}), ("baseline", {"market__risk_index": 30.0})])
def test_the_ust_investors_start_on_their_demand_curve(scenario, overrides):
    """At an opening risk index away from its mean, day 1's flight-to-quality term trades nothing: the
    investors already hold f·(v₀ − v̄). Day 2 trades f times the index's change over day 1. (Starting that
    term from 0 sold $58 bn of Treasuries on the replay's first day, which no input caused.)"""
    model = make_model(1001, scenario, **overrides)
    bi, f = model.sectors["bond_investors"], model.config.bond_investors.flight_to_quality_usd_bn
    v0 = model.market.risk_index
    assert v0 != model.config.market.risk_index_mean
    absorbed = model.signals.get("ust_absorbed_usd_bn", 0.0)
    model.step()
    assert bi._today.ust_extra_change == pytest.approx(absorbed, abs=1e-12)
    v1, absorbed = model.market.risk_index, model.signals.get("ust_absorbed_usd_bn", 0.0)
    model.step()
    assert bi._today.ust_extra_change == pytest.approx(f * (v1 - v0) + absorbed, rel=1e-12, abs=1e-12)
