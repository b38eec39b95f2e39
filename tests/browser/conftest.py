"""Debian Chromium driven by Playwright against pytest-django's live server.

Skips with a reason when Chromium is not installed. A failing test leaves a screenshot
in test-artifacts/ (CI keeps that folder).

While Playwright's sync API is running, an asyncio loop is marked as running in this
thread, and Django's ORM refuses to work ("You cannot call this from an async
context") unless DJANGO_ALLOW_ASYNC_UNSAFE is set. Both are kept to the browser tests:
Chromium is started per test module and the variable is set only while it runs, so
the rest of the suite (and the subprocesses it starts, e.g. `check --deploy`, which
rejects that variable) keeps Django's async-safety checks.
"""

import re
import shutil
from pathlib import Path

import pytest

from tests.browser.settling import HTMX_BUSY_SCRIPT
from tests.factories import PASSWORD

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DESKTOP = {"width": 1280, "height": 800}


def _chromium_path() -> str | None:
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    # Lets the page fixture see at teardown whether the test failed.
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="module")
def browser():
    """Debian Chromium, headless, shared by the tests of one module (see the module docstring for why not all)."""
    executable = _chromium_path()
    if executable is None:
        pytest.skip("Chromium is not installed (no /usr/bin/chromium or chromium on PATH)")
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        playwright = sync_playwright().start()
        try:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
        finally:
            playwright.stop()


@pytest.fixture
def page(browser, live_server, request):
    """A fresh browser context per test, at desktop size, with relative URLs going to the live server."""
    context = browser.new_context(viewport=DESKTOP, base_url=live_server.url)
    context.add_init_script(HTMX_BUSY_SCRIPT)  # see tests/browser/settling.py
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    report = getattr(request.node, "rep_call", None) or getattr(request.node, "rep_setup", None)
    if report is not None and report.failed:
        artifacts = request.config.rootpath / "test-artifacts"
        artifacts.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
        page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
    context.close()


@pytest.fixture
def log_in(page, live_server):
    """log_in(user): sign in through the login form, as a person would, and land on the home page."""

    def _log_in(user, password: str = PASSWORD):
        page.goto("/login/")
        page.fill("input[name=username]", user.email)
        page.fill("input[name=password]", password)
        with page.expect_navigation():
            page.click("button[type=submit]")
        return page

    return _log_in
