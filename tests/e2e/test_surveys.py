"""Owner surveys in a real browser: keyboard entry of paper forms, XLSX import, phone, no JavaScript."""
from __future__ import annotations

import io
import re

from openpyxl import Workbook
from playwright.sync_api import expect
from sqlalchemy import func, select

from tests.e2e.conftest import login
from webapp.extensions import db


def _open_campaign(page, code):
    page.goto(page.base_url + "/satisfaction/surveys/")
    page.click(f"tr:has-text('{code}') a")
    page.wait_for_url("**/satisfaction/surveys/*")


def _returned(app, code):
    from accounts.models import Project
    from satisfaction.surveys.models import SurveyCampaign, SurveyResponse

    with app.app_context():
        return db.session.execute(
            select(func.count()).select_from(SurveyResponse).join(SurveyCampaign).join(Project)
            .where(Project.code == code, SurveyResponse.voided_at.is_(None))).scalar()


def _type_form(page, digits: str, room: str = ""):
    """Type like a clerk: one digit per question (focus moves on by itself), room, Enter."""
    for d in digits:
        page.keyboard.type(d)
    if room:
        page.keyboard.type(room)
    page.keyboard.press("Enter")


def test_clerk_enters_three_paper_forms_by_keyboard(demo_app, page):
    login(page, "clerk")
    _open_campaign(page, "P-LJY")
    page.click("[data-testid=enter-forms]")
    page.wait_for_url("**/entry")
    assert page.inner_text("[data-testid=entry-count]").replace(" ", "") == "已录入1,000/发放1,130"
    assert page.inner_text("[data-stat=satisfaction_rate]") == "92.0%"
    page.evaluate("window.__still_the_same_page = true")
    assert page.evaluate("document.activeElement.name") == "overall"  # autofocus

    # The demo's scale is the procedure's: 4 非常满意, 3 满意 (both satisfied), 2 基本满意, 1 不满意.
    _type_form(page, "434343", "3-2-501")  # overall 4, five categories, then the room
    expect(page.locator("[data-stat=returned]").first).to_have_text("1,001")
    assert "已保存" in page.inner_text("[data-testid=entry-status]")
    assert page.evaluate("document.activeElement.name") == "overall"  # cleared, ready for the next form
    assert page.input_value("input[name=room]") == ""

    _type_form(page, "4")  # overall only; categories not answered
    expect(page.locator("[data-stat=returned]").first).to_have_text("1,002")
    _type_form(page, "211111", "9-9-909")
    expect(page.locator("[data-stat=returned]").first).to_have_text("1,003")

    assert page.inner_text("[data-testid=entry-count]").replace(" ", "") == "已录入1,003/发放1,130"
    assert page.inner_text("[data-stat=satisfaction_rate]") == "91.9%"  # 922 / 1003
    assert page.evaluate("window.__still_the_same_page") is True  # no reload
    assert "9-9-909" in page.inner_text("#recent-forms")
    assert _returned(demo_app, "P-LJY") == 1003

    # a digit off the scale is refused on the spot; a bad form is not saved
    page.keyboard.type("5")
    assert page.input_value("input[name=overall]") == ""
    assert "4/3/2/1" in page.inner_text("[data-error-for=overall]")
    page.keyboard.press("Enter")
    expect(page.locator("[data-error-for=overall]")).to_contain_text("总体评价必填")
    assert _returned(demo_app, "P-LJY") == 1003


def _xlsx(path, rows):
    wb = Workbook()
    ws = wb.active
    ws.append(["房号", "总体评价", "安全", "环境（保洁、绿化）", "维修", "客服", "其他", "意见建议"])
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    path.write_bytes(buf.getvalue())
    return str(path)


def test_clerk_imports_an_xlsx_and_sees_the_counts(demo_app, page, tmp_path):
    login(page, "clerk")
    _open_campaign(page, "P-JHC")
    page.click("[data-testid=import-forms]")
    page.wait_for_url("**/import")
    assert "已回收 690 份" in page.inner_text("[data-testid=import-counts]")

    bad = _xlsx(tmp_path / "bad.xlsx", [["1-101", 4, 4, 4, 4, 4, 4, ""], ["1-102", "很好", 3, 3, 3, 3, 3, ""]])
    page.set_input_files("input[type=file]", bad)
    page.click("[data-testid=import-submit]")
    page.wait_for_load_state()
    problems = page.inner_text("[data-testid=import-problems]")
    assert "第 3 行「总体评价」列：" in problems and "“很好”" in problems and "第 2 行" not in problems
    assert _returned(demo_app, "P-JHC") == 690  # nothing imported

    good = _xlsx(tmp_path / "good.xlsx", [["1-101", 4, 4, 4, 4, 4, 4, "很好"], ["1-102", "基本满意", 3, None, 2, 3, 3, ""],
                                          ["1-103", "不满意", 2, 2, 1, 3, None, "维修太慢"]])
    page.set_input_files("input[type=file]", good)
    page.click("[data-testid=import-submit]")
    page.wait_for_url(re.compile(r"/satisfaction/surveys/\d+$"))
    assert "已导入 3 份" in page.inner_text(".flashes")
    assert page.inner_text("[data-stat=returned]") == "693"
    assert _returned(demo_app, "P-JHC") == 693


def test_entry_screen_is_usable_on_a_phone(demo_app, phone_page):
    page = phone_page
    login(page, "clerk")
    _open_campaign(page, "P-LJY")
    page.click("[data-testid=enter-forms]")
    page.wait_for_url("**/entry")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    box = page.locator("input[name=overall]").bounding_box()
    assert box["height"] >= 44 and box["width"] >= 120  # a thumb-sized target
    assert page.get_attribute("input[name=overall]", "inputmode") == "numeric"
    page.tap("input[name=overall]")
    page.keyboard.type("44444")
    page.tap("[data-testid=save-form]")
    expect(page.locator("[data-stat=returned]").first).to_have_text("1,001")
    assert page.locator("[data-testid=save-form]").is_visible()


def test_entry_works_without_javascript(demo_app, browser, live_server):
    context = browser.new_context(java_script_enabled=False, locale="zh-CN")
    page = context.new_page()
    page.base_url = live_server.url
    try:
        login(page, "clerk")
        _open_campaign(page, "P-JHC")
        page.click("[data-testid=enter-forms]")
        page.wait_for_url("**/entry")
        page.fill("input[name=overall]", "4")
        page.fill("input[name=room]", "2-1-302")
        page.press("input[name=room]", "Enter")
        page.wait_for_load_state()
        assert "已保存" in page.inner_text(".flashes")
        assert page.inner_text("[data-stat=returned]") == "691"
        page.fill("input[name=overall]", "8")
        page.press("input[name=overall]", "Enter")
        page.wait_for_load_state()
        assert "4/3/2/1" in page.inner_text("[data-error-for=overall]")
        assert _returned(demo_app, "P-JHC") == 691
    finally:
        context.close()
