"""Live matplotlib charts for the browser app, cheap to redraw every trading day.

Each chart keeps one :class:`~matplotlib.figure.Figure` for the whole session and redraws by
*blitting* (matplotlib's "faster rendering by using blitting"): the static parts (axes, grid,
tick labels, legend) are rendered once into a background, and a new day only restores that
background and draws the data lines and event markers on top. Rasterising text is most of the
cost of a full render, so the axes limits are sticky (the day axis grows in blocks; the y axis
widens with headroom and narrows only when the data fill too little of it) and the background
is redrawn only when they or the legend change. Nothing here touches pyplot.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator
from PIL import Image

from experiments.app.specs import ChartSpec

__all__ = ["TimeSeriesChart", "NetworkChart", "FIGSIZE_IN", "DPI", "MAX_DAYS_DRAWN", "PANIC_CMAP", "sticky_limits"]

FIGSIZE_IN = (3.9, 3.5)
DPI = 80
# Charts show the most recent days only, so a long run redraws as fast as a short one.
MAX_DAYS_DRAWN = 750
PANIC_CMAP = "YlOrRd"
EVENT_COLOR = "0.55"
LABEL_SIZE, TICK_SIZE = 8, 7
# y limits: headroom added when they must change; they shrink when the data fill less than this
Y_HEADROOM, Y_MIN_FILL = 0.12, 0.35


def _new_figure(size: tuple[float, float]) -> Figure:
    fig = Figure(figsize=size, dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def style_axes(ax: Axes, units: str, xlabel: str = "trading day") -> Axes:
    """Light grid, no top/right frame, units on the y axis, about four ticks an axis."""
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
    ax.tick_params(labelsize=TICK_SIZE)
    ax.grid(True, color="0.9", lw=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_ylabel(units, fontsize=LABEL_SIZE)
    ax.set_xlabel(xlabel, fontsize=LABEL_SIZE)
    return ax


def x_window(last_day: float) -> tuple[float, float]:
    """Day axis for a run at ``last_day``: grows in blocks, and shows at most MAX_DAYS_DRAWN days."""
    block = 25 if last_day < 100 else 50 if last_day < 500 else 100
    hi = block * math.ceil((last_day + 1) / block)
    return float(max(0, hi - MAX_DAYS_DRAWN)), float(hi)


def sticky_limits(
    current: tuple[float, float] | None, lo: float, hi: float, *, min_span: float = 0.0, from_zero: bool = False
) -> tuple[float, float]:
    """y limits for data in [lo, hi]: the current ones while they still fit the data well.

    They change when the data leave them, or fill less than ``Y_MIN_FILL`` of them; new limits
    add ``Y_HEADROOM`` of the span on each side and span at least ``min_span``. With
    ``from_zero`` the axis starts at 0 (counts, shares) and reaches at least 1.
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):
        lo, hi = 0.0, 1.0
    span = max(hi - lo, min_span, 1e-12)
    pad = Y_HEADROOM * span
    mid = 0.5 * (lo + hi)
    new_lo, new_hi = min(lo, mid - 0.5 * span) - pad, max(hi, mid + 0.5 * span) + pad
    if from_zero and lo >= 0.0:
        new_lo, new_hi = 0.0, max(new_hi, 1.0, min_span)
    if current is not None:
        c_lo, c_hi = current
        # keep them while the data fit and they are not much wider than fresh limits would be
        if c_lo <= lo and hi <= c_hi and (c_hi - c_lo) * Y_MIN_FILL <= new_hi - new_lo:
            return current
    return new_lo, new_hi


class _Blitter:
    """A figure whose background is rendered once per ``key`` and whose animated artists are
    drawn over it on every ``png()``."""

    def __init__(self, fig: Figure) -> None:
        self.fig = fig
        self.animated: list[Artist] = []
        self._background: Any = None
        self._key: Any = None
        self.full_renders = 0  # how often the background had to be redrawn (for tests)

    def animate(self, artist: Artist) -> Artist:
        artist.set_animated(True)
        self.animated.append(artist)
        return artist

    def png(self, key: Any) -> bytes:
        canvas = self.fig.canvas
        if self._background is None or key != self._key:
            canvas.draw()  # everything except the animated artists
            self._background = canvas.copy_from_bbox(self.fig.bbox)
            self._key = key
            self.full_renders += 1
        else:
            canvas.restore_region(self._background)
        for artist in self.animated:
            if artist.get_visible() and artist.axes is not None:
                artist.axes.draw_artist(artist)
        width, height = canvas.get_width_height()
        image = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        buf = io.BytesIO()
        # light compression: the image travels over localhost, and encoding is on every step's clock
        image.save(buf, format="png", compress_level=1)
        return buf.getvalue()


