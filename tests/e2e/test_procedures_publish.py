"""Publishing in a real browser: live preview → a colleague publishes first → conflict page keeps the
text → merge and resubmit → history and compare → a CS staff member reads and confirms → the report.
The editor's form mode: a refused submit lands on the field in error, switching to the source text keeps
the edits, a later effective date makes the version upcoming; on a phone the editor stacks."""
from __future__ import annotations

import re
from datetime import timedelta

from tests.e2e.conftest import login
from webapp.dates import local_today

CODE = "QP-CS-001"
MINE = "4.9 项目每季度向业委会通报一次满意度调查结果。"
THEIRS_OLD = "汇总、统计全公司满意率"
THEIRS_NEW = "汇总、统计全公司顾客满意率"


def _textarea(page):
    return page.locator("textarea[name=markdown]")


def _body(page):
    """The Markdown body of the form mode (the front matter has its own fields)."""
    return page.locator("textarea[name=body]")


def _approve_by_manager(page):
    page.select_option("select[name=approved_by]", "manager")


def _no_sideways_scroll(page):
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_publish_conflict_merge_read_and_report(demo_app, page, browser, live_server):
    login(page, "controller")
    errors = []

    def console(msg):
        # The conflict page is answered with 409 on purpose; any other console error is a bug.
        if msg.type == "error" and "status of 409" not in msg.text:
            errors.append(msg.text)

    page.on("console", console)

    # 1. I open the editor (the form mode: details as fields, the body beside the preview); the live
    # preview follows my typing.
    page.goto(page.base_url + f"/procedures/{CODE}/edit")
    assert "A/3" in page.inner_text("[data-testid=version-note]")
    assert page.input_value("input[name=effective]") == local_today().isoformat()  # today by default
    original = _body(page).input_value()
    mine = original.rstrip("\n") + "\n\n" + MINE + "\n"
    _body(page).fill(mine)
    page.locator("[data-testid=preview]").get_by_text("每季度向业委会通报").wait_for()
    page.fill("textarea[name=summary]", "增加季度通报业委会的要求")
    _approve_by_manager(page)

    # 2. Meanwhile a colleague (another tab, who prefers the source text) publishes a change of their own.
    other = page.context.new_page()
    other.goto(page.base_url + f"/procedures/{CODE}/edit?mode=source")
    theirs = _textarea(other).input_value().replace(THEIRS_OLD, THEIRS_NEW, 1)
    _textarea(other).fill(theirs)
    other.fill("textarea[name=summary]", "统一术语为“顾客满意率”")
    _approve_by_manager(other)
    other.click("[data-testid=publish]")
    other.wait_for_url(f"**/procedures/{CODE}")
    other.close()

    # 3. My publish meets the conflict page: both changes, and my text kept for merging.
    page.click("[data-testid=publish]")
    page.locator("[data-testid=conflict-message]").wait_for()
    assert "统一术语为“顾客满意率”" in page.inner_text("[data-testid=theirs-summary]")
    assert page.locator("[data-testid=theirs-redline] ins.rl-ins").count() > 0
    assert "每季度向业委会通报" in page.inner_text("[data-testid=yours-redline] ins.rl-ins >> nth=-1")
    kept = _textarea(page).input_value()
    assert MINE in kept and THEIRS_NEW not in kept  # my text, not theirs (yet)
    assert page.input_value("textarea[name=summary]") == "增加季度通报业委会的要求"

    # 4. Merge (take their wording too) and publish again on the new base.
    _textarea(page).fill(kept.replace(THEIRS_OLD, THEIRS_NEW, 1))
    page.click("[data-testid=publish]")
    page.wait_for_url(f"**/procedures/{CODE}")
    assert page.inner_text("[data-testid=procedure-version]") == "A/4"

    # 5. The history shows both versions; compare shows my clause as inserted.
    page.goto(page.base_url + f"/procedures/{CODE}/history")
    history = page.inner_text("[data-testid=history-table]")
    assert "增加季度通报业委会的要求" in history and "统一术语为“顾客满意率”" in history
    assert page.locator("[data-testid=history-table] tbody tr").count() == 5
    page.click("[data-testid=compare-previous] >> nth=0")
    page.wait_for_url("**/compare?from=A-3&to=A-4")
    assert "每季度向业委会通报" in page.inner_text("[data-testid=redline]")

    # 6. A CS staff member finds it in "to read", reads the changes and confirms.
    staff_context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                        locale="zh-CN")
    staff = staff_context.new_page()
    staff.base_url = live_server.url
    login(staff, "clerk")
    staff.goto(staff.base_url + "/acknowledgements/")
    item = staff.locator(f"[data-testid=to-read-item][data-code={CODE}]")
    assert "A/4" in item.inner_text()
    assert "每季度向业委会通报" in item.inner_text()  # first reading: the whole text
    item.locator("[data-testid=confirm]").click()
    staff.locator(".flash-success").wait_for()
    assert staff.locator(f"[data-testid=to-read-item][data-code={CODE}]").count() == 0
    staff_context.close()

    # 7. The controller's report shows the completion for the department.
    page.goto(page.base_url + "/acknowledgements/report?department=CS")
    row = page.locator(f"tr[data-code={CODE}][data-department=CS]")
    assert row.locator("[data-testid=completion]").inner_text() == "1/3"
    assert "客服文员 刘芳" not in row.inner_text() and "前台客服 李强" in row.inner_text()
    assert not errors, errors


