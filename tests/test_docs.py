"""The documentation: complete against the code, free of references to unpublished notes, and buildable.

The parameter tables and the command-line reference are generated at build time by
``docs/_hooks/reference.py``; the time-series columns are described by hand in
``docs/reference/timeseries.md``. These tests check the generator's output and the hand-written
page against the code, check that each checker catches a page with a gap, and build the site
with ``mkdocs build --strict`` as CI does.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from model.config import SECTIONS
from model.model import TIMESERIES_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SPEC_NAME = "MODEL" + ".md"  # the unpublished design notes (spelled so that a search for it skips this file)


@pytest.fixture(scope="module")
def ref():
    """The docs build hook, imported from its file (it is not part of an installed package)."""
    spec = importlib.util.spec_from_file_location("docs_reference_hook", DOCS / "_hooks" / "reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def parameter_page(ref):
    return ref.parameters_markdown()


# -- parameters -----------------------------------------------------------------------------------
def test_parameter_page_lists_every_configuration_field(ref, parameter_page):
    assert ref.missing_fields(parameter_page) == []
    n_fields = sum(len(dataclasses.fields(cls)) for cls in SECTIONS.values())
    assert len(ref.config_fields()) == n_fields


def test_parameter_rows_carry_default_unit_range_and_source(ref, parameter_page):
    rows = {line.split('"')[1]: line for line in parameter_page.splitlines() if line.startswith("| <span id=")}
    for section, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            row = rows[f"{section}.{f.name}"]
            assert f"`{f.name}`" in row
            assert f"`{ref._cell(ref._default(f.default))}`" in row
            for key in ("unit", "source", "doc"):
                if f.metadata.get(key):
                    assert ref._cell(f.metadata[key]) in row, (section, f.name, key)
            if f.metadata.get("lo") is not None:
                assert ref._number(f.metadata["lo"]) in row, (section, f.name)


def _fields_without_meaning(page: str) -> list[str]:
    """The fields whose row on a parameter page has an empty meaning cell (the generator writes "–")."""
    out = []
    for line in page.splitlines():
        if not line.startswith("| <span id="):
            continue
        # the cells between the row's outer pipes: field, default, unit, allowed, meaning, source
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        assert len(cells) == 6, line
        if cells[4] in ("", "–"):
            out.append(line.split('"')[1])
    return out


def test_every_parameter_states_its_meaning(ref, parameter_page):
    """The page promises each field's meaning: every ``param(...)`` declares a ``doc=``, and its row shows it."""
    undocumented = [
        f"{section}.{f.name}" for section, cls in SECTIONS.items() for f in dataclasses.fields(cls)
        if not str(f.metadata.get("doc", "")).strip()
    ]  # fmt: skip
    assert undocumented == []
    assert _fields_without_meaning(parameter_page) == []


def test_meaning_check_fails_when_a_doc_is_missing(parameter_page):
    section, cls = next(iter(SECTIONS.items()))
    name = f"{section}.{dataclasses.fields(cls)[0].name}"
    rows = parameter_page.splitlines()
    i = next(k for k, line in enumerate(rows) if f'id="{name}"' in line)
    cells = re.split(r"(?<!\\)\|", rows[i])
    cells[5] = " – "
    rows[i] = "|".join(cells)
    assert _fields_without_meaning("\n".join(rows)) == [name]


def test_parameter_check_fails_when_a_field_is_missing(ref, parameter_page):
    section, cls = next(iter(SECTIONS.items()))
    name = f"{section}.{dataclasses.fields(cls)[0].name}"
    broken = "\n".join(line for line in parameter_page.splitlines() if f'id="{name}"' not in line)
    assert len(broken.splitlines()) == len(parameter_page.splitlines()) - 1
    assert ref.missing_fields(broken) == [name]


def test_parameter_reference_page_is_generated(ref):
    page = (DOCS / "reference" / "parameters.md").read_text()
    assert [m.group(1) for m in ref.MARKER.finditer(page)] == ["parameters"]


# -- time-series columns ----------------------------------------------------------------------------
def test_columns_page_describes_every_time_series_column(ref):
    page = (DOCS / "reference" / "timeseries.md").read_text()
    assert ref.missing_columns(page) == []


