"""How fast the browser app answers a step, at classroom sizes.

::

    python -m experiments.app.bench              # in-process: Step pressed on the rendered widgets
    python -m experiments.app.bench --browser    # also in headless Chromium, click to redrawn charts

A step's answer is the model's day plus the redraw of every panel (the charts and the widget
updates; the model itself steps in well under a millisecond at these sizes). The browser
figure, from the click to every chart showing the new day, is what a student waits for; the
target is 0.5 s. The in-process figure overstates the server's share: outside a server, Solara
re-renders each panel in a pass of its own instead of all in one.
"""

from __future__ import annotations

import contextlib
import io
import statistics
import sys
import time
from collections.abc import Sequence

__all__ = ["CLASSROOM_SIZES", "widget_latency", "browser_latency", "main"]

TARGET_S = 0.5
MAX_STEPS = 1000  # steps timed per size (a median needs one; a typo of 10^9 must not start)
# (hedge funds, NISA households): the app's default, and the largest its sliders allow
CLASSROOM_SIZES = ((200, 10_000), (2_000, 50_000))


def _sizes_kwargs(n_funds: int, n_households: int) -> dict[str, int]:
    from experiments.app.specs import mesa_model_params

    params = mesa_model_params()
    out = {"hedge_funds__n_funds": n_funds}
    if "nisa__n_households" in params:
        out["nisa__n_households"] = n_households
    return out


def widget_latency(n_funds: int, n_households: int, steps: int = 30) -> list[float]:
    """Seconds per press of Step on the rendered page (model step and every panel redrawn)."""
    import ipyvuetify as v
    import solara

    from experiments.app.page import AppModel, AppView

    model = solara.reactive(AppModel(**_sizes_kwargs(n_funds, n_households)))
    # outside a server, Solara prints the app bar's elements; keep the report clean
    with contextlib.redirect_stdout(io.StringIO()):
        _, rc = solara.render(solara.AppLayout(children=[AppView(model)]), handle_error=False)
    step = rc.find(v.Btn, children=["Step"]).single.widget
    step.click()  # first redraw of every figure
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step.click()
        times.append(time.perf_counter() - start)
    rc.close()
    return times


def _set_slider(page, label: str, key: str) -> None:
    """Move a sidebar slider with the keyboard (End: its maximum, Home: its minimum)."""
    slider = page.get_by_role("slider", name=label, exact=True)
    slider.focus()
    slider.press(key)


def browser_latency(steps: int = 15) -> dict[tuple[int, int], list[float]]:
    """Seconds from clicking Step to every chart showing the new day, in headless Chromium."""
    from playwright.sync_api import sync_playwright

    from experiments.app.browser import PageLog, launch_chromium, open_app, step_and_wait
    from experiments.app.server import running_server
    from experiments.app.specs import mesa_model_params

    params = mesa_model_params()
    out: dict[tuple[int, int], list[float]] = {}
    with running_server() as url, sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = open_app(browser, url, PageLog())
        for n_funds, n_households in CLASSROOM_SIZES:
            if (n_funds, n_households) != CLASSROOM_SIZES[0]:
                # the largest sizes the sliders allow, then Reset builds that model
                _set_slider(page, params["hedge_funds__n_funds"]["label"], "End")
                if "nisa__n_households" in params:
                    _set_slider(page, params["nisa__n_households"]["label"], "End")
                page.get_by_role("button", name="Reset").click()
                page.wait_for_timeout(1000)
            step_and_wait(page)
            out[(n_funds, n_households)] = [step_and_wait(page) for _ in range(steps)]
        browser.close()
    return out


def _report(label: str, times: Sequence[float]) -> str:
    med, worst = statistics.median(times), max(times)
    verdict = "ok" if med <= TARGET_S else "over target"
    return f"  {label:<38} median {1000 * med:6.0f} ms   max {1000 * worst:6.0f} ms   ({verdict})"


def main(argv: Sequence[str] | None = None) -> int:
    from experiments.cli.common import Parser, bounded_count

    # one-line errors, "prog: error: ... (see 'prog --help')", as the carry-unwind commands give them
    parser = Parser(prog="python -m experiments.app.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--browser", action="store_true", help="also measure in headless Chromium")
    parser.add_argument("--steps", type=bounded_count("--steps", MAX_STEPS), default=30,
                        help=f"steps timed per size, 1 to {MAX_STEPS:,} (default: 30)")  # fmt: skip
    args = parser.parse_args(argv)

    print(f"Step latency of the browser app (target {TARGET_S:.1f} s)")
    worst = 0.0
    for n_funds, n_households in CLASSROOM_SIZES:
        times = widget_latency(n_funds, n_households, args.steps)
        worst = max(worst, statistics.median(times))
        print(_report(f"in-process, {n_funds:,} funds, {n_households:,} households", times))
    if args.browser:
        for (n_funds, n_households), times in browser_latency(max(5, args.steps // 2)).items():
            worst = max(worst, statistics.median(times))
            print(_report(f"Chromium, {n_funds:,} funds, {n_households:,} households", times))
    return 0 if worst <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
