"""Playwright driving Debian's chromium (``scripts/setup --all`` installs it) for the dashboard's
tests and benchmark: one browser, pages that record console errors, screenshots."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, Page, Playwright, sync_playwright

CHROMIUM = "/usr/bin/chromium"
#: Headless, and nothing that reaches out of the machine (its network is closed).
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
#: Screenshots go here when set (``PLUME_SCREENSHOTS=docs/screenshots``: the README's pictures).
SCREENSHOTS_ENV = "PLUME_SCREENSHOTS"


def chromium_path() -> str:
    """Debian's chromium; RuntimeError naming the fix when it is not installed."""
    path = CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")
    if not path:
        raise RuntimeError("chromium is not installed: run scripts/setup --all (it installs Debian's chromium)")
    return path


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless chromium driven by Playwright (its own browser downloads are never used)."""
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            yield browser
        finally:
            browser.close()


def launch(pw: Playwright) -> Browser:
    return pw.chromium.launch(executable_path=chromium_path(), args=FLAGS, headless=True)


@dataclass
class Tab:
    """A page and the console errors it logged (uncaught exceptions included)."""

    page: Page
    errors: list[str] = field(default_factory=list)

    def assert_no_console_errors(self) -> None:
        assert not self.errors, f"console errors: {self.errors}"


@contextmanager
def tab(browser: Browser, *, viewport: dict[str, int] | None = None, dark: bool = False,
        accept_downloads: bool = False) -> Iterator[Tab]:
    """A fresh context and page; console errors are collected on the returned :class:`Tab`."""
    context = browser.new_context(viewport=viewport or DESKTOP, color_scheme="dark" if dark else "light",
                                  accept_downloads=accept_downloads)
    page = context.new_page()
    page.set_default_timeout(30_000)
    out = Tab(page)
    page.on("console", lambda msg: out.errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: out.errors.append(f"uncaught: {exc}"))
    try:
        yield out
    finally:
        context.close()


def screenshot(page: Page, name: str, fallback: Path, *, full_page: bool = False) -> Path:
    """Save ``<name>.png`` in ``$PLUME_SCREENSHOTS`` (else under ``fallback``) and return its path."""
    folder = Path(os.environ.get(SCREENSHOTS_ENV) or fallback)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
