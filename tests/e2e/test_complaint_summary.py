"""The monthly complaint summary fits the screen: on a 1366 px desktop and a 390 px phone the four rates are
visible without scrolling sideways, nothing is wider than the window, no console errors; the print view
is the company form on one A4 landscape sheet."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from accounts.models import Project
from tests.e2e.conftest import login
from webapp.dates import local_today
from webapp.extensions import db

RATES = ["on_time_response_rate", "on_time_resolution_rate", "follow_up_rate", "handling_satisfaction_rate"]
SIZES = [pytest.param((1366, 768), False, id="desktop-1366"), pytest.param((390, 844), True, id="phone-390")]


def _last_month() -> str:
    return (local_today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")


def _watch_console(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(f"{msg.text} {msg.location.get('url')}") if msg.type == "error"
            else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def _assert_fits(page, width: int) -> None:
    """Nothing wider than the window, no table scrolling inside its box."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    overflowing = page.eval_on_selector_all(
        ".table-wrap", "els => els.filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.innerHTML.slice(0, 80))")
    assert overflowing == []


def _assert_in_view(page, selector: str, width: int) -> int:
    boxes = [el.bounding_box() for el in page.locator(selector).all()]
    assert boxes and all(b is not None and b["width"] > 0 for b in boxes), selector
    assert all(b["x"] >= 0 and b["x"] + b["width"] <= width for b in boxes), (selector, boxes)
    return len(boxes)


@pytest.mark.parametrize(("size", "mobile"), SIZES)
def test_the_four_rates_are_visible_without_scrolling_sideways(demo_app, new_page, size, mobile):
    width, height = size
    page = new_page(width, height, phone=mobile)
    login(page, "manager")  # sees all three demo projects
    errors = _watch_console(page)
    page.goto(f"{page.base_url}/satisfaction/complaints/summary?month={_last_month()}")
    # The headline rates: four cards, each wholly inside the window, before any table.
    cards = page.locator("[data-testid=rate-card]")
    assert [cards.nth(i).get_attribute("data-rate") for i in range(4)] == RATES
    assert _assert_in_view(page, "[data-testid=rate-card]", width) == 4
    for i in range(4):
        assert cards.nth(i).is_visible() and re.search(r"\d%|—", cards.nth(i).inner_text())
    assert page.locator("[data-testid=rate-card]").first.bounding_box()["y"] < page.locator(
        "[data-testid=summary-table]").bounding_box()["y"]
    # Per project: every rate cell inside the window (a table on a desktop, a card per project on a phone).
    assert _assert_in_view(page, "[data-testid=rates-table] tbody [data-rate]", width) == 3 * 4
    _assert_fits(page, width)
    lines = page.locator("[data-testid=follow-up-lines] tbody tr[data-number]")
    assert lines.count() >= 3
    _assert_in_view(page, "[data-testid=follow-up-lines] tbody tr[data-number] td", width)
    if mobile:
        row = page.locator("[data-testid=summary-table] tbody tr").first
        assert row.evaluate("tr => getComputedStyle(tr).display") == "grid"
    # One project: its rate cards, its lines, and the month's entries, still within the window.
    with demo_app.app_context():
        pid = db.session.execute(select(Project.id).where(Project.code == "P-LJY")).scalar_one()
    page.select_option("[data-testid=summary-filters] select[name=project]", str(pid))
    page.wait_for_url(f"**project={pid}**")
    assert _assert_in_view(page, "[data-testid=rate-card]", width) == 4
    assert page.locator("[data-testid=rates-table]").count() == 0
    _assert_fits(page, width)
    assert errors == []


def test_print_view_is_one_a4_landscape_sheet(demo_app, page):
    login(page, "manager")
    errors = _watch_console(page)
    with demo_app.app_context():
        pid = db.session.execute(select(Project.id).where(Project.code == "P-LJY")).scalar_one()
    page.goto(f"{page.base_url}/satisfaction/complaints/summary/print?month={_last_month()}&project={pid}")
    assert page.locator("[data-testid=follow-up-lines] tbody tr[data-number]").count() >= 1
    # A4 landscape less 12 mm margins each side: 273 mm ≈ 1032 CSS px. The form table must fit that width.
    page.set_viewport_size({"width": 1032, "height": 700})
    page.emulate_media(media="print")
    assert page.locator(".c-print-bar").is_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1032
    table = page.locator("[data-testid=summary-table]").bounding_box()
    assert table["x"] >= 0 and table["x"] + table["width"] <= 1032
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
    assert errors == []
