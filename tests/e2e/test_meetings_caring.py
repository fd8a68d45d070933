"""In a real browser: record a meeting with an issue and turn it into a suggestion; enter a caring
service on a phone and see the month's count go up."""
from __future__ import annotations

import re

from tests.e2e.conftest import login


def test_record_a_meeting_and_turn_an_issue_into_a_suggestion(demo_app, page):
    login(page, "clerk")
    page.goto(page.base_url + "/satisfaction/meetings/")
    page.click("[data-testid=meeting-new]")
    page.select_option("#project_id", label="翠湖丽景苑")
    assert page.input_value("#title") == "业主委员会座谈会"  # prefilled, editable
    page.fill("#title", "十二月业委会座谈会")
    page.fill("#attendees", "张建国（业委会主任）\n李秀英（委员）")
    page.fill("#minutes", "## 议题\n- 快递柜位置\n- 夜间巡逻")
    page.fill("#issues-0-description", "希望在 2 号门增设快递柜")
    page.select_option("#issues-0-category", label="其他")
    page.click("[data-testid=meeting-save]")
    page.wait_for_url(re.compile(r"/satisfaction/meetings/\d+$"))
    assert "会议记录已保存" in page.inner_text(".flashes")
    assert page.locator("[data-testid=minutes] h2").inner_text() == "议题"
    issue = page.locator("[data-testid=issue-1]")
    assert "尚未跟进" in issue.inner_text()
    issue.locator("[data-testid=to-suggestion]").click()
    page.wait_for_load_state()
    flash = page.inner_text(".flashes")
    number = re.search(r"JY-P-LJY-\d{4}-\d{4}", flash).group(0)
    issue = page.locator("[data-testid=issue-1]")
    entry = issue.locator("[data-testid=issue-entry]")
    assert number in entry.inner_text() and "建议" in entry.inner_text()
    assert issue.locator("[data-testid=issue-entry-status]").inner_text().strip()
    assert issue.locator("[data-testid=to-suggestion]").count() == 0  # cannot be registered twice
    # the link leads to the register entry, which names the meeting
    entry.locator("a").click()
    page.wait_for_load_state()
    assert number in page.content() and "十二月业委会座谈会" in page.content()


def test_enter_a_caring_service_on_a_phone_and_see_the_monthly_count(demo_app, phone_page):
    page = phone_page
    login(page, "clerk")
    page.goto(page.base_url + "/satisfaction/caring/new")
    counter = page.locator("[data-testid=count-P-LJY]")
    before = int(counter.inner_text()) if counter.count() else 0
    page.select_option("#project_id", label="翠湖丽景苑")
    page.fill("#household", "6栋1单元1202")
    page.fill("#service", "代收快递")
    page.fill("#minutes", "20")
    page.fill("#owner_comment", "谢谢小刘")
    save = page.locator("[data-testid=caring-save]")
    box = save.bounding_box()
    assert box["width"] > 300  # full-width button on a phone
    save.click()
    page.wait_for_url(re.compile(r"/satisfaction/caring/new\?"))
    assert "亲情服务已保存" in page.inner_text(".flashes")
    assert page.input_value("#household") == ""  # ready for the next one, project kept
    assert page.locator("#project_id option:checked").inner_text() == "翠湖丽景苑"
    assert int(page.locator("[data-testid=count-P-LJY]").inner_text()) == before + 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    # bad input stays on the page with a message and saves nothing
    page.fill("#household", "6栋1单元1202")
    page.fill("#service", "上门维修小件")
    page.fill("#minutes", "2000")
    page.click("[data-testid=caring-save]")
    page.wait_for_load_state()
    assert page.locator(".has-error #minutes").count() == 1
    page.goto(page.base_url + "/satisfaction/caring/monthly")
    assert page.locator("[data-testid=caring-by-project] tr[data-key=P-LJY] td.total b").count() == 1