def test_columns_check_fails_when_a_column_is_missing(ref):
    page = (DOCS / "reference" / "timeseries.md").read_text()
    gone = TIMESERIES_COLUMNS[-1]
    broken = "\n".join(line for line in page.splitlines() if f"`{gone}`" not in line)
    assert ref.missing_columns(broken) == [gone]


# -- command line -------------------------------------------------------------------------------------
def _help_with_subcommands(metavar: str | None) -> str:
    parser = argparse.ArgumentParser(prog="carry-unwind")
    sub = parser.add_subparsers(title="commands", metavar=metavar)
    sub.add_parser("run", help="run a scenario")
    sub.add_parser("sensitivity-with-a-long-name", help="a name long enough to push the help to the next line")
    sub.add_parser("scenarios", help="list the scenarios")
    return parser.format_help()


@pytest.mark.parametrize("metavar", ["COMMAND", None])
def test_subcommands_are_read_from_argparse_help(ref, metavar):
    names = ref.subcommands(_help_with_subcommands(metavar))
    assert names == ["run", "sensitivity-with-a-long-name", "scenarios"]


def test_cli_reference_has_every_command_with_its_help(ref):
    page = ref.cli_markdown()
    names = ref.subcommands(ref._helps([[]])[0])
    assert "run" in names and "sweep" in names
    for name in names:
        assert f"## `carry-unwind {name}`" in page
        assert f"usage: carry-unwind {name}" in page


# -- no references to the unpublished design notes -----------------------------------------------------
def _user_facing_files() -> list[Path]:
    files = [ROOT / "README.md"]
    for folder in (DOCS, ROOT / "notebooks"):
        files += [p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return files


def test_user_facing_files_do_not_cite_the_design_notes():
    hits = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in _user_facing_files()
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), start=1)
        if SPEC_NAME in line
    ]
    assert hits == []


def test_generated_pages_do_not_cite_the_design_notes(ref):
    for name, generate in ref.GENERATORS.items():
        assert SPEC_NAME not in generate(), name


def test_design_note_references_are_reworded(ref):
    text = f"targets of {SPEC_NAME} §7 and {SPEC_NAME} section 6, see {SPEC_NAME}"
    out = ref._own_words(text)
    assert SPEC_NAME not in out
    assert "calibration chapter" in out and "hypotheses chapter" in out


# -- the build -----------------------------------------------------------------------------------------
def test_docs_build_offline_with_warnings_as_errors(tmp_path):
    pytest.importorskip("mkdocs", reason="mkdocs is not installed: pip install -e '.[docs]'")
    pytest.importorskip("material", reason="mkdocs-material is not installed: pip install -e '.[docs]'")
    pytest.importorskip("mkdocstrings", reason="mkdocstrings is not installed: pip install -e '.[docs]'")
    site = tmp_path / "site"
    # any attempt to reach the network goes to a closed local port and fails
    dead = "http://127.0.0.1:9"
    env = dict(os.environ, HTTP_PROXY=dead, HTTPS_PROXY=dead, http_proxy=dead, https_proxy=dead, NO_PROXY="")
    env.update(NO_MKDOCS_2_WARNING="1", MPLBACKEND="Agg")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    pages = list(site.rglob("*.html"))
    assert (site / "reference" / "parameters" / "index.html").exists()
    assert (site / "reference" / "cli" / "index.html").exists()
    assert not [p for p in pages if SPEC_NAME in p.read_text()]


# -- scenario event kinds ------------------------------------------------------------------------------
def test_every_event_kind_is_described(ref):
    from model.scenarios import EVENT_KINDS

    assert set(ref.EVENT_MEANINGS) == set(EVENT_KINDS)


def test_an_undescribed_event_kind_is_a_build_warning(ref, monkeypatch, caplog):
    from model.scenarios import EVENT_KINDS

    kind = next(iter(EVENT_KINDS))
    monkeypatch.delitem(ref.EVENT_MEANINGS, kind)
    with caplog.at_level("WARNING"):
        page = ref.event_kinds_markdown()
    assert f"`{kind}`" in page
    # a warning on a logger under "mkdocs" is what `mkdocs build --strict` counts as an error
    assert [r for r in caplog.records if r.name.startswith("mkdocs.") and kind in r.getMessage()]
