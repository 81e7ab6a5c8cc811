"""Input given through a pipe (``--config <(…)``, a spec from a named pipe) is read once.

A pipe can be read only once: a command that opened its input a second time waited for ever on it.
Each test feeds a named pipe from a thread that writes the text once, and runs the command in a
process of its own with a time limit; a second read would never return.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.support import CLI_TINY

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need a POSIX system")

SPEC = """
[sweep]
name = "piped"
design = "grid"
days = 3
replicates = 1
metrics = ["usdjpy_max_fall_pct"]

[fixed]
hedge_funds.n_funds = 20

[parameters]
hedge_funds.max_leverage = { values = [2.0, 10.0] }
"""


def piped(tmp_path: Path, text: str, name: str) -> Path:
    """A named pipe that a thread fills with ``text`` once, for the first reader to open it."""
    fifo = tmp_path / name
    os.mkfifo(fifo)

    def feed() -> None:
        with open(fifo, "w", encoding="utf-8") as f:
            f.write(text)

    threading.Thread(target=feed, daemon=True).start()
    return fifo


def carry_unwind(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "experiments.cli", *argv], cwd=ROOT, capture_output=True,
                          text=True, timeout=240)  # fmt: skip


def test_run_reads_a_piped_configuration_once(tmp_path):
    from model.config import ModelConfig
    from model.scenarios import load_scenario

    baseline = load_scenario("baseline").config
    # the baseline's configuration with a field the baseline does not set moved off its value: no conflict,
    # and the run must have used the piped file, not the defaults
    pass_through = baseline.macro.fx_pass_through + 0.03
    saved = tmp_path / "saved.toml"
    baseline.with_overrides({"macro.fx_pass_through": pass_through}).to_toml(saved)
    fifo = piped(tmp_path, saved.read_text(encoding="utf-8"), "config.toml")
    done = carry_unwind("run", "--config", str(fifo), *CLI_TINY, "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "complete").exists()
    used = ModelConfig.from_toml(tmp_path / "out" / "config.toml")
    assert used.macro.fx_pass_through == pytest.approx(pass_through, rel=1e-12)
    assert used.hedge_funds.n_funds == 20  # and --set on top of it


def test_sweep_reads_a_piped_specification_once_and_keeps_that_text(tmp_path):
    fifo = piped(tmp_path, SPEC, "spec.toml")
    out = tmp_path / "sweep"
    done = carry_unwind("sweep", str(fifo), "--out", str(out), "--executor", "serial", "--no-progress")
    assert done.returncode == 0, done.stderr
    assert (out / "spec.toml").read_text(encoding="utf-8") == SPEC  # the text that was run, kept as given


def test_a_resume_hint_names_the_kept_copy_of_a_piped_specification(tmp_path):
    """A pipe cannot be read again: the hint to resume names the copy of its text in --out instead."""
    import argparse

    from experiments.cli.sweep import _resumable_spec

    fifo = tmp_path / "piped.toml"
    os.mkfifo(fifo)
    regular = tmp_path / "spec.toml"
    regular.write_text(SPEC, encoding="utf-8")
    out = tmp_path / "out"
    assert _resumable_spec(argparse.Namespace(spec=str(fifo), out=str(out))) == str(out / "spec.toml")
    assert _resumable_spec(argparse.Namespace(spec=str(regular), out=str(out))) == str(regular)
    # /dev/stdin may point at a regular file (`< spec.toml`), but what it reads next time is another input
    assert _resumable_spec(argparse.Namespace(spec="/dev/stdin", out=str(out))) == str(out / "spec.toml")
