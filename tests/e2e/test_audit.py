"""The audit log in a browser, on a 1366 px desktop and a 390 px phone: a table at desk width, a list of
cards on the phone, nothing wider than the window; filter it by person and action, open a change and
read its before/after (changed fields marked), and come back to the same filtered list."""
from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import login

SIZES = [pytest.param((1366, 768), False, id="desktop-1366"), pytest.param((390, 844), True, id="phone-390")]


def _fits(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def _inside(page, selector: str, width: int) -> None:
    boxes = [el.bounding_box() for el in page.locator(selector).all() if el.is_visible()]
    assert boxes, selector
    assert all(b["x"] >= -0.5 and b["x"] + b["width"] <= width + 0.5 for b in boxes), (selector, boxes[:3])


@pytest.mark.parametrize(("size", "mobile"), SIZES)
def test_filter_the_log_and_open_a_change(demo_app, new_page, size, mobile):
    width, height = size
    page = new_page(width, height, phone=mobile)
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, "manager")
    page.goto(page.base_url + "/audit/")
    rows = page.locator("[data-testid=audit-entry]")
    assert rows.count() == 50 and int(page.get_attribute("[data-testid=audit-total]", "data-total")) > 50
    # a table at desk width, a card per entry on the phone; either way inside the window
    display = rows.first.evaluate("tr => getComputedStyle(tr).display")
    assert display == ("block" if mobile else "table-row")
    _fits(page, width)
    _inside(page, "[data-testid=audit-entry] [data-testid=action-label]", width)
    _inside(page, "[data-testid=audit-open]", width)
    if mobile:
        assert page.locator(".a-log thead").evaluate("t => getComputedStyle(t).display") == "none"
        assert rows.first.bounding_box()["width"] <= width

    # filter: one person, one family of actions
    page.select_option("[data-testid=filter-actor]", "clerk")
    page.select_option("[data-testid=filter-action]", "complaint.")
    page.click("[data-testid=filter-submit]")
    page.wait_for_url(lambda url: "action=complaint." in url and "actor_login=clerk" in url)
    actions = page.eval_on_selector_all("[data-testid=audit-entry] [data-testid=action-label]",
                                        "els => els.map(e => [e.dataset.action, e.textContent.trim()])")
    assert actions and all(code.startswith("complaint.") and text and text != code for code, text in actions)
    assert page.locator("[data-testid=filter-action]").input_value() == "complaint."
    _fits(page, width)

    # open a change with a before and an after: a follow-up
    page.select_option("[data-testid=filter-action]", "complaint.follow_up")
    page.click("[data-testid=filter-submit]")
    page.wait_for_url(lambda url: "action=complaint.follow_up" in url)
    page.locator("[data-testid=audit-open]").first.click()
    page.wait_for_url(lambda url: "/audit/" in url and "action=complaint.follow_up" in url and "?" in url)
    diff = page.locator("[data-testid=audit-diff]")
    assert diff.is_visible()
    changed = page.locator("[data-testid=audit-field][data-kind=changed]")
    assert changed.count() >= 2
    status = page.locator("[data-testid=audit-field][data-field=status]")
    assert status.get_attribute("data-kind") == "changed"
    after = status.locator(".a-after")
    assert after.evaluate("td => getComputedStyle(td).backgroundColor") not in ("rgba(0, 0, 0, 0)", "")
    feedback = page.locator("[data-testid=audit-field][data-field=feedback_given] .a-after")
    assert re.search(r"[\u4e00-\u9fff]", feedback.inner_text())  # Chinese text, as written
    assert "\\u" not in page.content()
    assert page.locator("[data-testid=seal-content]").get_attribute("data-ok") == "yes"
    assert len(page.locator("[data-testid=audit-hash]").inner_text().strip()) == 64
    _fits(page, width)
    _inside(page, "[data-testid=audit-field] th, [data-testid=audit-field] td", width)
    if mobile:  # before and after stacked, each labelled
        assert status.evaluate("tr => getComputedStyle(tr).display") == "block"

    # back to the same filtered list
    page.click("[data-testid=audit-back]")
    page.wait_for_url(lambda url: "action=complaint.follow_up" in url and "actor_login=clerk" in url)
    assert page.locator("[data-testid=audit-entry]").count() >= 1
    assert errors == []
