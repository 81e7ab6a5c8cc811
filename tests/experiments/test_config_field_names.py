"""A refused configuration value is named as the user wrote it: ``hedge_funds.n_funds``, the dotted path of
``--set``, scenario files, ``--config`` files and sweep specifications, not the class that holds it.

Before: every path said ``HedgeFundConfig.n_funds = 0 funds is out of range; ...``, a name written nowhere
the user writes, and an unknown field was "in HedgeFundConfig"."""

from __future__ import annotations

import dataclasses

import pytest

from agents.hedge_funds import HedgeFundConfig
from agents.mof import MofConfig
from model.config import SECTIONS, ModelConfig
from model.validation import ConfigError, Validated, param
from tests.support import usage_error

QUICK = ["--days", "3", "--no-progress", "--quiet"]
N_FUNDS_ZERO = "hedge_funds.n_funds = 0 funds is out of range; expected a finite number in [1, 1e+07]"


def test_set_names_the_field_as_written(tmp_path, capsys):
    line = usage_error(capsys, "run", *QUICK, "--set", "hedge_funds.n_funds=0", "--out", str(tmp_path / "r"))
    assert line == f"carry-unwind: error: --set: {N_FUNDS_ZERO}"
    assert "HedgeFundConfig" not in line


def test_a_config_file_names_the_field_as_written(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text("[hedge_funds]\nn_funds = 0\n")
    line = usage_error(capsys, "run", *QUICK, "--config", str(path), "--out", str(tmp_path / "r"))
    assert line == f"carry-unwind: error: --config: [{path}] {N_FUNDS_ZERO}"


def test_a_scenario_file_names_the_field_as_written_at_its_line(tmp_path, capsys):
    path = tmp_path / "mine.toml"
    path.write_text('name = "mine"\n[overrides.hedge_funds]\nmax_leverage = 30.0\nn_funds = 0\n')
    line = usage_error(capsys, "run", *QUICK, "--scenario", str(path), "--out", str(tmp_path / "r"))
    assert line == f"carry-unwind: error: {path}, line 4: {N_FUNDS_ZERO}"


def test_a_sweep_specification_names_the_field_as_written(tmp_path, capsys):
    spec = tmp_path / "spec.toml"
    spec.write_text('[sweep]\nscenario = "baseline"\ndays = 3\ndesign = "grid"\n[fixed]\nhedge_funds.n_funds = 0\n'
                    "[parameters]\nhedge_funds.max_leverage = { values = [2.0, 5.0] }\n")  # fmt: skip
    line = usage_error(capsys, "sweep", str(spec), "--out", str(tmp_path / "s"))
    assert line == f"carry-unwind: error: {spec}: [fixed]: {N_FUNDS_ZERO}"


def test_python_overrides_and_records_name_the_field_as_written():
    from model.results import run_simulation

    with pytest.raises(ConfigError) as info:
        run_simulation(days=2, hedge_funds__n_funds=0)
    assert str(info.value) == N_FUNDS_ZERO
    with pytest.raises(ConfigError) as info:
        ModelConfig(hedge_funds=HedgeFundConfig(n_funds=0))
    assert str(info.value) == N_FUNDS_ZERO
    with pytest.raises(ConfigError, match=r"^hedge_funds\.n_funds = 2\.5 is not allowed; expected an integer"):
        ModelConfig().with_overrides({"hedge_funds.n_funds": 2.5})


def test_a_rule_across_a_sections_fields_names_both_fields_as_written():
    with pytest.raises(ConfigError) as info:
        MofConfig(reserves_usd_bn=800.0, reserve_floor_usd_bn=1000.0)
    assert str(info.value) == (
        "mof.reserve_floor_usd_bn = 1000.0 is not allowed with mof.reserves_usd_bn = 800.0; "
        "expected a floor at or below the reserves"
    )


def test_an_unknown_field_in_a_file_names_its_section():
    with pytest.raises(ConfigError) as info:
        ModelConfig.from_dict({"hedge_funds": {"nfunds": 10}}, where="c.toml")
    assert str(info.value).startswith("[c.toml] unknown field 'nfunds' in section 'hedge_funds'; known fields: ")


def test_every_section_names_itself_and_a_record_of_no_section_keeps_its_class_name():
    assert {name: kind.section_name() for name, kind in SECTIONS.items()} == {name: name for name in SECTIONS}

    @dataclasses.dataclass(frozen=True)
    class OutsideConfig(Validated):
        count: int = param(5, lo=1, hi=10)

    with pytest.raises(ConfigError, match=r"^OutsideConfig\.count = 0 is out of range; expected"):
        OutsideConfig(count=0)

    @dataclasses.dataclass(frozen=True)
    class Variant(HedgeFundConfig):  # a section's record changed (a sweep's copy without its cross-field checks)
        pass

    with pytest.raises(ConfigError, match=r"^hedge_funds\.n_funds = 0 funds is out of range"):
        Variant(n_funds=0)
