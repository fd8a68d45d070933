"""Browser tests: a real server on a free loopback port, Debian's Chromium driven by Playwright.

Each test gets its own app, database and git store (from the main conftest; with the demo data
they start as a copy of one loaded once per worker), served by a WSGI server in a thread. The
browser is started once per session; each test gets a fresh browser context.
"""
from __future__ import annotations

import os
import threading

import pytest
from werkzeug.serving import make_server

from tests.conftest import app_on_copy, close_app, copy_demo, make_app

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: `apt-get install chromium` (make test does this)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


class LiveServer:
    def __init__(self, app):
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture
def live_server(app):
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def app(request, tmp_path, database_url, schema_template):
    """The test's own app, database and git store; for a test that asks for ``demo_app``, they start as a
    copy of the demo data (loaded once per worker: ``demo_template`` in tests/conftest.py)."""
    if "demo_app" in request.fixturenames and copy_demo(request.getfixturevalue("demo_template"), tmp_path):
        app = make_app(tmp_path, database_url)
    else:
        app = app_on_copy(tmp_path, database_url, schema_template)
    yield app
    close_app(app)


@pytest.fixture
def demo_app(app, demo_template):
    """The test app with the demo data (users with password procdesk-demo): copied, or loaded here on PostgreSQL."""
    if demo_template is None:
        result = app.test_cli_runner().invoke(args=["demo", "load"])
        assert result.exit_code == 0, result.output
    return app


@pytest.fixture
def new_page(browser, live_server):
    """Make a page of the live server in its own browser context, closed after the test:
    ``new_page(width, height, phone=False, **context_options)`` (``phone``: a touch device)."""
    contexts = []

    def make(width: int = 1280, height: int = 900, *, phone: bool = False, **options):
        context = browser.new_context(viewport={"width": width, "height": height}, is_mobile=phone, has_touch=phone,
                                      locale="zh-CN", **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        made = context.new_page()
        made.base_url = live_server.url
        return made

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def phone_page(new_page):
    return new_page(390, 844, phone=True)


def login(page, login, password="procdesk-demo"):
    """Log in through the real form."""
    page.goto(page.base_url + "/login")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", password)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
