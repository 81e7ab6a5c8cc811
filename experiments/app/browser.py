"""Drive the browser app in headless Chromium (Debian's package) with Playwright.

Shared by the real-browser test (``tests/experiments/test_app_browser.py``) and the latency benchmark
(:mod:`experiments.app.bench`). Playwright is used only as a driver: it launches the system's
``/usr/bin/chromium`` (never ``playwright install``, which downloads a browser).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["CHROMIUM", "CHROMIUM_FLAGS", "PageLog", "launch_chromium", "open_app", "chart_sources", "step_and_wait"]

CHROMIUM = Path(os.environ.get("CARRY_UNWIND_CHROMIUM", "/usr/bin/chromium"))
# no GPU, no sandbox (containers, root), and nothing that phones home
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
LOCAL_PREFIXES = ("http://127.0.0.1", "ws://127.0.0.1", "http://localhost", "ws://localhost", "data:", "blob:")


@dataclass
class PageLog:
    """What a page reported: console errors, uncaught exceptions, failed and non-local requests."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    bad_responses: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    requests: int = 0

    def watch(self, page: Any) -> None:
        def on_request(request: Any) -> None:
            self.requests += 1
            if not request.url.startswith(LOCAL_PREFIXES):
                self.external_requests.append(request.url)

        page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        page.on("requestfailed", lambda r: self.failed_requests.append(f"{r.url} ({r.failure})"))
        page.on("response", lambda r: self.bad_responses.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.on("request", on_request)

    def problems(self) -> dict[str, list[str]]:
        """Every non-empty category, for an assertion message."""
        found = {
            "console errors": self.console_errors,
            "page errors": self.page_errors,
            "failed requests": self.failed_requests,
            "HTTP errors": self.bad_responses,
            "requests leaving localhost": self.external_requests,
        }
        return {k: v for k, v in found.items() if v}


def launch_chromium(playwright: Any) -> Any:
    """Headless Chromium from the system package; raises FileNotFoundError if it is missing."""
    if not CHROMIUM.exists():
        raise FileNotFoundError(
            f"{CHROMIUM} not found: install Debian's chromium package (apt-get install -y chromium; "
            "bash .ci/run does it), or point CARRY_UNWIND_CHROMIUM at a Chromium binary"
        )
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_FLAGS), headless=True)


def open_app(browser: Any, url: str, log: PageLog, *, width: int = 1600, height: int = 2000) -> Any:
    """A page showing the app, with every chart drawn once."""
    page = browser.new_page(viewport={"width": width, "height": height})
    log.watch(page)
    page.goto(url)
    page.get_by_role("button", name="Step").wait_for(timeout=60_000)
    page.locator("img.chart-img-usdjpy").wait_for(timeout=60_000)
    return page


def chart_sources(page: Any) -> dict[str, str]:
    """``src`` of every chart image by its CSS class (``chart-img-<key>``)."""
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('img.chart-img')].map(
            img => [[...img.classList].find(c => c.startsWith('chart-img-')), img.src]))"""
    )


def step_and_wait(page: Any, timeout_ms: int = 10_000) -> float:
    """Press Step and wait until every time-series chart shows the new day; returns the seconds.

    (Each of those images changes every day, as its lines grow by a day; the network picture
    changes only when some household's panic does, so it is not waited for.)
    """
    before = {k: v for k, v in chart_sources(page).items() if k != "chart-img-nisa-network"}
    start = time.perf_counter()
    page.get_by_role("button", name="Step").click()
    page.wait_for_function(
        """before => Object.entries(before).every(([key, src]) => {
            const img = document.querySelector('img.' + key);
            return img !== null && img.complete && img.src !== src;
        })""",
        arg=before,
        timeout=timeout_ms,
    )
    return time.perf_counter() - start
