"""The satisfaction dashboard in a real browser: the charts render, on desktop and on a phone, with no
console errors (the page's CSP allows no inline script or style), and survive printing."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import login


def _watch(page) -> list[str]:
    """Console errors and warnings, and uncaught exceptions (the browser's own favicon request aside)."""
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(f"{msg.type}: {msg.text} {msg.location.get('url')}")
            if msg.type in ("error", "warning") and "favicon" not in msg.location.get("url", "") else None)
    page.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))
    return problems


def _rendered(page) -> None:
    root = page.locator("#dashboard")
    expect(root).to_have_attribute("data-rendered", "6")
    charts = page.locator("[data-chart]")
    assert charts.count() == 6
    for i in range(6):
        assert charts.nth(i).locator("canvas").count() >= 1, charts.nth(i).get_attribute("data-chart")


def test_charts_render_on_desktop_and_print(demo_app, page):
    problems = _watch(page)
    login(page, "manager")
    page.goto(page.base_url + "/satisfaction/dashboard")
    _rendered(page)
    assert "全公司合计" in page.inner_text("[data-table=projects] tfoot")
    assert "P-YSW" in page.inner_text("[data-table=projects]")
    # a tooltip on hover (drawn by ECharts itself: no inline styles for the CSP to refuse)
    box = page.locator("[data-chart=projects]").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_timeout(300)
    # drill down: company → project
    page.click("[data-table=projects] a:has-text('金禾城')")
    page.wait_for_url("**project=P-JHC**")
    _rendered(page)
    assert "金禾城" in page.inner_text("[data-testid=dashboard-scope]")
    page.emulate_media(media="print")
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    page.wait_for_timeout(200)
    width = page.evaluate("document.querySelector('[data-chart=trend] canvas').getBoundingClientRect().width")
    assert 0 < width <= page.evaluate("document.documentElement.clientWidth")
    assert problems == []


def test_charts_fit_a_phone(demo_app, phone_page):
    page = phone_page
    problems = _watch(page)
    login(page, "clerk")
    page.goto(page.base_url + "/satisfaction/dashboard")
    _rendered(page)
    assert "全公司合计" not in page.inner_text("main")
    assert "P-YSW" not in page.inner_text("[data-table=projects]")
    viewport = page.evaluate("document.documentElement.clientWidth")
    rights = page.evaluate("[...document.querySelectorAll('[data-chart]')].map(e => e.getBoundingClientRect().right)")
    assert len(rights) == 6 and max(rights) <= viewport + 1
    # the page itself does not scroll sideways (wide tables scroll in their own box)
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport + 1
    assert problems == []
