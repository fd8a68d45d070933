"""The UI shell in a real browser: each role logs in, sees its navigation, switches language, logs out."""
from __future__ import annotations

import pytest

from tests.e2e.conftest import login

# login -> navigation entries it must see / must not see (foundation entries only)
ROLE_NAV = {
    "admin": ({"admin.users", "audit.index"}, set()),
    "controller": ({"audit.index"}, {"admin.users"}),
    "manager": ({"audit.index"}, {"admin.users"}),
    "depthead": (set(), {"admin.users", "audit.index"}),
    "frontline": (set(), {"admin.users", "audit.index"}),
    "custrep": (set(), {"admin.users", "audit.index"}),
    "clerk": (set(), {"admin.users", "audit.index"}),
    "staff": (set(), {"admin.users", "audit.index"}),
}


@pytest.mark.parametrize("user", sorted(ROLE_NAV))
def test_each_role_logs_in_and_sees_its_navigation(demo_app, page, user):
    login(page, user)
    shown = set(page.eval_on_selector_all("[data-nav]", "els => els.map(e => e.dataset.nav)"))
    must, must_not = ROLE_NAV[user]
    assert must <= shown, (user, shown)
    assert not (must_not & shown), (user, shown)
    page.click("[data-testid=logout]")
    page.wait_for_url("**/login")
    assert page.locator("input[name=login]").is_visible()


def test_bad_password_shows_a_message(demo_app, page):
    page.goto(page.base_url + "/login")
    page.fill("input[name=login]", "clerk")
    page.fill("input[name=password]", "wrong-password")
    page.click("input[type=submit]")
    assert "登录名或密码错误" in page.inner_text(".flashes")


def test_switch_language_and_it_sticks(demo_app, page):
    login(page, "staff")
    assert page.inner_text("[data-testid=logout]") == "退出"
    page.click("[data-testid=lang-switch]")
    page.wait_for_load_state()
    assert page.inner_text("[data-testid=logout]") == "Log out"
    assert page.get_attribute("html", "lang") == "en"
    page.reload()
    assert page.inner_text("[data-testid=logout]") == "Log out"


def test_login_page_language_link(demo_app, page):
    page.goto(page.base_url + "/login")
    page.click("[data-testid=lang-switch]")
    assert "Log in to ProcDesk" in page.inner_text("h1")


def test_phone_menu_opens(demo_app, phone_page):
    page = phone_page
    login(page, "admin")
    nav = page.locator("nav.mainnav")
    assert not nav.is_visible()
    page.click("label.nav-toggle-label")
    assert nav.is_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # nothing forces sideways scrolling on a phone
