"""In a real browser, on a phone (390 px) and a desktop (1366 px): form controls of every type have one
height (the contact-phone box is no longer collapsed), a checkbox sits on the line of its clickable
label, lists of several choices are searchable (type to filter, pick two, save), and a refused
submit puts the focus on the first field in error, its summary's links on theirs."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from accounts.models import User
from tests.e2e.conftest import login
from webapp.extensions import db

VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 768}}


@pytest.fixture(params=sorted(VIEWPORTS))
def screen(request, new_page):
    size = VIEWPORTS[request.param]
    page = new_page(size["width"], size["height"], phone=request.param == "phone")
    page.errors = []
    # A refused submit is a 400 page: the browser logs it, it is no script error.
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" and "status of 400" not in m.text
            else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    return page


def _height(page, selector):
    return page.locator(selector).first.bounding_box()["height"]


def _no_sideways_scrolling(page):
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1")


def test_controls_of_every_type_have_one_height(demo_app, screen):
    page = screen
    login(page, "clerk")
    page.goto(page.base_url + "/satisfaction/complaints/new")
    heights = {sel: _height(page, sel) for sel in ("#contact_phone", "#contact_name", "#received_at", "#channel",
                                                   "#building")}
    assert page.get_attribute("#contact_phone", "type") == "tel"
    assert heights["#contact_phone"] >= 44, heights  # was 21 px: type=tel had no style
    assert max(heights.values()) - min(heights.values()) <= 1, heights
    _no_sideways_scrolling(page)
    # The month picker of the register's filters matches the selects beside it.
    page.goto(page.base_url + "/satisfaction/complaints/")
    month = page.locator("input[type=month]").first
    assert abs(month.bounding_box()["height"] - _height(page, "form select")) <= 1
    assert not page.errors, page.errors


def test_a_checkbox_sits_beside_its_clickable_label(demo_app, screen):
    page = screen
    login(page, "admin")
    page.goto(page.base_url + "/admin/users/new")
    box, label = page.locator("#active").bounding_box(), page.locator("label[for=active]").bounding_box()
    assert abs((box["y"] + box["height"] / 2) - (label["y"] + label["height"] / 2)) <= 4  # one line
    assert 0 <= label["x"] - (box["x"] + box["width"]) <= 16  # right beside it
    assert label["height"] >= 44  # the label is the tap target
    checked = page.is_checked("#active")
    page.click("label[for=active]")
    assert page.is_checked("#active") != checked
    # In a filter bar too: the box and its text on one line.
    page.context.clear_cookies()
    login(page, "manager")
    page.goto(page.base_url + "/actions/")
    mine = page.locator("[data-testid=filter-mine]")
    holder = page.locator("label:has([data-testid=filter-mine])").bounding_box()
    assert holder["height"] <= 60 and mine.bounding_box()["width"] < 30  # not stretched above its text
    assert not page.errors, page.errors


def test_multiselect_is_searchable_and_saves_two_choices(demo_app, screen):
    page = screen
    login(page, "admin")
    page.goto(page.base_url + "/admin/users/new")
    wrapper = page.locator(".field:has(#roles) .ts-wrapper")
    wrapper.wait_for()
    assert page.locator("#roles-hint").is_hidden()  # the Ctrl hint is for the plain list only
    page.fill("#login", "sun")
    page.fill("#display_name", "维修工 孙涛")
    page.fill("#password", "a-long-enough-password")
    control = page.locator("#roles-ts-control")
    control.click()
    control.fill("客服")  # the clerk's role, 客服专员
    options = page.locator("#roles-ts-dropdown .option")
    expect(options).to_have_count(1)
    assert "客服" in options.first.inner_text()
    options.first.click()
    control.fill("员工")
    expect(options).to_have_count(1)
    options.first.click()
    control.fill("没有这个角色")
    expect(page.locator("#roles-ts-dropdown .no-results")).to_have_text("没有匹配的选项")
    control.fill("")
    assert wrapper.locator(".item").count() == 2
    _no_sideways_scrolling(page)
    page.keyboard.press("Escape")
    page.click("#submit")
    page.wait_for_url(re.compile(r"/admin/users$"))
    with demo_app.app_context():
        user = db.session.execute(select(User).where(User.login == "sun")).scalar_one()
        assert sorted(r.code for r in user.roles) == ["clerk", "reader"]
    assert not page.errors, page.errors


def test_a_refused_submit_lands_on_the_first_error(demo_app, screen):
    page = screen
    login(page, "admin")
    page.goto(page.base_url + "/admin/users/new")
    page.fill("#display_name", "新同事")
    page.fill("#email", "no-address")
    page.click("#submit")
    page.wait_for_load_state()
    summary = page.locator("[data-testid=error-summary]")
    assert summary.is_visible() and summary.locator("li").count() == 3  # login, e-mail, password
    assert page.evaluate("document.activeElement.id") == "login"
    assert page.input_value("#display_name") == "新同事" and page.input_value("#email") == "no-address"
    summary.locator("a[data-error-for=email]").click()
    assert page.evaluate("document.activeElement.id") == "email"
    # The first field in error is a multi-select: the focus is in its search box.
    page.context.clear_cookies()
    login(page, "controller")
    page.goto(page.base_url + "/reviews/new")
    page.locator(".field:has(#codes) .ts-wrapper").wait_for()
    page.click("form[data-testid=open-form] [type=submit]")
    page.wait_for_load_state()
    page.locator(".field:has(#codes) .ts-wrapper").wait_for()
    expect(page.locator("#codes-ts-control")).to_be_focused()
    assert page.locator("#codes-ts-control").get_attribute("aria-invalid") == "true"
    assert not page.errors, page.errors
