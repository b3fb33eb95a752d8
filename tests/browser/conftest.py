"""Playwright against pytest-django's ``live_server``, with the Debian Chromium.

Playwright never downloads a browser here: it drives ``/usr/bin/chromium``. Without it the
browser tests are skipped on a developer machine and fail under CI (CI=true).
"""

import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
IN_CI = os.environ.get("CI", "").lower() == "true"
# The README's screenshots are refreshed on request (``make screenshots``), so that a test
# run leaves the checkout as it found it; otherwise they go to pytest's temporary folder.
SCREENSHOTS_DIR = os.environ.get("SCREENSHOTS_DIR", "")
PASSWORD = "pw-123456!"


def _unavailable(reason: str):
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: browser tests must run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright Python package is not installed")
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        _unavailable(f"{CHROMIUM} is missing: apt-get install chromium")
    # Sync Playwright leaves an asyncio loop marked running in this thread, so Django's
    # async-safety check would refuse the tests' own ORM calls (the live server runs in its
    # own thread and is unaffected).
    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
            yield browser
            browser.close()
    finally:
        if before is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


@pytest.fixture
def plain_http_cookies(settings):
    # The test server speaks plain HTTP; production cookies are Secure (DEBUG off).
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False


@pytest.fixture
def new_page(browser, live_server, plain_http_cookies):
    """``new_page(width=1280)``: a fresh browser context (own cookies) and page."""
    contexts = []

    def make(width=1280, height=900):
        context = browser.new_context(
            viewport={"width": width, "height": height},
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
            base_url=live_server.url,
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def log_in(page, username, password=PASSWORD, next_url="/"):
    """Log in through the real login form."""
    page.goto(f"/accounts/login/?next={next_url}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{next_url}")


@pytest.fixture
def screenshot(tmp_path):
    """``screenshot(page, name, full_page=True)``: save the page as ``name``.png."""
    folder = Path(SCREENSHOTS_DIR) if SCREENSHOTS_DIR else tmp_path

    def save(page, name: str, *, full_page: bool = True) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return save
