"""Every model-side checker, fed a broken state or input, fires with its one-line message: the
accounting's risk-index identity, the configuration's type, table and cross-field rules, the scenario
parser's branches, unreadable files and over-deep JSON, the saved-run reader and writer, the sector
registry, unknown event kinds and an empty list of scenarios.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from model.accounting import AccountingError, check_identities
from model.config import ModelConfig
from model.registry import DEFAULT_SECTORS, check_sectors, unregister_sector
from model.results import DamagedRunError, load, run_simulation, save, simulate_many
from model.scenarios import ScenarioEvent, parse_scenario
from model.sector import Sector
from model.validation import ConfigError, parse_json, read_text_file
from tests.support import make_model

# -- accounting: the risk index -------------------------------------------------------------------


def test_a_risk_index_that_is_not_the_one_priced_fails_the_identities():
    model = make_model(1)
    for _ in range(3):
        model.step()
    check_identities(model)
    priced = model.market.risk_index
    model.market.risk_index = priced * 1.01
    with pytest.raises(AccountingError, match=r"day 3: the risk index .* is not the one priced at the recorded prices"):
        check_identities(model)
    model.market.risk_index = priced
    check_identities(model)
    recorded = model.latest["risk_index"]
    model.latest["risk_index"] = recorded * 1.01
    with pytest.raises(AccountingError, match=r"day 3: the risk index .* is not the one priced at the recorded prices"):
        check_identities(model)
    model.latest["risk_index"] = recorded
    check_identities(model)


# -- configuration ----------------------------------------------------------------------------------


def test_a_string_field_given_a_number_is_refused():
    with pytest.raises(ConfigError, match=r"^market\.start_date = 20230102 is not allowed; expected a string$"):
        ModelConfig().with_overrides({"market.start_date": 20230102})


def test_a_configuration_that_is_not_a_table_of_sections_is_refused():
    with pytest.raises(ConfigError, match=r"^configuration must be a table of sections, got list$"):
        ModelConfig.from_dict([])
    with pytest.raises(ConfigError, match=r"^section 'hedge_funds' must be a table, got 3$"):
        ModelConfig.from_dict({"hedge_funds": 3})


def test_a_long_run_mean_of_the_risk_index_above_its_ceiling_is_refused():
    with pytest.raises(
        ConfigError, match=r"market\.risk_index_mean = 25\.0 are not allowed with market\.risk_index_max = 20\.0"
    ):
        ModelConfig().with_overrides({"market.risk_index_mean": 25.0, "market.risk_index_max": 20.0})


def test_a_start_date_after_2100_is_refused():
    with pytest.raises(ConfigError, match=r"start_date = '2101-01-03' is not allowed; expected a date from 1971-01-01"):
        ModelConfig().with_overrides({"market.start_date": "2101-01-03"})


# -- scenario files ---------------------------------------------------------------------------------

EVENT = 'kind = "us_growth_news"\nsurprise_sd = -1.0\n'


@pytest.mark.parametrize(
    "text, message",
    [
        (
            'name = "x"\nevents = [1]\n',
            r"^mine\.toml: events\[0\] must be a table with 'day' \(or 'date'\) and 'kind'$",
        ),
        (
            f'name = "x"\n[[events]]\nday = 5\ndate = 2023-03-01\n{EVENT}',
            r"^mine\.toml, line 4: events\[0\]: give either 'day' or 'date', not both$",
        ),
        (
            f'name = "x"\n[[events]]\ndate = 2023-02-30\n{EVENT}',
            r"^mine\.toml: malformed TOML: Invalid date or datetime \(at line 3",
        ),
        (
            f'name = "x"\n[[events]]\ndate = "2023-02-30"\n{EVENT}',
            r"^mine\.toml, line 3: events\[0\]\.date = '2023-02-30' is not allowed; expected an ISO date YYYY-MM-DD$",
        ),
        (
            f'name = "x"\n[[events]]\ndate = 2022-12-01\n{EVENT}',
            r"^mine\.toml, line 3: events\[0\]\.date = 2022-12-01 is not after the scenario's start \(2023-01-03\)",
        ),
        ('name = "x"\noverrides = 3\n', r"^mine\.toml, line 2: 'overrides' must be a table of sections$"),
        ('name = "x"\nevents = 3\n', r"^mine\.toml, line 2: 'events' must be an array of tables \(\[\[events\]\]\)$"),
        (
            'name = "x"\n[overrides.market]\nrisk_index = 80.0\nrisk_index_max = 70.0\n',
            r"^mine\.toml, line 3: market\.risk_index = 80\.0 and market\.risk_index_mean = .* not allowed",
        ),
        (
            'name = "x"\n[overrides.simulation]\nmax_yield_pa = 0.05\n[overrides.market]\n\nust10y_yield = 0.09\n',
            r"^mine\.toml, line 6: market\.ust10y_yield = 0\.09 is not allowed with simulation\.min_yield_pa",
        ),
    ],
    ids=[
        "event-not-a-table",
        "day-and-date",
        "impossible-toml-date",
        "impossible-string-date",
        "date-before-start",
        "overrides-not-a-table",
        "events-not-an-array",
        "rule-within-a-section",
        "rule-across-sections",
    ],
)
def test_a_malformed_scenario_is_one_line_naming_the_field(text, message):
    with pytest.raises(ConfigError, match=message) as err:
        parse_scenario(text, "mine.toml")
    assert "\n" not in str(err.value)


# -- reading files ----------------------------------------------------------------------------------


def test_a_file_without_read_permission_cannot_be_read(tmp_path, monkeypatch):
    path = tmp_path / "s.toml"
    path.write_text('name = "x"\n')

    def refuse(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(ConfigError, match=r"^scenario '.*s\.toml' cannot be read: Permission denied$"):
        read_text_file(path, "scenario")


def test_json_nested_too_deeply_is_refused():
    with pytest.raises(ValueError, match=r"^it is not valid JSON \(nested too deeply\)$"):
        parse_json(b"[" * 100_000, ValueError)


# -- saved runs -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A small run and where it was saved."""
    result = run_simulation(scenario="baseline", seed=1, days=5, hedge_funds__n_funds=20)
    return result, save(result, tmp_path_factory.mktemp("saved") / "run")


