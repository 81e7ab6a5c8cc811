"""The golden set: numbers the model and the experiments produce today, kept to detect any change.

A refactor must leave every number bit-identical; a commit that changes numbers on purpose
regenerates the files here in a commit of its own that says why::

    python -m tests.golden --write          # rewrite tests/golden/*
    python -m tests.golden                  # compare only (what tests/test_golden.py does)

What is recorded (numbers only; no provenance such as commits, timestamps, paths or versions):

* every built-in scenario × seeds 1 and 2 × 250 days: every time-series column;
* the plain-Mesa reference engine (one ``mesa.Agent`` per fund) at 200 funds, 60 days;
* each of those runs' summary figures;
* the numeric results of ``carry-unwind validate --quick``, ``carry-unwind hypotheses --quick``
  (H1, H2, H5 with two seeds) and a small sweep run serially.

Of validation's and the hypotheses' outputs only the numbers are kept: their verdicts and pass/fail
flags are judgements at the default parameters, and no test asserts a hypothesis's verdict there
(a change in the numbers under them still shows).

The golden numbers are a regression guard and nothing more: they say that a refactor changed
nothing, not that any number is right. They are not evidence for any figure, statistic or verdict
of the documentation or a paper (those rest on the runs and tests that derive them), and the
hypothesis numbers kept here, from two seeds of quick runs, carry no verdict, for or against.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

GOLDEN_DIR = Path(__file__).with_name("golden")
SEEDS = (1, 2)
DAYS = 250
MESA_FUNDS = 200
MESA_DAYS = 60

# keys whose values are provenance or wall-clock, not model output
PROVENANCE_KEYS = frozenset(
    {"version", "git_commit", "git_dirty", "commit", "dirty", "created", "timestamp", "elapsed_s", "elapsed",
     "command", "path", "scenario_file", "out", "figure", "figures", "python", "platform", "started", "finished",
     "host"}
)  # fmt: skip

SWEEP_SPEC = """
[sweep]
name = "golden"
scenario = "risk_off"
days = 120
design = "grid"
replicates = 2
base_seed = 3
metrics = ["usdjpy_max_fall_pct", "hf_gross_max_drawdown_pct", "hf_margin_calls_total", "risk_index_peak",
           "ust10y_change_bp"]

[fixed]
hedge_funds.n_funds = 100

