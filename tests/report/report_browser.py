"""Debian's headless Chromium, driven by Playwright: load a report from disk, read its DOM, take a
screenshot. Used by the browser tests and by `make report` (tests/report/report_samples.py).

Playwright's Python package talks to the browser over its DevTools protocol; it is given the
distribution's binary (`executable_path`) and never downloads a browser of its own (`playwright
install` is never run). Every request the page makes goes through a route that lets only the file
itself through and records anything else, so a test can fail on any fetch; the context is offline
too. The flags keep Chromium from calling home at start (these machines have no network but the
package registries): the list the machine's notes give.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("MFA_POLICY_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Set by .ci/run: there, a missing browser fails the browser tests instead of skipping them.
REQUIRED = os.environ.get("MFA_POLICY_BROWSER_TESTS") == "required"
VIEWPORT = {"width": 1280, "height": 900}


def missing() -> str | None:
    """Why the browser tests cannot run here (one line naming what to install), or None."""
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"no Chromium at {CHROMIUM}: apt-get install chromium (Debian's package; `make test` does it as root)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed: pip install -e '.[dev]'"
    return None


@dataclass
class LoadedPage:
    """A report loaded in the browser, with everything it tried to do on the way."""

    page: Any
    url: str
    requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Browser:
    """One headless Chromium; ``load`` opens a file in a fresh, offline context."""

    def __init__(self, browser: Any) -> None:
        self._browser = browser

    @contextmanager
    def load(self, path: Path, *, javascript: bool = True) -> Iterator[LoadedPage]:
        """The page at ``path``, loaded (``javascript=False``: as a reader with script off sees it)."""
        url = path.resolve().as_uri()
        context = self._browser.new_context(viewport=VIEWPORT, offline=True, java_script_enabled=javascript)
        try:
            page = context.new_page()
            loaded = LoadedPage(page, url)

            def route(route: Any) -> None:
                request_url = route.request.url
                loaded.requests.append(request_url)
                if request_url == url:
                    route.continue_()
                else:
                    loaded.blocked.append(request_url)
                    route.abort()

            context.route("**/*", route)
            page.on("dialog", lambda dialog: (loaded.dialogs.append(dialog.message), dialog.dismiss()))
            page.on("console", lambda message: loaded.console.append(f"{message.type}: {message.text}"))
            page.on("pageerror", lambda error: loaded.errors.append(str(error)))
            page.goto(url, wait_until="load")
            yield loaded
        finally:
            context.close()

    def screenshot(self, html: Path, png: Path, *, max_height: int = 2400, until: str | None = None) -> None:
        """A PNG of the page's top: down to the end of the element ``until`` selects (else the
        whole page), at most ``max_height`` CSS pixels."""
        with self.load(html) as loaded:
            if until is not None:
                bottom = loaded.page.eval_on_selector(until, "element => element.getBoundingClientRect().bottom")
                height = int(bottom) + 12
            else:
                height = int(loaded.page.evaluate("document.documentElement.scrollHeight"))
            height = min(max_height, height)
            clip = {"x": 0, "y": 0, "width": VIEWPORT["width"], "height": height}
            loaded.page.screenshot(path=str(png), full_page=True, clip=clip, animations="disabled")


@contextmanager
def chromium() -> Iterator[Browser]:
    """Start Debian's headless Chromium (raises if it cannot: callers check ``missing()`` first)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            yield Browser(browser)
        finally:
            browser.close()


def java() -> str | None:
    """The java binary the W3C validator runs on, or None."""
    return shutil.which("java")