def _copy(saved, tmp_path: Path) -> Path:
    run = tmp_path / "damaged"
    shutil.copytree(saved[1], run)
    return run


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("scenario", 5, r"summary\.json: scenario = 5 is not allowed; a string or null is; expected the summary\.json"),
        ("summary", [1], r"summary\.json: summary = \[1\] is not allowed; an object of headline figures is"),
    ],
    ids=["scenario-a-number", "summary-a-list"],
)
def test_a_summary_json_field_of_the_wrong_type_is_a_damaged_run(saved, tmp_path, field, value, message):
    import json

    run = _copy(saved, tmp_path)
    record = json.loads((run / "summary.json").read_text())
    record[field] = value
    (run / "summary.json").write_text(json.dumps(record))
    with pytest.raises(DamagedRunError, match=message):
        load(run)


def test_a_time_series_without_the_usdjpy_column_is_a_damaged_run(saved, tmp_path):
    run = _copy(saved, tmp_path)
    df = pd.read_parquet(run / "timeseries.parquet")
    df.drop(columns=["usdjpy"]).to_parquet(run / "timeseries.parquet", index=False)
    with pytest.raises(DamagedRunError, match=r"timeseries\.parquet: it has no column 'usdjpy'; expected the"):
        load(run)


@pytest.mark.parametrize(
    "column, value, shown",
    [("usdjpy", float("nan"), "nan"), ("usdjpy", 1e300, "1e+300"), ("ust10y_yield", 0.9, "0.9")],
    ids=["usdjpy-nan", "usdjpy-absurd", "yield-90pct"],
)
def test_a_time_series_with_a_price_the_engine_could_not_record_is_a_damaged_run(saved, tmp_path, column, value,
                                                                                   shown):  # fmt: skip
    """A NaN or 1e300 put into a saved run's USD/JPY was loaded, and compare reported a surge of 0.00%."""
    run = _copy(saved, tmp_path)
    df = pd.read_parquet(run / "timeseries.parquet")
    df.loc[2, column] = value
    df.to_parquet(run / "timeseries.parquet", index=False)
    with pytest.raises(
        DamagedRunError, match=re.escape(f"timeseries.parquet: {column} = {shown} on row 2 is not allowed")
    ):
        load(run)


@pytest.mark.parametrize(
    "column, value",
    [("risk_index", float("nan")), ("hf_margin_calls", float("inf")), ("hf_gross_usd_bn", float("-inf")),
     ("clearing_residual", float("nan")), ("day", float("nan"))],
)  # fmt: skip
def test_a_time_series_with_a_number_a_run_never_records_is_a_damaged_run(saved, tmp_path, column, value):
    """Before: only the prices were checked; a NaN risk index or an infinite count was loaded and compared."""
    run = _copy(saved, tmp_path)
    df = pd.read_parquet(run / "timeseries.parquet")
    df[column] = df[column].astype(float)
    df.loc[2, column] = value
    df.to_parquet(run / "timeseries.parquet", index=False)
    when = "on row 2" if column == "day" else "on day 2"
    with pytest.raises(
        DamagedRunError,
        match=re.escape(f"timeseries.parquet: {column} = {value!r} {when} is not allowed; a run records only finite"),
    ):
        load(run)


def test_a_time_series_without_rows_is_a_damaged_run(saved, tmp_path):
    run = _copy(saved, tmp_path)
    df = pd.read_parquet(run / "timeseries.parquet")
    df.iloc[:0].to_parquet(run / "timeseries.parquet", index=False)
    with pytest.raises(DamagedRunError, match=r"timeseries\.parquet: it has no rows; expected the"):
        load(run)


