"""The one plotting style: the palette, the paper figures' sizes and fonts, the screen figures' look.

:func:`paper_style` is the one place the style is defined. Use it as a context manager around
making *and* saving a figure (tick sizes are read when the axes are made, the PDF font type when
the file is written); nothing changes matplotlib's global state outside the ``with`` block::

    from experiments.analysis.style import paper_style, paper_figure

    with paper_style():
        fig, ax = paper_figure("one")
        ax.plot(x, y)
        fig.savefig("f.pdf")

Colours are the Okabe-Ito palette (:data:`OKABE_ITO`), distinguishable under the common
colour-vision deficiencies; maps of a single quantity use ``cividis``, which was
designed to read the same with and without them (Nuñez, Anderton & Renslow 2018, PLOS ONE 13).
The screen figures (a run's overview, validation, sensitivity) use :func:`style_axes` and
:func:`style_legend` at their larger sizes; :func:`finish_axes` brings such axes to the paper
sizes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "OKABE_ITO",
    "ONE_COLUMN_IN",
    "TWO_COLUMN_IN",
    "FONT",
    "CYCLE",
    "SEQUENTIAL_CMAP",
    "paper_style",
    "paper_figure",
    "finish_axes",
    "label_panels",
    "legend_below",
    "style_axes",
    "style_legend",
]

# Okabe & Ito (2008), "Color Universal Design": distinguishable under the common forms of
# colour-vision deficiency
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermilion": "#D55E00",
    "reddish_purple": "#CC79A7",
}


# Text widths of common journal layouts: one column ≈ 3.5 in (89 mm), two columns ≈ 7.2 in (183 mm).
ONE_COLUMN_IN = 3.5
TWO_COLUMN_IN = 7.2
DEFAULT_HEIGHT_IN = {"one": 2.6, "two": 2.8}

# points, at the printed size (figures are made at their final width, never scaled)
FONT = {"base": 7.5, "title": 8.0, "label": 7.5, "tick": 7.0, "legend": 6.5, "annotation": 6.5}
LINE = {"data": 1.3, "thin": 0.7, "axis": 0.6, "grid": 0.5}

# the order in which series take colours: blue and vermilion first, the pair that survives every
# common colour-vision deficiency and greyscale printing best
CYCLE = [
    OKABE_ITO["blue"],
    OKABE_ITO["vermilion"],
    OKABE_ITO["bluish_green"],
    OKABE_ITO["orange"],
    OKABE_ITO["reddish_purple"],
    OKABE_ITO["sky_blue"],
    OKABE_ITO["black"],
]
SEQUENTIAL_CMAP = "cividis"
GRID_COLOR = "0.9"
SPINE_COLOR = "0.35"
TEXT_COLOR = "0.2"


def _rc() -> dict[str, Any]:
    from cycler import cycler

    return {
        "font.size": FONT["base"],
        "font.family": "sans-serif",
        "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
        "axes.titlesize": FONT["title"],
        "axes.titleweight": "bold",
        "axes.titlelocation": "left",
        "axes.labelsize": FONT["label"],
        "axes.linewidth": LINE["axis"],
        "axes.edgecolor": SPINE_COLOR,
        "axes.labelcolor": TEXT_COLOR,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "axes.axisbelow": True,
        "axes.prop_cycle": cycler(color=CYCLE),
        "grid.color": GRID_COLOR,
        "grid.linewidth": LINE["grid"],
        "xtick.labelsize": FONT["tick"],
        "ytick.labelsize": FONT["tick"],
        "xtick.color": TEXT_COLOR,
        "ytick.color": TEXT_COLOR,
        "xtick.major.width": LINE["axis"],
        "ytick.major.width": LINE["axis"],
        "xtick.major.size": 2.5,
        "ytick.major.size": 2.5,
        "legend.fontsize": FONT["legend"],
        "legend.frameon": False,
        "legend.handlelength": 1.6,
        "lines.linewidth": LINE["data"],
        "lines.markersize": 4.0,
        "patch.linewidth": 0.5,
        "image.cmap": SEQUENTIAL_CMAP,
        "figure.dpi": 150,
        "savefig.dpi": 300,
        "savefig.facecolor": "white",
        "figure.facecolor": "white",
        # TrueType fonts in PDF (journals reject Type 3); the text stays selectable and editable
        "pdf.fonttype": 42,
        "ps.fonttype": 42,
        "svg.fonttype": "none",
    }


@contextlib.contextmanager
def paper_style() -> Iterator[None]:
    """Context manager: the paper style for the figures made and saved inside it."""
    import matplotlib

    with matplotlib.rc_context(_rc()):
        yield


def paper_figure(
    width: str = "one", height: float | None = None, nrows: int = 1, ncols: int = 1, **subplots: Any
) -> tuple[Figure, Any]:
    """A new figure (no pyplot state) at its printed size, with its axes.

    Parameters
    ----------
    width
        ``"one"`` (3.5 in, one column) or ``"two"`` (7.2 in, across both columns).
    height
        Inches; default 2.6 (one column) or 2.8 (two columns).
    nrows, ncols, **subplots
        Passed to :meth:`matplotlib.figure.Figure.subplots`.
    """
    from matplotlib.figure import Figure

    if width not in DEFAULT_HEIGHT_IN:
        raise ValueError(f"width = {width!r} is not allowed; expected 'one' or 'two'")
    w = ONE_COLUMN_IN if width == "one" else TWO_COLUMN_IN
    fig = Figure(figsize=(w, height or DEFAULT_HEIGHT_IN[width]), layout="constrained")
    fig.get_layout_engine().set(w_pad=0.02, h_pad=0.02, wspace=0.04, hspace=0.04)
    return fig, fig.subplots(nrows, ncols, **subplots)


def finish_axes(ax: Axes, *, legend: bool = True) -> Axes:
    """Bring axes drawn with other font sizes to the paper's: title, labels, ticks, legend, spines."""
    ax.title.set_fontsize(FONT["title"])
    ax.title.set_fontweight("bold")
    ax.xaxis.label.set_fontsize(FONT["label"])
    ax.yaxis.label.set_fontsize(FONT["label"])
    ax.tick_params(labelsize=FONT["tick"], colors=TEXT_COLOR, width=LINE["axis"], length=2.5)
    for side in ("left", "bottom"):
        ax.spines[side].set_linewidth(LINE["axis"])
        ax.spines[side].set_color(SPINE_COLOR)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    leg = ax.get_legend()
    if leg is not None:
        if legend:
            for text in leg.get_texts():
                text.set_fontsize(FONT["legend"])
        else:
            leg.remove()
    for text in ax.texts:
        if text.get_fontsize() > FONT["annotation"]:
            text.set_fontsize(FONT["annotation"])
    return ax


