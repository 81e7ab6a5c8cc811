"""What ``carry-unwind hypotheses`` leaves in its output folder: the outputs of the run just made and
nothing of an earlier run's hypotheses that it did not run.

The hypotheses are planted (each returns a fixed result at once) and the figures are small files
that name the run that wrote them, so that the folder's contents can be compared run by run without
running the model or drawing anything."""

from __future__ import annotations

import json
import re

import pytest

from experiments.analysis import hypotheses as hyp
from experiments.analysis import hypotheses_report
from experiments.cli import main

ALL = list(hyp.HYPOTHESES)


@pytest.fixture
def planted(monkeypatch):
    """Plant every hypothesis and the figure writer; ``state["run"]`` names the run the figures come from,
    ``state["fail"]`` a hypothesis that raises, ``state["no_figure"]`` one drawn without a figure."""
    state = {"run": "first", "fail": None, "no_figure": None}

    def hypothesis(key):
        def run(seeds, runs, quick):
            if key == state["fail"]:
                raise RuntimeError(f"{key} broke")
            return hyp.HypothesisResult(key=key, title=f"title {key}", claim="c", verdict="supported",
                                        effect_name="e", effect=1.0, ci_low=0.5, ci_high=1.5,
                                        per_seed=[1.0] * len(seeds))  # fmt: skip

        return run

    def figure(r, out):
        if r.key == state["no_figure"]:
            return ""
        name = f"{r.key.lower()}.png"
        (out / name).write_text(f"{state['run']} run's {r.key}")
        return name

    for key in ALL:
        monkeypatch.setitem(hypotheses_report.HYPOTHESES, key, hypothesis(key))
    monkeypatch.setattr(hypotheses_report, "_figure", figure)
    return state


def hypotheses(out, *extra):
    return main(["hypotheses", "--seeds", "3", "--no-progress", "--out", str(out), *extra])


def figures(out) -> set[str]:
    return {p.name for p in out.glob("h*.png")}


def contents(out) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(out.iterdir())}


def test_a_partial_run_into_the_folder_of_a_full_run_leaves_only_its_own_outputs(tmp_path, planted):
    out = tmp_path / "hyp"
    assert hypotheses(out) == 0
    assert figures(out) == {f"h{i}.png" for i in range(1, 8)}
    (out / "notes.txt").write_text("mine")  # not the command's: kept
    planted["run"] = "second"
    assert hypotheses(out, "--only", "H3,H1") == 0
    assert figures(out) == {"h1.png", "h3.png"}
    assert (out / "h1.png").read_text() == "second run's H1" and (out / "notes.txt").read_text() == "mine"
    assert [h["key"] for h in json.loads((out / "verdicts.json").read_text())["hypotheses"]] == ["H3", "H1"]
    report = (out / "report.md").read_text()
    assert "| H1 |" in report and "| H3 |" in report and "| H2 |" not in report and "## H2" not in report
    assert "This run: H3, H1 only, of H1, H2, H3, H4, H5, H6, H7." in report
    # every figure the report shows is in the folder, and every figure in the folder is in the report
    assert set(re.findall(r"!\[H\d\]\((h\d\.png)\)", report)) == figures(out)
    planted["run"] = "third"
    assert hypotheses(out) == 0  # a full run again: every figure back, and no partial-run note
    assert figures(out) == {f"h{i}.png" for i in range(1, 8)}
    assert "This run:" not in (out / "report.md").read_text()


def test_a_hypothesis_drawn_without_a_figure_keeps_no_earlier_figure_of_its_own(tmp_path, planted):
    out = tmp_path / "hyp"
    assert hypotheses(out, "--only", "H1,H2") == 0
    planted["no_figure"] = "H2"
    assert hypotheses(out, "--only", "H1,H2") == 0
    assert figures(out) == {"h1.png"}
    assert "(h2.png)" not in (out / "report.md").read_text()


def test_a_partial_run_that_fails_leaves_the_earlier_outputs_as_they_were(tmp_path, planted):
    out = tmp_path / "hyp"
    assert hypotheses(out) == 0
    before = contents(out)
    planted["run"], planted["fail"] = "second", "H2"
    with pytest.raises(RuntimeError, match="H2 broke"):
        hypotheses(out, "--only", "H1,H2")  # H1 ran and H2 failed: nothing of this run is written
    assert contents(out) == before


def test_a_run_over_draws_and_a_plain_run_keep_their_own_files(tmp_path, planted):
    """The two modes write different files (draws.* and report.md, verdicts.json, h*.png): a plain partial
    run removes only the plain runs' figures."""
    out = tmp_path / "hyp"
    (out).mkdir()
    for name in ("draws.md", "draws.json", "draws.png"):
        (out / name).write_text(name)
    assert hypotheses(out, "--only", "H4") == 0
    assert {p.name for p in out.iterdir()} == {"draws.md", "draws.json", "draws.png", "report.md", "verdicts.json",
                                               "h4.png"}  # fmt: skip


def test_a_figure_that_cannot_be_drawn_leaves_the_earlier_outputs_as_they_were(tmp_path, planted, monkeypatch):
    """Figures are drawn into a staging folder before anything is replaced: H1's new figure is drawn,
    H2's fails, and the folder is the earlier run's, without the staging folder."""
    out = tmp_path / "hyp"
    assert hypotheses(out) == 0
    before = contents(out)
    planted["run"] = "second"
    drawn = hypotheses_report._figure

    def broken(r, where):
        if r.key == "H2":
            raise OSError(28, "No space left on device")
        return drawn(r, where)

    monkeypatch.setattr(hypotheses_report, "_figure", broken)
    assert hypotheses(out, "--only", "H1,H2") == 1  # one line: cannot write
    assert contents(out) == before
    assert not (out / hypotheses_report.STAGING_DIR).exists()
