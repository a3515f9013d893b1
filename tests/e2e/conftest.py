"""Headless Debian Chromium driven by Playwright for Python."""

import shutil
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
            ],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-GB")
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    pg.base = live_server.url
    errors = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    # 422 is how a page answers a form with errors: expected, not a browser fault
    pg.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and "status of 422" not in msg.text
            else None
        ),
    )
    yield pg
    context.close()
    if any(e.startswith("htmx:sendAbort") for e in errors):
        # a live preview still in flight when the user saved or left the page: the browser
        # aborts it (htmx logs the abort and its failed afterRequest) — not a fault
        errors = [e for e in errors if not e.startswith(("htmx:sendAbort", "htmx:afterRequest"))]
    assert errors == [], f"browser errors: {errors}"


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def login(page, username: str, password: str) -> None:
    page.goto(page.base + "/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