[parameters]
hedge_funds.max_leverage = { values = [3.0, 12.0] }
"""


def _strip(x: Any) -> Any:
    """Drop provenance keys recursively; floats that are not finite become strings."""
    if isinstance(x, dict):
        return {str(k): _strip(v) for k, v in x.items() if str(k) not in PROVENANCE_KEYS}
    if isinstance(x, list | tuple):
        return [_strip(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return repr(x)
    return x


def _numbers(x: Any) -> Any:
    """Only the numbers of ``x`` (after :func:`_strip`): strings, booleans and None (verdicts, pass
    flags and "untestable", labels) are dropped, in dicts and lists alike; a non-finite float's
    ``repr`` is kept."""

    def number(v: Any) -> bool:
        return not (v is None or isinstance(v, bool | str)) or v in ("nan", "inf", "-inf")

    if isinstance(x, dict):
        kept = {k: _numbers(v) for k, v in x.items() if number(v)}
        return {k: v for k, v in kept.items() if v != {} and v != []}
    if isinstance(x, list):
        return [_numbers(v) for v in x if number(v)]
    return x


def scenario_runs() -> dict[str, np.ndarray]:
    """``{"<scenario>/<seed>/<column>": values}`` for every built-in scenario and seed."""
    from model.model import CarryUnwindModel
    from model.scenarios import list_scenarios

    out: dict[str, np.ndarray] = {}
    for name in sorted(list_scenarios()):
        for seed in SEEDS:
            m = CarryUnwindModel(scenario=name, seed=seed)
            m.run_for(DAYS)
            for col, values in m.history.items():
                out[f"{name}/{seed}/{col}"] = np.asarray(values, dtype=float)
    m = CarryUnwindModel(seed=1, engine="mesa", hedge_funds__n_funds=MESA_FUNDS)
    m.run_for(MESA_DAYS)
    for col, values in m.history.items():
        out[f"mesa_engine/1/{col}"] = np.asarray(values, dtype=float)
    return out


def summaries() -> dict[str, Any]:
    from model.results import run_simulation
    from model.scenarios import list_scenarios

    return {
        f"{name}/{seed}": _strip(run_simulation(scenario=name, seed=seed, days=DAYS).summary)
        for name in sorted(list_scenarios())
        for seed in SEEDS
    }


def experiment_results() -> dict[str, Any]:
    """Numbers from ``validate --quick``, ``hypotheses --quick`` and a small serial sweep."""
    from experiments.cli import main

    res: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rc = main(["validate", "--quick", "--out", str(tmp / "validate"), "--no-progress", "--quiet"])
        assert rc == 0, f"validate exited {rc}"
        res["validate"] = _numbers(_strip(json.loads((tmp / "validate" / "validation.json").read_text())))
        rc = main(["hypotheses", "--quick", "--seeds", "2", "--only", "H1,H2,H5", "--out", str(tmp / "hyp")])
        assert rc == 0, f"hypotheses exited {rc}"
        res["hypotheses"] = _numbers(_strip(json.loads((tmp / "hyp" / "verdicts.json").read_text())))
        spec = tmp / "spec.toml"
        spec.write_text(SWEEP_SPEC)
        rc = main(["sweep", str(spec), "--out", str(tmp / "sweep"), "--executor", "serial", "--no-progress"])
        assert rc == 0, f"sweep exited {rc}"
        from experiments.sweeps import load_results

        df = load_results(tmp / "sweep")
        keep = [c for c in df.columns if c not in PROVENANCE_KEYS]
        res["sweep"] = _strip(json.loads(df[keep].to_json(orient="records", double_precision=15)))
    return res


def compute() -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    return scenario_runs(), {"summaries": summaries(), **experiment_results()}


def write() -> None:
    arrays, numbers = compute()
    GOLDEN_DIR.mkdir(exist_ok=True)
    np.savez_compressed(GOLDEN_DIR / "timeseries.npz", **arrays)
    (GOLDEN_DIR / "numbers.json").write_text(json.dumps(numbers, indent=1, sort_keys=True) + "\n")


def compare(computed: tuple[dict[str, np.ndarray], dict[str, Any]] | None = None) -> list[str]:
    """Differences between the stored golden set and ``computed`` (default: what the code computes now)."""
    arrays, numbers = computed if computed is not None else compute()
    stored = np.load(GOLDEN_DIR / "timeseries.npz")
    problems = []
    # every recorded series must be reproduced; columns added since are not compared
    for key in sorted(stored.files):
        if key not in arrays:
            problems.append(f"{key}: no longer computed")
            continue
        a, b = stored[key], arrays[key]
        if a.shape != b.shape or not np.array_equal(a, b, equal_nan=True):
            diff = np.nanmax(np.abs(a - b)) if a.shape == b.shape else "shape"
            problems.append(f"{key}: differs (max |diff| {diff})")
    want = json.loads((GOLDEN_DIR / "numbers.json").read_text())
    got = json.loads(json.dumps(numbers, sort_keys=True))
    problems += _diff_json(want, got, "")
    return problems


def _diff_json(a: Any, b: Any, path: str) -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(a):  # every recorded number must be reproduced; keys added since are not compared
            if k not in b:
                out.append(f"{path}/{k}: no longer computed")
            else:
                out += _diff_json(a[k], b[k], f"{path}/{k}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: length {len(a)} != {len(b)}"]
        return [p for i, (x, y) in enumerate(zip(a, b, strict=True)) for p in _diff_json(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def _main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.golden", description=__doc__.splitlines()[0])
    p.add_argument("--write", action="store_true", help="rewrite the golden files from the current code")
    args = p.parse_args(argv)
    if args.write:
        write()
        print(f"wrote {GOLDEN_DIR}")
        return 0
    problems = compare()
    for line in problems[:50]:
        print(line)
    print("identical" if not problems else f"{len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(_main())