@pytest.mark.parametrize("missing", ["config.toml", "summary.json", "timeseries.parquet"])
def test_a_complete_run_missing_one_of_its_files_is_not_a_saved_run(saved, tmp_path, missing):
    """A run directory with its ``complete`` marker but without one of the three files ``save`` writes
    (its configuration, its summary or its time series) is refused as not a saved run, naming the missing
    file, rather than loaded in part or reported as an incomplete run."""
    run = _copy(saved, tmp_path)
    assert (run / "complete").is_file()  # the marker is there: the check of the files is what refuses it
    (run / missing).unlink()
    with pytest.raises(
        FileNotFoundError, match=f"^{re.escape(str(run / missing))} not found: not a saved carry-unwind run$"
    ):
        load(run)


def test_loading_a_missing_directory_says_no_run_is_there(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere not found: no saved carry-unwind run there$"):
        load(tmp_path / "nowhere")


def test_saving_over_a_run_without_overwrite_is_refused(saved):
    result, run = saved
    with pytest.raises(FileExistsError, match=r"run already holds a run; not replaced$"):
        save(result, run, overwrite=False)


def test_saving_onto_a_plain_file_is_refused(saved, tmp_path):
    plain = tmp_path / "notes.txt"
    plain.write_text("keep")
    with pytest.raises(FileExistsError, match=r"notes\.txt exists and is not a directory; choose another output"):
        save(saved[0], plain)
    assert plain.read_text() == "keep"


def test_saving_into_a_directory_of_other_files_is_refused(saved, tmp_path):
    other = tmp_path / "thesis"
    other.mkdir()
    (other / "thesis.tex").write_text("months of work")
    with pytest.raises(FileExistsError, match=r"thesis holds files that are not a carry-unwind run; not replaced"):
        save(saved[0], other)
    assert (other / "thesis.tex").read_text() == "months of work"


# -- the sector registry ----------------------------------------------------------------------------


def test_sectors_without_the_dealers_are_refused_naming_who_needs_them():
    without = tuple(cls for cls in DEFAULT_SECTORS if cls.name != "dealers")
    with pytest.raises(ValueError, match=r"requires the sectors \['dealers'\]; add them or remove"):
        check_sectors(without)


@pytest.mark.parametrize("reader", ["hedge_funds", "life_insurers", "long_horizon"])
def test_a_sector_reading_real_moneys_fundamental_is_refused_without_it(reader):
    """The funds, the insurers and the long-horizon investors read the fundamental real money publishes:
    without real money the model is refused when it is built, in one line, not on day 1 with a KeyError."""
    from model.model import CarryUnwindModel
    from model.validation import ConfigError

    kept = tuple(cls for cls in DEFAULT_SECTORS if cls.name != "real_money")
    with pytest.raises(ValueError, match=rf"sector '{reader}' requires the sectors \['real_money'\]"):
        check_sectors(tuple(cls for cls in kept if cls.name == reader or not cls.requires or "real_money" not in
                            cls.requires))  # fmt: skip
    with pytest.raises(ConfigError, match=r"requires the sectors \['real_money'\]; add them or remove") as caught:
        CarryUnwindModel(seed=1, sectors=kept)
    assert "\n" not in str(caught.value)


def test_a_sector_without_a_name_is_refused():
    class Nameless(Sector):
        pass

    with pytest.raises(ValueError, match=r"^sector .*Nameless has no name; set the class attribute `name`$"):
        check_sectors((*DEFAULT_SECTORS, Nameless))


def test_a_sector_whose_flows_are_not_compiled_is_refused():
    def plain_flows(p, inp, z, jac, gross, out, aux):
        pass

    class Uncompiled(Sector):
        name = "uncompiled"
        flows = plain_flows

    with pytest.raises(ValueError, match=r"^sector 'uncompiled': flows must be a numba @njit\(cache=True\) function$"):
        check_sectors((*DEFAULT_SECTORS, Uncompiled))


def test_unregistering_an_unknown_sector_is_refused():
    with pytest.raises(ValueError, match=r"^sector 'nope' is not registered; registered: "):
        unregister_sector("nope")


# -- events and many runs ---------------------------------------------------------------------------


def test_an_event_of_an_unknown_kind_is_refused():
    model = make_model(1)
    with pytest.raises(ConfigError, match=r"^event\.kind = 'no_such' is not allowed; expected one of risk_shock, "):
        model.apply_event(ScenarioEvent(day=4, kind="no_such", params={}))


def test_simulate_many_refuses_an_empty_list_of_scenarios():
    with pytest.raises(ConfigError, match=r"^scenarios = \[\] is not allowed; expected at least one scenario"):
        simulate_many([], 1, days=3)
