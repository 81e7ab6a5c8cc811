"""The browser app in a real browser: the server as `carry-unwind app` starts it, headless
Chromium (Debian's package) driven by Playwright.

The test fails, rather than skips, when Chromium is missing: CI installs it
(``install_system_packages`` in ``.ci/common.sh``). A screenshot of the page and the server's
log are kept in ``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from experiments.app.browser import CHROMIUM, PageLog, chart_sources, launch_chromium, open_app, step_and_wait
from experiments.app.server import running_server

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
MARKET_CHARTS = {"usdjpy", "yields", "carry_stock", "stress", "risk_index"}


def test_app_steps_plays_and_fires_a_shock_in_chromium_offline_without_errors():
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing, so the app cannot be tested in a browser: install Debian's chromium "
            "(apt-get install -y chromium; bash .ci/run does it when run as root)"
        )
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with running_server(log_path=ARTIFACTS / "app-server.log") as url, sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            log = PageLog()
            page = open_app(browser, url, log, width=1600, height=2600)
            assert page.title() == "Yen carry-trade unwind"
            charts = chart_sources(page)
            assert {f"chart-img-{key}" for key in MARKET_CHARTS} <= set(charts)

            # Step: the day advances and every time-series chart is redrawn
            usdjpy = page.locator("img.chart-img-usdjpy")
            usdjpy_before = usdjpy.screenshot()
            latencies = [step_and_wait(page)]
            assert usdjpy.screenshot() != usdjpy_before
            assert "day 1 of" in page.locator(".app-scenario").inner_text()

            # a shock button: it is logged now and moves the risk index at the next step
            page.get_by_role("button", name="Sentiment jump").click()
            page.get_by_text("Sentiment jump fired").wait_for(timeout=10_000)
            risk = page.locator("img.chart-img-risk_index")
            risk_before = risk.screenshot()
            latencies.append(step_and_wait(page))
            assert risk.screenshot() != risk_before
            scenario = page.locator(".app-scenario").inner_text()
            assert "day 2 of" in scenario and "day 2: Sentiment jump" in scenario

            # play runs the model on its own (in a thread on the server) until paused
            page.get_by_role("button", name="▶").click()
            page.wait_for_function(
                "() => /day ([5-9]|\\d\\d+) of/.test(document.querySelector('.app-scenario').innerText)",
                timeout=30_000,
            )
            page.get_by_role("button", name="❚❚").click()
            expect(page.get_by_role("button", name="Step")).to_be_enabled(timeout=10_000)

            page.mouse.move(0, 0)  # no hover highlight in the screenshot
            page.screenshot(path=str(ARTIFACTS / "app.png"), full_page=True)
            check_what_students_see(page)
            (ARTIFACTS / "app-step-latency.json").write_text(json.dumps({"seconds": latencies}))
        finally:
            browser.close()

    assert log.requests > 0
    assert not log.problems(), f"the page reported problems: {log.problems()}"


def _visible_text(page) -> str:
    return page.evaluate("() => document.body.innerText")


def check_what_students_see(page) -> None:
    """Mesa's internal labels hidden or said in words, slider values shown, explanations whole."""
    from playwright.sync_api import expect

    for hidden in ("Render Interval (steps)", "Use Threads"):
        expect(page.get_by_text(hidden, exact=True)).to_be_hidden()
    expect(page.get_by_role("tab", name="Page 0")).to_be_hidden()
    assert "Pause between days (ms)" in page.evaluate(
        """() => getComputedStyle(document.querySelector(
            '.v-input:has([aria-label="Play Interval (ms)"]) label.v-label'), '::after').content"""
    )
    # every slider shows its value beside it, and the value follows the slider
    leverage = '[aria-label="Leverage cap (× equity; 1 = none)"]'
    value = page.locator(f".v-input__slider:has({leverage}) .v-slider > input")
    expect(value).to_be_visible()
    before = float(value.input_value())
    page.locator(leverage).focus()
    page.keyboard.press("ArrowRight")
    expect(value).not_to_have_value(str(before))
    assert float(value.input_value()) > before
    shown = page.locator(".v-input__slider .v-slider > input:visible")
    assert shown.count() == page.locator(".v-slider:visible").count()
    # each chart's explanation is shown whole inside its panel, beside the chart or above it
    for width, height in ((1600, 1300), (1280, 800), (1024, 768)):
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(300)
        clipped = page.evaluate(
            """() => [...document.querySelectorAll('.app-chart')].filter(card => {
                const c = card.getBoundingClientRect();
                return [...card.querySelectorAll('.app-explanation, img.chart-img')].some(e => {
                    const b = e.getBoundingClientRect();
                    return b.height === 0 || b.bottom > c.bottom + 0.5 || b.right > c.right + 0.5;
                });
            }).map(card => card.className)"""
        )
        assert not clipped, f"{width}x{height}: explanation or chart cut off in {clipped}"