def test_form_mode_refused_submit_switch_and_a_later_date(demo_app, page):
    login(page, "controller")
    errors = []
    page.on("console", lambda msg: msg.type == "error" and "status of 4" not in msg.text and errors.append(msg.text))
    page.goto(page.base_url + f"/procedures/{CODE}")
    in_force = page.inner_text("[data-testid=procedure-version]")
    page.goto(page.base_url + f"/procedures/{CODE}/edit")
    assert page.locator("[data-testid=front-fields]").is_visible()
    new_version = re.search(r"[A-Z]/\d+", page.inner_text("[data-next=revision]")).group(0)
    # Nobody approves their own version: the controller is not among the approvers.
    assert page.locator("select[name=approved_by] option[value=controller]").count() == 0

    # 1. A refused submit: the banner at the top, the focus on the first field in error (the title).
    page.fill("input[name=title]", "")
    page.fill("textarea[name=summary]", "修改标题和生效日期")
    page.click("[data-testid=publish]")
    banner = page.locator("[data-testid=form-errors]")
    banner.wait_for()
    assert banner.get_attribute("role") == "alert"
    assert page.evaluate("document.activeElement.name") == "title"
    assert page.locator("input[name=title]").get_attribute("aria-invalid") == "true"
    assert page.locator("select[name=approved_by]").get_attribute("aria-invalid") == "true"
    # The banner's link to the approver moves the focus there.
    banner.locator("a[data-focus=approved_by]").click()
    assert page.evaluate("document.activeElement.name") == "approved_by"

    # 2. Switching to the source text keeps what I typed, and back.
    page.fill("input[name=title]", "顾客满意控制作业规程（修订）")
    page.click("[data-testid=mode-source]")
    page.wait_for_selector("textarea[name=markdown]")
    assert "title: 顾客满意控制作业规程（修订）" in _textarea(page).input_value()
    page.click("[data-testid=mode-fields]")
    page.wait_for_selector("input[name=title]")
    assert page.input_value("input[name=title]") == "顾客满意控制作业规程（修订）"

    # 3. Publish with a later effective date: the new version is upcoming, the current one stays in force.
    later = local_today() + timedelta(days=10)
    page.fill("input[name=effective]", later.isoformat())
    page.fill("textarea[name=summary]", "修改标题，下月生效")
    _approve_by_manager(page)
    page.click("[data-testid=publish]")
    page.wait_for_url(f"**/procedures/{CODE}")
    assert page.inner_text("[data-testid=procedure-version]") == in_force
    page.goto(page.base_url + f"/procedures/{CODE}/versions/{new_version.replace('/', '-')}")
    page.locator("[data-testid=upcoming-banner]").wait_for()
    assert page.inner_text("[data-testid=procedure-approver]") == "总经理 陈志远"
    assert not errors, errors


def test_the_editor_stacks_on_a_phone(demo_app, phone_page):
    page = phone_page
    login(page, "controller")
    page.goto(page.base_url + f"/procedures/{CODE}/edit")
    front = page.locator("[data-testid=front-fields]").bounding_box()
    body = _body(page).bounding_box()
    preview = page.locator("section.pub-preview").bounding_box()
    # One column: the details, then the body, then the preview, each as wide as the screen allows.
    assert front["y"] < body["y"] < preview["y"]
    assert abs(body["x"] - preview["x"]) < 2 and preview["width"] > 300
    assert _no_sideways_scroll(page)
    # A refused submit on the phone also lands on the field in error.
    page.fill("input[name=title]", "")
    page.fill("textarea[name=summary]", "x")
    page.click("[data-testid=publish]")
    page.locator("[data-testid=form-errors]").wait_for()
    assert page.evaluate("document.activeElement.name") == "title"
    assert _no_sideways_scroll(page)