class TimeSeriesChart:
    """One :class:`ChartSpec` drawn from a model's ``history`` (dict of equal-length lists).

    ``update(history, events)`` moves the lines to the latest data and places the event markers
    (days on which a scenario event or an app shock acted); ``png()`` encodes the picture.
    Series marked optional in the spec are drawn only if their column exists.
    """

    def __init__(self, spec: ChartSpec, size: tuple[float, float] = FIGSIZE_IN) -> None:
        self.spec = spec
        self.fig = _new_figure(size)
        twin = any(s.right for s in spec.series)
        self.fig.subplots_adjust(left=0.16, right=0.84 if twin else 0.96, bottom=0.13, top=0.95)
        self.ax = style_axes(self.fig.add_subplot(), spec.units)
        self.ax_right: Axes | None = None
        if twin:
            self.ax_right = self.ax.twinx()
            self.ax_right.yaxis.set_major_locator(MaxNLocator(nbins=4))
            self.ax_right.tick_params(labelsize=TICK_SIZE)
            self.ax_right.set_ylabel(spec.right_units, fontsize=LABEL_SIZE)
            self.ax_right.spines["top"].set_visible(False)
        self._blit = _Blitter(self.fig)
        self._lines: dict[str, Line2D] = {}
        self._event_lines: list[Line2D] = []
        self._events: tuple[int, ...] = ()
        self._legend = 0  # entries in the legend drawn so far
        self._ylim: dict[int, tuple[float, float]] = {}  # per axes, as last set

    @property
    def full_renders(self) -> int:
        return self._blit.full_renders

    def _axes_for(self, right: bool) -> Axes:
        return self.ax_right if right and self.ax_right is not None else self.ax

    def update(self, history: Mapping[str, Sequence[float]], events: Sequence[int] = ()) -> None:
        # while Play steps the model in another thread, a day may be half recorded: draw the days
        # every column has
        columns = ["day"] + [s.column for s in self.spec.series if s.column in history]
        n = min(len(history[c]) for c in columns)
        start = max(0, n - MAX_DAYS_DRAWN)
        days = np.asarray(history["day"][start:n], dtype=float)
        # counts per day as a step outline: one artist, unlike one bar patch per day
        drawstyle = "steps-mid" if self.spec.kind == "steps" else "default"
        ranges: dict[bool, list[float]] = {False: [math.inf, -math.inf], True: [math.inf, -math.inf]}
        shown = []
        for s in self.spec.series:
            if s.column not in history:
                continue
            y = np.asarray(history[s.column][start:n], dtype=float) * s.scale
            line = self._lines.get(s.column)
            if line is None:
                ax = self._axes_for(s.right)
                (line,) = ax.plot(days, y, s.style, color=s.color, lw=1.2, label=s.label, drawstyle=drawstyle)
                self._lines[s.column] = self._blit.animate(line)
            else:
                line.set_data(days, y)
            finite = y[np.isfinite(y)]
            if finite.size:
                side = ranges[bool(s.right and self.ax_right is not None)]
                side[0], side[1] = min(side[0], float(finite.min())), max(side[1], float(finite.max()))
            shown.append(line)
        self.ax.set_xlim(*x_window(days[-1] if len(days) else 0.0))
        self._set_y(self.ax, ranges[False], self.spec.min_span, self.spec.left_from_zero)
        if self.ax_right is not None:
            self._set_y(self.ax_right, ranges[True], 0.0, self.spec.right_from_zero)
        if len(shown) > 1 and len(shown) != self._legend:
            self._draw_legend(shown)
        lo, hi = self.ax.get_xlim()
        self._draw_events(tuple(int(d) for d in events if lo <= d <= hi))

    def _set_y(self, ax: Axes, data: list[float], min_span: float, from_zero: bool) -> None:
        current = self._ylim.get(id(ax))
        limits = sticky_limits(current, data[0], data[1], min_span=min_span, from_zero=from_zero)
        if limits != current:
            ax.set_ylim(*limits)
            self._ylim[id(ax)] = limits

    def _draw_legend(self, handles: list[Line2D]) -> None:
        """The legend above the axes, three entries a row (the top margin makes room)."""
        ncols = min(3, len(handles))
        rows = -(-len(handles) // ncols)
        self.fig.subplots_adjust(top=0.93 - 0.06 * rows)
        self.ax.legend(
            handles=handles,
            loc="lower left",
            bbox_to_anchor=(0.0, 1.0),
            frameon=False,
            ncols=ncols,
            fontsize=TICK_SIZE,
            handlelength=1.3,
            columnspacing=0.9,
            borderaxespad=0.3,
        )
        self._legend = len(handles)

    def _draw_events(self, events: tuple[int, ...]) -> None:
        """Dashed markers, drawn with the lines (so a new shock does not redraw the background)."""
        if events == self._events:
            return
        for line in self._event_lines:
            self._blit.animated.remove(line)
            line.remove()
        self._event_lines = []
        for day in events:
            marker = self.ax.axvline(day, color=EVENT_COLOR, lw=0.8, ls="--")
            self._event_lines.append(marker)
            self._blit.animated.insert(0, marker)  # under the data lines
            marker.set_animated(True)
        self._events = events

    def _background_key(self) -> tuple[Any, ...]:
        right = self.ax_right.get_ylim() if self.ax_right is not None else None
        return (self.ax.get_xlim(), self.ax.get_ylim(), right, self._legend)

    def png(self) -> bytes:
        return self._blit.png(self._background_key())


class NetworkChart:
    """A sample of the NISA households' network, each household coloured by its panic (0–1).

    The layout (networkx spring layout, fixed seed) is computed once per set of nodes and
    reused, so the picture stays put from day to day and only the colours change; the edges
    and the colour bar are the blitted background.
    """

    def __init__(self, size: tuple[float, float] = FIGSIZE_IN, seed: int = 7) -> None:
        self.seed = seed
        self.fig = _new_figure(size)
        self.fig.subplots_adjust(left=0.02, right=0.84, bottom=0.02, top=0.98)
        self.ax = self.fig.add_subplot()
        self.ax.set_axis_off()
        self.cax = self.fig.add_axes((0.86, 0.12, 0.035, 0.7))
        self._blit = _Blitter(self.fig)
        self._nodes: tuple[Any, ...] | None = None
        self._edges: LineCollection | None = None
        self._points: PathCollection | None = None
        self.panic_share = 0.0

    @property
    def full_renders(self) -> int:
        return self._blit.full_renders

    def _layout(self, graph: Any) -> dict[Any, np.ndarray]:
        import networkx as nx

        return nx.spring_layout(graph, seed=self.seed, iterations=60)

    def update(self, graph: Any, panic: Mapping[Any, float]) -> None:
        """Colour ``graph``'s nodes by ``panic`` (0 calm … 1 panicking); new nodes: new layout."""
        nodes = tuple(graph.nodes)
        values = np.array([float(panic.get(v, 0.0)) for v in nodes])
        if nodes != self._nodes:
            self._draw_structure(graph, nodes, values)
        elif self._points is not None:
            self._points.set_array(values)
        self.panic_share = float(np.mean(values >= 0.5)) if len(values) else 0.0

    def _draw_structure(self, graph: Any, nodes: tuple[Any, ...], values: np.ndarray) -> None:
        pos = self._layout(graph)
        if self._edges is not None:
            self._edges.remove()
        if self._points is not None:
            self._blit.animated.remove(self._points)
            self._points.remove()
        segments = [(pos[a], pos[b]) for a, b in graph.edges]
        self._edges = LineCollection(segments, colors="0.75", linewidths=0.4, zorder=1)
        self.ax.add_collection(self._edges)
        xy = np.array([pos[v] for v in nodes]) if nodes else np.zeros((0, 2))
        self._points = self.ax.scatter(
            xy[:, 0], xy[:, 1], c=values, cmap=PANIC_CMAP, vmin=0.0, vmax=1.0, s=16, edgecolors="0.3", linewidths=0.3
        )
        self._points.set_zorder(2)
        self._blit.animate(self._points)
        self.ax.set_xlim(-1.08, 1.08)
        self.ax.set_ylim(-1.08, 1.08)
        if self._nodes is None:
            cbar = self.fig.colorbar(self._points, cax=self.cax)
            cbar.ax.set_title("panic", fontsize=LABEL_SIZE, loc="left")
            cbar.ax.tick_params(labelsize=TICK_SIZE)
        self._nodes = nodes

    def png(self) -> bytes:
        return self._blit.png(self._nodes)
