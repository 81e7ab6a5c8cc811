"""``carry-unwind params``: every configuration field with its unit, range, default and source."""

from __future__ import annotations

import csv
import dataclasses
import io

import pytest

from experiments.cli import main
from experiments.cli.params import parameter_rows
from model.config import SECTIONS
from model.validation import Validated, param


def test_every_field_of_every_section_is_listed_once():
    rows = parameter_rows()
    expected = [(s, f.name) for s, cls in SECTIONS.items() for f in dataclasses.fields(cls)]
    assert [(r["section"], r["field"]) for r in rows] == expected


@dataclasses.dataclass(frozen=True)
class _Known(Validated):
    """A section with one field of each kind, so that the listing is checked against known answers."""

    count: int = param(500, unit="trading days", lo=1, hi=1_000_000, doc="a closed range", source="a source")
    share: float = param(0.75, lo=0.05, hi=1.0, hi_open=True, doc="open at the top; and more")
    speed: float = param(0.05, unit="per day", lo=0.0, hi=1.0, lo_open=True, doc="open at the bottom")
    stock: float = param(250.0, unit="USD bn", lo=0.0, doc="no upper bound")
    switch: bool = param(True, doc="a flag")
    mode: str = param("rule", choices=("rule", "scripted"), doc="a choice")
    start: str = param("2023-01-02", doc="a date")


@pytest.fixture
def known(monkeypatch):
    import model.config

    monkeypatch.setattr(model.config, "SECTIONS", {"known": _Known})


@pytest.mark.parametrize(
    "field, default, unit, allowed",
    [
        ("count", "500", "trading days", "[1, 1000000]"),  # written out, not 1e+06
        ("share", "0.75", "", "[0.05, 1)"),  # open at the top
        ("speed", "0.05", "per day", "(0, 1]"),  # open at the bottom
        ("stock", "250.0", "USD bn", "[0, inf)"),  # no upper bound
        ("switch", "true", "", "true or false"),
        ("mode", '"rule"', "", "one of 'rule', 'scripted'"),
        ("start", '"2023-01-02"', "", "text"),
    ],
)
def test_each_kind_of_field_shows_its_default_unit_and_range(known, field, default, unit, allowed):
    (row,) = parameter_rows(f"known.{field}")
    assert (row["default"], row["unit"], row["allowed"]) == (default, unit, allowed)


def test_meaning_and_source_are_the_declared_ones(known):
    rows = {r["field"]: r for r in parameter_rows("known")}
    assert rows["count"]["meaning"] == "a closed range" and rows["count"]["source"] == "a source"
    assert rows["share"]["meaning"] == "open at the top; and more" and rows["share"]["source"] == ""


def test_text_listing_of_a_section(known, capsys):
    assert main(["params", "known"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("[known]  (_Known in tests.experiments.test_params)")
    assert "  count = 500    trading days; allowed [1, 1000000]\n      a closed range\n      source: a source\n" in out
    assert "  share = 0.75    allowed [0.05, 1)\n" in out


def test_a_real_field_shows_its_declared_metadata():
    (row,) = parameter_rows("hedge_funds.max_leverage")
    f = {f.name: f for f in dataclasses.fields(SECTIONS["hedge_funds"])}["max_leverage"]
    assert row["default"] == repr(f.default) and row["unit"] == f.metadata["unit"]
    assert row["allowed"] == f"[{f.metadata['lo']:g}, {f.metadata['hi']:g}]"
    assert row["meaning"] == " ".join(f.metadata["doc"].split())
    assert row["source"] == " ".join(f.metadata["source"].split())


def test_section_listing_prints_only_that_section(capsys):
    assert main(["params", "boj"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("[boj]") and "[hedge_funds]" not in out
    assert all(f"  {f.name} = " in out for f in dataclasses.fields(SECTIONS["boj"]))


def test_csv_has_one_row_per_field(capsys):
    assert main(["params", "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == sum(len(dataclasses.fields(c)) for c in SECTIONS.values())
    assert rows[0].keys() == {"section", "field", "default", "unit", "allowed", "meaning", "source", "range_note"}
    # a field's range note is there beside its source (before, a CSV reader saw an empty source for 75 fields
    # whose range note carried the only evidence)
    decay = next(r for r in rows if (r["section"], r["field"]) == ("dealers", "inventory_decay"))
    assert decay["range_note"].startswith("half-lives from about 1 to 69 trading days")


@pytest.mark.parametrize("which, names", [("hedgefunds", "allowed sections: simulation, market"), ("boj.nope", "mode")])
def test_unknown_section_or_field_is_a_one_line_error_naming_what_is_allowed(capsys, which, names):
    assert main(["params", which]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("carry-unwind: error: unknown") and names in err
