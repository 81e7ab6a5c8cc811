"""The shipped examples work: every sweep specification in experiments/specs/ and every
``carry-unwind`` command of the README, each run at a reduced size.

A specification is shrunk by :func:`reduced` (3 days, one replicate, the smallest design its
method allows, 20 funds) and run serially; a README command gets options appended that shrink
it (``--days 5`` and 20 funds for ``run``, a reduced copy of the specification for ``sweep``,
one short seed for ``validate``), since argparse lets the last occurrence of an option win.
Commands that start a server or a Dask cluster, and the paper figures (run at their quick size
by ``test_figures.py``), are parsed, not run: their options must still exist.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
from pathlib import Path

import pytest

from experiments.cli import build_parser, main
from experiments.cli.common import EXIT_OK
from experiments.sweeps import SweepSpec, load_results, load_spec, run_sweep, spec_to_toml
from experiments.sweeps.spec import MIN_SENSITIVITY_SAMPLES

ROOT = Path(__file__).resolve().parents[2]
SPECS = sorted((ROOT / "experiments" / "specs").glob("*.toml"))
TINY_FUNDS = 20
TINY_DAYS = 3


def reduced(spec: SweepSpec) -> SweepSpec:
    """The same sweep at the smallest size its analysis takes: 3 days, one replicate, 20 funds."""
    # the fewest samples whose indices the sensitivity analysis takes (a power of two for saltelli)
    samples = None if spec.samples is None else MIN_SENSITIVITY_SAMPLES.get(spec.design, 2)
    parameters = spec.parameters
    if spec.design == "grid":  # at most two values of each parameter
        parameters = tuple(
            dataclasses.replace(p, values=p.values[:2]) if p.values is not None else dataclasses.replace(p, num=2)
            for p in parameters
        )
    fixed = dict(spec.fixed)
    if "hedge_funds.n_funds" not in spec.names:
        fixed["hedge_funds.n_funds"] = TINY_FUNDS
    return dataclasses.replace(
        spec, days=TINY_DAYS, replicates=1, samples=samples, parameters=parameters, fixed=fixed, timeseries=False
    )


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_shipped_spec_runs_at_a_reduced_size(tmp_path, path):
    spec = load_spec(path)  # at its full size: within the caps, every bound valid
    small = reduced(spec)
    report = run_sweep(small, tmp_path / "out", executor="serial", progress=False)
    assert report.complete and report.n_runs == small.n_runs < spec.n_runs
    # a run may fail to clear at an extreme corner of the design (the sweep records it and goes
    # on), but it must never fail for any other reason, and most runs must succeed
    results = load_results(tmp_path / "out")
    errors = results.loc[results["status"] != "ok", "error"]
    assert all(e.startswith("ClearingError") for e in errors), errors.tolist()
    assert report.n_ok >= 0.75 * report.n_runs


def test_reduced_keeps_the_design_and_the_parameters():
    for path in SPECS:
        spec, small = load_spec(path), reduced(load_spec(path))
        assert (small.design, small.names, small.metrics) == (spec.design, spec.names, spec.metrics)
        assert small.days == TINY_DAYS and small.replicates == 1


# -- the README's commands ------------------------------------------------------------------------


def readme_commands() -> list[str]:
    """Every ``carry-unwind ...`` line of the README's bash blocks, in order, without comments."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            if line.strip().startswith("carry-unwind"):
                lines.append(shlex.join(shlex.split(line, comments=True)))
    return lines


RUN_SMALL = ["--days", "5", "--set", f"hedge_funds.n_funds={TINY_FUNDS}", "--no-progress", "--quiet"]


def shrink(argv: list[str], where: Path) -> tuple[list[str], bool]:
    """(the command at a reduced size, whether to run it or only parse it)."""
    command = argv[0] if argv else ""
    if command == "run":
        fewer = ["--seeds", "1-2"] if "--seeds" in argv else []  # each seed's figure takes a second
        return [*argv, *RUN_SMALL, *fewer], True
    if command == "bench":
        size = ["--populations", "20,50"] if "--populations" in argv else ["--funds", "50"]
        argv = [a for i, a in enumerate(argv) if a != "--populations" and argv[i - 1] != "--populations"]
        return [*argv, *size, "--days", "3", "--plain-days", "1"], True
    if command == "sweep":
        spec = argv[1]
        if spec == "SPEC":  # a placeholder: any specification
            spec = "experiments/specs/leverage_grid.toml"
        small = where / f"small_{Path(spec).stem}.toml"
        small.write_text(spec_to_toml(reduced(load_spec(ROOT / spec))), encoding="utf-8")
        argv = [a if a != "DIR" else str(where / "DIR") for a in argv]
        argv = [argv[0], str(small), *argv[2:]]
        if "--executor" in argv or "--scheduler" in argv:
            return argv, False  # a Dask cluster: parse only
        return [*argv, "--executor", "serial", "--no-progress"], True
    if command == "validate":
        return [*argv, "--seeds", "2", "--days", "360", "--episode-days", "29", "--workers", "1", "--quiet"], True
    if command == "sensitivity":
        return argv, True
    if command == "compare":
        return [*argv, "--seeds", "1-2", "--days", "5", "--quiet"], True
    if command in ("figures", "app"):
        return argv, False  # figures: quick versions in test_figures.py; app: a server
    return argv, True  # scenarios, params, --version


def test_readme_lists_the_commands_this_test_knows():
    commands = {shlex.split(c)[1] for c in readme_commands()}
    known = {"run", "scenarios", "params", "compare", "bench", "sweep", "sensitivity", "validate", "figures", "app",
             "--version"}  # fmt: skip
    assert commands <= known, commands - known
    assert {"run", "sweep", "validate"} <= commands


def test_every_readme_command_runs_at_a_reduced_size(tmp_path, monkeypatch, capsys):
    """In the README's order, in a scratch directory: later commands use what earlier ones wrote."""
    from experiments.analysis.figures import FIGURES

    monkeypatch.chdir(tmp_path)
    (tmp_path / "experiments").symlink_to(ROOT / "experiments")
    # `sensitivity out/sobol_feedback` needs the Sobol' sweep the README runs elsewhere: a reduced one
    # (20 days, not 3: over 3 calm days the funds' gross book need not move at any design point, and
    # the drawdown metric's indices would then be undefined)
    sobol = dataclasses.replace(reduced(load_spec(ROOT / "experiments" / "specs" / "sobol_feedback.toml")), days=20)
    assert run_sweep(sobol, tmp_path / "out" / "sobol_feedback", executor="serial", progress=False).complete
    parser = build_parser()
    ran = []
    for line in readme_commands():
        argv, run = shrink(shlex.split(line)[1:], tmp_path)
        if not run:
            args = parser.parse_args(argv)  # exits (fails the test) if an option is gone
            if argv[0] == "figures" and args.only:
                assert set(args.only.split(",")) <= set(FIGURES), line
            continue
        status = main(argv)
        err = capsys.readouterr().err
        assert status == EXIT_OK, f"{line}\n  ran as: {shlex.join(argv)}\n{err}"
        assert "Traceback" not in err
        ran.append(argv[0])
    assert ran.count("run") >= 4 and "sweep" in ran and "validate" in ran and "sensitivity" in ran
