"""Every check across fields refuses a combination that breaks it, with a message naming the fields.

Each field alone is inside its range in every case below; only the combination is not allowed.
"""

from __future__ import annotations

import pytest

from model.config import ModelConfig
from model.validation import ConfigError

CASES = [
    (
        {"cta.lookback_min_days": 120, "cta.lookback_max_days": 60},
        r"^cta\.lookback_min_days = 120 .*cta\.lookback_max_days = 60",
    ),
    (
        {"cta.vol_target_min_pa": 0.14, "cta.vol_target_max_pa": 0.11},
        r"^cta\.vol_target_min_pa = 0\.14 .*cta\.vol_target_max_pa",
    ),
    (
        {
            "life_insurers.foreign_securities_jpy_tn": 150.0,
            "life_insurers.superlong_jgb_jpy_tn": 250.0,
            "life_insurers.total_assets_jpy_tn": 380.0,
        },
        r"^life_insurers\.foreign_securities_jpy_tn = 150\.0 plus life_insurers\.superlong_jgb_jpy_tn = 250\.0 "
        r".*life_insurers\.total_assets_jpy_tn = 380\.0",
    ),  # fmt: skip
    (
        {"mof.reserves_usd_bn": 900.0, "mof.reserve_floor_usd_bn": 1000.0},
        r"^mof\.reserve_floor_usd_bn = 1000\.0 .*mof\.reserves",
    ),
    ({"market.start_date": "2023-02-30"}, r"start_date = '2023-02-30' .*ISO date"),
    ({"market.start_date": "1960-01-04"}, r"start_date = '1960-01-04' .*from 1971-01-01"),
    ({"market.risk_index": 60.0, "market.risk_index_max": 50.0}, r"risk_index = 60\.0 .*risk_index_max = 50\.0"),
    ({"boj.taper_start": "2024-13-01"}, r"taper_start = '2024-13-01' .*ISO date"),
    (
        {"market.ust10y_yield": 0.09, "simulation.max_yield_pa": 0.08},
        r"market\.ust10y_yield = 0\.09 .*simulation\.max_yield_pa = 0\.08",
    ),
    (
        {"market.jgb10y_yield": 0.07, "macro.jgb30_spread_pa": 0.02, "simulation.max_yield_pa": 0.08},
        r"macro\.jgb30_spread_pa = 0\.02 .*starting 30y yield",
    ),
    (
        {"market.fx_basis_pa": -0.02, "simulation.min_basis_pa": -0.015},
        r"market\.fx_basis_pa = -0\.02 .*simulation\.min_basis_pa = -0\.015",
    ),
]


@pytest.mark.parametrize("overrides, match", CASES)
def test_a_combination_that_breaks_a_check_is_refused(overrides, match):
    with pytest.raises(ConfigError, match=match):
        ModelConfig().with_overrides(overrides)


@pytest.mark.parametrize("overrides, match", CASES)
def test_each_field_of_those_combinations_is_allowed_alone(overrides, match):
    """The checks above are the combinations': every field alone, at its value there, passes (or, where
    the value is itself a malformed or out-of-range date, fails by its own rule and not a combination's)."""
    for key, value in overrides.items():
        try:
            ModelConfig().with_overrides({key: value})
        except ConfigError as exc:
            assert key.endswith(("start_date", "taper_start")) and " with " not in str(exc), (key, str(exc))


@pytest.mark.parametrize("degree", [3, 7, 49])
def test_an_odd_network_degree_is_refused_not_rounded_down(degree):
    """The ring lattice links each household to degree/2 neighbours on either side: an odd degree used to
    become degree - 1 without a word."""
    with pytest.raises(ConfigError, match=rf"^nisa\.network_degree = {degree} is not allowed; expected an even"):
        ModelConfig().with_overrides({"nisa.network_degree": degree})
    ModelConfig().with_overrides({"nisa.network_degree": degree + 1})