def label_panels(axes: Iterable[Axes]) -> None:
    """Prefix the axes' titles with bold panel letters: a, b, c, ..."""
    for letter, ax in zip("abcdefghijklmnopqrstuvwxyz", axes, strict=False):
        title = ax.get_title(loc="left")
        ax.set_title(f"{letter}   {title}" if title else letter, loc="left")


def legend_below(ax: Axes, *args: Any, centre: str = "axes", gap_pt: float = 3.0, **kw: Any) -> Any:
    """A legend under the axes' x label, clear of the data; constrained layout makes room for it.

    ``centre``: ``"axes"`` (under the axes' middle) or ``"figure"`` (under the figure's, for a one-panel
    figure whose long tick labels push the axes to the right). ``args`` and ``kw`` go to ``ax.legend``
    (``loc`` and ``bbox_to_anchor`` are set here). Call it once the axes' ticks and x label are set: their
    height, in points, decides how far down the legend goes.
    """
    from matplotlib.transforms import ScaledTranslation, blended_transform_factory

    if centre not in ("axes", "figure"):
        raise ValueError(f"centre = {centre!r} is not allowed; expected 'axes' or 'figure'")
    fig = ax.figure
    below = ax.get_window_extent().y0 - ax.xaxis.get_tightbbox().y0  # ticks and label, pixels
    down = ax.transAxes + ScaledTranslation(0.0, -(max(below, 0.0) / fig.dpi + gap_pt / 72.0), fig.dpi_scale_trans)
    where = down if centre == "axes" else blended_transform_factory(fig.transSubfigure, down)
    return ax.legend(*args, loc="upper center", bbox_to_anchor=(0.5, 0.0), bbox_transform=where, **kw)


# -- the screen figures (overview, validation, sensitivity) -------------------------------------


def style_axes(ax: Axes, title: str, ylabel: str) -> Axes:
    """The screen look of a panel (run overviews, validation): bold left title, light grid, no top/right spines."""
    ax.set_title(title, loc="left", fontsize=10.5, fontweight="bold")
    ax.set_ylabel(ylabel, fontsize=9)
    ax.grid(True, color="0.9", linewidth=0.7)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("0.4")
    ax.tick_params(labelsize=8.5, colors="0.25")
    ax.margins(x=0.01)
    return ax


def style_legend(ax: Axes, **kw: Any) -> None:
    """A frameless legend at the screen figures' font size; ``kw`` go to ``ax.legend``."""
    ax.legend(frameon=False, fontsize=8.5, handlelength=1.6, **kw)
