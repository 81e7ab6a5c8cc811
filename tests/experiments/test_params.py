"""``carry-unwind params``: every configuration field with its unit, range, default and source."""

from __future__ import annotations

import csv
import dataclasses
import io

import pytest

from experiments.cli import main
from experiments.cli.params import parameter_rows
from model.config import SECTIONS


def test_every_field_of_every_section_is_listed_once():
    rows = parameter_rows()
    expected = [(s, f.name) for s, cls in SECTIONS.items() for f in dataclasses.fields(cls)]
    assert [(r["section"], r["field"]) for r in rows] == expected


def test_a_field_shows_its_declared_default_unit_range_meaning_and_source():
    (row,) = parameter_rows("hedge_funds.max_leverage")
    meta = {f.name: f for f in dataclasses.fields(SECTIONS["hedge_funds"])}["max_leverage"]
    assert row["default"] == repr(meta.default)
    assert row["unit"] == meta.metadata["unit"] == "x equity"
    assert row["allowed"] == "[1, 100]"
    assert row["meaning"] == " ".join(meta.metadata["doc"].split())
    assert row["source"] == " ".join(meta.metadata["source"].split())


@pytest.mark.parametrize(
    "which, allowed",
    [
        ("hedge_funds.maintenance_ratio", "[0.05, 1)"),  # open at the top
        ("hedge_funds.adjustment_speed", "(0, 1]"),  # open at the bottom
        ("hedge_funds.initial_carry_usd_bn", "[0, inf)"),  # no upper bound
        ("simulation.days", "[1, 1000000]"),  # written out, not 1e+06
        ("hedge_funds.forced_sales", "true or false"),
        ("boj.mode", "one of 'rule', 'scripted'"),
    ],
)
def test_ranges_are_written_as_intervals(which, allowed):
    assert parameter_rows(which)[0]["allowed"] == allowed


def test_section_listing_prints_only_that_section(capsys):
    assert main(["params", "boj"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("[boj]") and "[hedge_funds]" not in out
    assert "  neutral_rate_pa = 0.01    per annum; allowed [-0.05, 0.2]" in out
    assert "source: BoJ staff (2024)" in out


def test_csv_has_one_row_per_field(capsys):
    assert main(["params", "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == sum(len(dataclasses.fields(c)) for c in SECTIONS.values())
    assert rows[0].keys() == {"section", "field", "default", "unit", "allowed", "meaning", "source"}


@pytest.mark.parametrize("which, names", [("hedgefunds", "allowed sections: simulation, market"), ("boj.nope", "mode")])
def test_unknown_section_or_field_is_a_one_line_error_naming_what_is_allowed(capsys, which, names):
    assert main(["params", which]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("carry-unwind: error: unknown") and names in err
