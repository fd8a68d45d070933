"""Reading procedures in a real browser, desktop and phone: list → read; history → compare → print."""
from __future__ import annotations

import pytest

from tests.e2e.conftest import login


def _no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def _console_errors(page) -> list[str]:
    """The console errors of ``page`` from now on (filled as they happen)."""
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return errors


@pytest.mark.parametrize("device", ["page", "phone_page"])
def test_list_and_read(demo_app, request, device):
    """The steps whose layout differs by device: the list, and the reading page with its contents."""
    page = request.getfixturevalue(device)
    phone = device == "phone_page"
    login(page, "clerk")
    errors = _console_errors(page)

    # list
    page.goto(page.base_url + "/procedures/")
    rows = page.locator("[data-testid=procedure-list] tbody tr")
    assert rows.count() == 3
    assert _no_horizontal_scroll(page)
    page.click("[data-code=QP-CS-001] a >> nth=0")

    # read: header, rendered body, table of contents
    page.wait_for_url("**/procedures/QP-CS-001")
    assert page.inner_text("[data-testid=procedure-version]") == "A/2"
    assert page.inner_text("[data-testid=procedure-effective]") == "2026-06-01"
    assert "陈志远" in page.inner_text("[data-testid=procedure-approver]")
    assert page.locator("[data-testid=procedure-body] h2").count() >= 4
    toc = page.locator("details[data-toc]")
    assert toc.get_attribute("open") is None if phone else toc.get_attribute("open") is not None
    if phone:
        page.click("details[data-toc] summary")
    page.click("details[data-toc] a >> nth=1")
    assert "#sec-" in page.url
    assert _no_horizontal_scroll(page)
    assert not errors, errors


def _history_compare_print(page) -> None:
    login(page, "clerk")
    errors = _console_errors(page)
    page.goto(page.base_url + "/procedures/QP-CS-001")

    # history: three versions, the approver, compare with the previous one
    page.click("[data-testid=history-link]")
    page.wait_for_url("**/history")
    assert page.locator("[data-testid=history-table] tbody tr").count() == 3
    assert "陈志远" in page.inner_text("[data-testid=history-table]")
    page.click("[data-testid=compare-previous] >> nth=0")
    page.wait_for_url("**/compare?from=A-1&to=A-2")

    # compare: the document redline (headings, paragraphs, table cells) with Chinese phrase-level
    # changes, folded unchanged runs that open
    assert page.locator("[data-testid=redline] ins.rl-ins").count() > 0
    assert page.locator("[data-testid=redline] del.rl-del").count() > 0
    assert "###" not in page.inner_text("[data-testid=redline]")
    toggle = page.locator("#redline .rl-skip-toggle").first
    hidden_before = page.locator("#redline .rl-skip:not(.open) > .rl-block").first
    assert not hidden_before.is_visible()
    toggle.click()
    assert page.locator("#redline .rl-skip.open > .rl-block").first.is_visible()
    assert _no_horizontal_scroll(page)
    page.select_option("select[name=from]", "A-0")  # auto-submits
    page.wait_for_url("**/compare?from=A-0&to=A-2")
    assert "A/0 → A/2" in page.inner_text("h1")

    # print: controlled copy with header/footer stylesheet; the toolbar is not printed
    page.goto(page.base_url + "/procedures/QP-CS-001/print")
    assert "受控文件" in page.inner_text("[data-testid=copy-mark]")
    assert page.locator("[data-testid=page-css]").get_attribute("href") == "/procedures/QP-CS-001/print.css"
    page.emulate_media(media="print")
    assert not page.locator(".print-toolbar").is_visible()
    assert page.locator("[data-testid=print-frame]").is_visible()
    page.emulate_media(media="screen")
    assert not errors, errors


def test_history_compare_and_print(demo_app, page, phone_page):
    """History → compare → print on desktop, then on a phone: one browser test (each costs seconds)."""
    for device in (page, phone_page):
        _history_compare_print(device)


def test_search_highlights_chinese(demo_app, page):
    login(page, "staff")
    page.goto(page.base_url + "/procedures/")
    page.fill("[data-testid=list-search] input[name=q]", "满意率")
    page.press("[data-testid=list-search] input[name=q]", "Enter")
    page.wait_for_url("**/procedures/search?q=*")
    assert page.locator("[data-testid=search-results] mark").first.inner_text() == "满意率"
    assert "QP-CS-001" in page.inner_text("[data-testid=search-results]")
