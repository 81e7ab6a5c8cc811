"""The paper figures: every quick figure is written as PDF, PNG and sidecar with its provenance, at a
journal width, and the same command gives the same numbers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from experiments.analysis import figures
from experiments.analysis.style import ONE_COLUMN_IN, TWO_COLUMN_IN
from experiments.cli import main
from experiments.runner import code_fingerprint

PNG_DPI = 300


@pytest.fixture(scope="module")
def quick_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("figures")
    assert main(["figures", "--out", str(out), "--quick"]) == 0
    return out


def _pdf_string(raw: bytes, key: str) -> str:
    """The literal string of ``/key (...)`` in a PDF's document information, unescaped."""
    start = raw.index(f"/{key} (".encode()) + len(key) + 3
    out, i = bytearray(), start
    while raw[i : i + 1] != b")":
        if raw[i : i + 1] == b"\\":
            i += 1
        out += raw[i : i + 1]
        i += 1
    return out.decode("latin-1")


def test_help_describes_every_figure(capsys):
    assert main(["figures", "--help"]) == 0
    text = capsys.readouterr().out
    for name in figures.FIGURES:
        assert name in text


def test_unknown_figure_is_a_one_line_usage_error(tmp_path, capsys):
    assert main(["figures", "--out", str(tmp_path), "--only", "no_such_figure"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("carry-unwind: error: --only: unknown figure 'no_such_figure'")
    assert "\n" not in err
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("name", list(figures.FIGURES))
def test_each_figure_has_pdf_png_and_sidecar_with_provenance(quick_dir, name):
    from model import __version__
    from model.results import git_commit

    sidecar = json.loads((quick_dir / f"{name}.json").read_text())
    assert sidecar["figure"] == name and sidecar["quick"] is True
    assert sidecar["version"] == __version__
    assert sidecar["git_commit"] == git_commit()
    assert sidecar["code_fingerprint"] == code_fingerprint()
    assert sidecar["seeds"] and all(isinstance(s, int) for s in sidecar["seeds"])
    assert sidecar["configuration"] and sidecar["data"]
    assert sidecar["files"] == [f"{name}.pdf", f"{name}.png"]
    provenance = {k: v for k, v in sidecar.items() if k not in ("files", "data")}

    png = Image.open(quick_dir / f"{name}.png")
    assert png.text["Software"] == f"carry-unwind {__version__}"
    assert json.loads(png.text["Description"]) == provenance
    # printed at a one- or two-column width
    assert png.size[0] in (round(ONE_COLUMN_IN * PNG_DPI), round(TWO_COLUMN_IN * PNG_DPI))

    raw = (quick_dir / f"{name}.pdf").read_bytes()
    assert raw.startswith(b"%PDF")
    assert _pdf_string(raw, "Creator") == f"carry-unwind {__version__}"
    assert json.loads(_pdf_string(raw, "Subject")) == provenance
    assert b"/CreationDate" not in raw  # nothing in the file depends on when it was made
    assert b"/FontFile2" in raw  # TrueType fonts embedded (no Type 3)


def test_replay_draws_only_the_documented_observations(quick_dir):
    data = json.loads((quick_dir / "aug2024_replay.json").read_text())["data"]
    anchors = data["observed"]["anchors"]
    # both closes, as the model's USD/JPY is: the highest close before the fall and the 5 Aug close
    assert [(a["date"], a["usdjpy"]) for a in anchors] == [("2024-07-10", 161.7), ("2024-08-05", 144.0)]
    n = len(data["dates"])
    band = data["usdjpy"]
    assert len(band["median"]) == n
    assert all(lo <= m <= hi for lo, m, hi in zip(band["q05"], band["median"], band["q95"], strict=True))
    # the variant conditional on the Fed's repricing: its medians over the same days, named as conditional
    assert "conditional" in data["conditional"]["scenario"]
    assert len(data["conditional"]["usdjpy_median"]) == len(data["conditional"]["carry_index_median"]) == n
    assert data["conditional"]["usdjpy_median"][0] == band["median"][0]  # the same day 0


def test_band_is_the_median_and_the_5th_and_95th_percentiles_over_runs():
    from experiments.analysis.figures.settings import band

    # 21 runs, two days: run k is at k on day 0 and at -2k on day 1, so the sorted values are evenly spaced
    # and the 5th, 50th and 95th percentiles fall on the 2nd, 11th and 20th of them
    runs = np.arange(21.0)
    b = band(np.column_stack([runs, -2.0 * runs[::-1]]))
    assert b == {"q05": [1.0, -38.0], "median": [10.0, -20.0], "q95": [19.0, -2.0]}


def test_phase_diagram_grids_have_the_shape_of_leverage_by_trigger(quick_dir):
    data = json.loads((quick_dir / "phase_diagram.json").read_text())["data"]
    shape = (len(data["surprise_sd"]), len(data["max_leverage"]))
    for key in ("surge_on_pct", "surge_off_pct", "amplification"):
        assert (len(data[key]), len(data[key][0])) == shape
        assert np.all(np.isfinite(np.asarray(data[key], dtype=float)))
    assert data["reference"]["surprise_sd"] == 3.0  # the risk_off scenario's own surprise


def test_the_full_phase_grid_holds_the_risk_off_cell_at_the_default_leverage_cap():
    """The paper figure outlines the cell that is the risk_off scenario; the default cap moved (11.5 to
    12.19, then 7.643, 8.124, 5.913 and 5.563) off a grid written by hand once, and the outline and its legend entry
    vanished silently."""
    from experiments.analysis.figures.phase import _reference_cell
    from experiments.analysis.figures.settings import PHASE_GRID
    from model.config import ModelConfig

    levs, jumps = PHASE_GRID[False]
    ref = {"max_leverage": ModelConfig().hedge_funds.max_leverage, "surprise_sd": 3.0}
    cell = _reference_cell({"reference": ref, "max_leverage": levs, "surprise_sd": jumps})
    assert cell is not None and levs[cell[0]] == ref["max_leverage"] and jumps[cell[1]] == 3.0
    assert (
        _reference_cell({"reference": {**ref, "max_leverage": 11.5}, "max_leverage": levs, "surprise_sd": jumps})
        is None
    )


def test_same_command_gives_the_same_numbers(quick_dir, tmp_path):
    name = "fiscal_vs_monetary"
    figures.write_figure(name, tmp_path, quick=True)
    again = json.loads((tmp_path / f"{name}.json").read_text())
    first = json.loads((quick_dir / f"{name}.json").read_text())
    assert again["data"] == first["data"]
    assert again["seeds"] == first["seeds"] and again["configuration"] == first["configuration"]


def test_plot_functions_take_axes_and_return_them():
    from matplotlib.figure import Figure

    replay = figures.replay_paths([1, 2], days=30)
    a, b = Figure().subplots(1, 2)
    assert figures.plot_replay_usdjpy(replay, a) is a
    assert figures.plot_replay_carry(replay, b) is b
    assert a.get_title(loc="left") == "USD/JPY"


def _drawn(fig):
    """``fig`` drawn on an Agg canvas, and its renderer."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def _seeds_named(text: str) -> set[int]:
    """The seeds a description names: ``seed 1001``, ``seeds 1001-1020``, ``seeds 1001, 1003``."""
    named: set[int] = set()
    for group in re.findall(r"\bseeds? (\d+(?:(?:-|–|, )\d+)*)", text):
        for part in group.split(", "):
            lo, _, hi = part.replace("–", "-").partition("-")
            named.update(range(int(lo), int(hi or lo) + 1))
    return named


@pytest.mark.parametrize("name", list(figures.FIGURES))
def test_a_quick_figure_describes_the_seeds_it_ran(quick_dir, name):
    """The sidecar's description names no seed but those of its seeds field (--quick runs fewer than the paper)."""
    sidecar = json.loads((quick_dir / f"{name}.json").read_text())
    named = _seeds_named(sidecar["description"])
    assert named <= set(sidecar["seeds"]), f"{name}: the description names seeds it did not run"
    if named:
        assert named == set(sidecar["seeds"]), f"{name}: the description leaves out seeds it ran"


def test_the_full_run_is_described_with_its_own_seeds():
    assert "held-out seeds 1001-1020" in figures.FIGURES["aug2024_replay"].description
    roc = figures.FIGURES["early_warning_roc"].description
    assert "scored on seeds 1006-1010" in roc and "which seeds 1001-1005 fit" in roc


def _hypothesis(quick_dir, name):
    from experiments.analysis.hypotheses import HypothesisResult

    return HypothesisResult(**json.loads((quick_dir / f"{name}.json").read_text())["data"])


def test_the_ablation_redraws_from_its_sidecar_and_marks_an_unbounded_interval(quick_dir):
    """Fieller's interval is unbounded (NaN, null in JSON) where the surge without the channels is not
    distinguishable from 0: the redrawn figure spans the axes with an arrow there, not a bare dot, and its
    legend sits under the axes, over no row."""
    from matplotlib.text import Annotation

    from experiments.analysis.style import paper_figure, paper_style

    h1 = _hypothesis(quick_dir, "feedback_ablation")
    world = next(iter(h1.worlds.values()))
    row = next(iter(world["ablations"]))
    world["ablations"][row]["ci"] = [None, None]
    with paper_style():
        fig, ax = paper_figure("one", 3.1)
        assert figures.plot_feedback_ablation(h1, ax) is ax
        renderer = _drawn(fig)
    y = list(world["ablations"]).index(row) + (-0.15 if len(h1.worlds) > 1 else 0.0)
    arrows = [a for a in ax.texts if isinstance(a, Annotation) and a.arrow_patch is not None]
    assert [(a.xy, a.xyann) for a in arrows if abs(a.xy[1] - y) < 1e-9] == [((0.0, y), (1.0, y))]
    legend = ax.get_legend()
    assert any("unbounded" in t.get_text() for t in legend.get_texts())
    assert any("threshold" in t.get_text() for t in legend.get_texts())
    assert legend.get_window_extent(renderer).y1 < ax.get_window_extent(renderer).y0  # under the axes
    assert legend.get_window_extent(renderer).x1 <= fig.bbox.x1 + 1  # and inside the figure


def test_the_boj_hike_the_same_in_every_world_is_drawn_once(quick_dir):
    """H2's hike is one measurement when its result is the same in every world: one line and band, not one
    point per world; the worlds' names are at the style's tick size."""
    from experiments.analysis.style import FONT, paper_figure, paper_style

    h2 = _hypothesis(quick_dir, "fiscal_vs_monetary")
    worlds = [w for w in h2.worlds.values() if "fiscal" in w]
    hike = worlds[0]["monetary"]
    for w in worlds:  # as it is in the model (the BoJ's rate is scripted), whatever the quick runs gave
        w["monetary"] = dict(hike)
    with paper_style():
        fig, ax = paper_figure("one", 3.4)
        figures.plot_fiscal_vs_monetary(h2, ax)
    level = [line for line in ax.get_lines() if list(line.get_ydata()) == [hike["usdjpy_change_pct"]] * 2]
    assert len(level) == 1
    circles = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert not circles, "the hike is drawn per world"
    assert all(t.get_fontsize() >= FONT["tick"] for t in ax.get_xticklabels())
    assert any("same in every world" in t.get_text() for t in ax.get_legend().get_texts())


def test_the_roc_legend_gives_the_within_scenario_aucs_under_the_axes(quick_dir):
    """Panel a's verdict reads AUCs within scenarios: the legend gives those (the pooled one named as such)."""
    from experiments.analysis.style import paper_figure, paper_style

    h7 = _hypothesis(quick_dir, "early_warning_roc")
    names = list(h7.worlds["auc"])
    h7.worlds["auc"] = dict(zip(names, (0.61, 0.37), strict=True))
    h7.worlds["auc_pooled_across_scenarios"] = dict(zip(names, (0.55, 0.45), strict=True))
    with paper_style():
        fig, (a, b) = paper_figure("two", 3.2, 1, 2)
        figures.plot_roc_curves(h7, a)
        renderer = _drawn(fig)
    texts = [t.get_text() for t in a.get_legend().get_texts()]
    assert any("0.61 within scenarios" in t and "0.55 with days pooled" in t for t in texts)
    assert any("0.37 within scenarios" in t and "0.45 with days pooled" in t for t in texts)
    assert a.get_legend().get_window_extent(renderer).y1 < a.get_window_extent(renderer).y0


def test_the_amplification_map_has_a_fixed_scale_and_short_tick_labels():
    """Noise around ×1 must not fill the colour scale, and a leverage cap of 5.563 reads 5.56."""
    from experiments.analysis.style import paper_figure, paper_style

    noise = [[0.93, 1.02, 1.06], [0.97, 1.0, 1.04]]
    phase = {"max_leverage": [1.5, 5.563, 20.0], "surprise_sd": [1.0, 3.0], "amplification": noise}
    with paper_style():
        fig, ax = paper_figure("one", 3.0)
        figures.plot_phase_amplification(phase, ax)
        _drawn(fig)
    (mesh,) = ax.collections
    assert (mesh.norm.vmin, mesh.norm.vmax) == (1.0, 3.0)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1.5", "5.56", "20"]
    numbers = [t for t in ax.texts if t.get_text().replace(".", "").isdigit()]
    assert len(numbers) == 6 and all(t.get_bbox_patch() is not None for t in numbers)  # readable over the hatch


def test_every_event_of_the_replays_has_a_short_name():
    from experiments.analysis.figures.settings import EVENT_LABELS
    from experiments.analysis.replay import CONDITIONAL
    from experiments.analysis.targets import EPISODE
    from model.scenarios import load_scenario

    kinds = {e.kind for name in (EPISODE, CONDITIONAL) for e in load_scenario(name).events}
    assert kinds <= set(EVENT_LABELS), f"no figure label for {sorted(kinds - set(EVENT_LABELS))}"


def test_the_positioning_titles_fit_and_the_anchor_is_named():
    from matplotlib.text import Text

    from experiments.analysis.style import paper_style

    with paper_style():
        fig, _ = figures.make_figure("replay_positioning", quick=True)
        renderer = _drawn(fig)
    # the words (titles, labels, legend), not the tick numbers (those outside the axes' limits are not drawn)
    texts = [t for t in fig.findobj(Text) if t.get_visible() and re.search("[a-z]", t.get_text())]
    assert any(t.get_text().startswith("b ") for t in texts)  # the panel titles are among them
    for t in texts:  # each whole inside the figure (panel b's title was cut at its unit)
        box = t.get_window_extent(renderer)
        assert fig.bbox.x0 <= box.x0 and box.x1 <= fig.bbox.x1, t.get_text()
    labels = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert any("BIS" in label and "$250 bn" in label for label in labels)
