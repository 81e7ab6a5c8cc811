"""The golden set (``tests/golden.py``): every recorded number is reproduced bit for bit.

A change that alters numbers on purpose regenerates the set (``python -m tests.golden --write``) in a
commit of its own that says why; a refactor must pass this test unchanged.
"""

from __future__ import annotations

from tests import golden


def test_golden_set_is_reproduced_bit_for_bit():
    problems = golden.compare()
    assert not problems, f"{len(problems)} differences from the golden set, first: {problems[:10]}"


def test_golden_comparison_sees_a_changed_number(monkeypatch):
    real = golden.scenario_runs

    def perturbed():
        arrays = real()
        key = next(k for k in arrays if k.endswith("/usdjpy"))
        arrays[key] = arrays[key].copy()
        arrays[key][-1] = arrays[key][-1] + 1e-12  # far below any tolerance: bit-level change
        return arrays

    monkeypatch.setattr(golden, "scenario_runs", perturbed)
    problems = golden.compare()
    assert any("usdjpy" in p for p in problems)
