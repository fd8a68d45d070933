"""Publishing in a real browser: live preview → a colleague publishes first → conflict page keeps the
text → merge and resubmit → history and compare → a CS staff member reads and confirms → the report."""
from __future__ import annotations

from tests.e2e.conftest import login

CODE = "QP-CS-001"
MINE = "4.9 项目每季度向业委会通报一次满意度调查结果。"
THEIRS_OLD = "汇总、统计全公司满意率"
THEIRS_NEW = "汇总、统计全公司顾客满意率"


def _textarea(page):
    return page.locator("textarea[name=markdown]")


def test_publish_conflict_merge_read_and_report(demo_app, page, browser, live_server):
    login(page, "controller")
    errors = []

    def console(msg):
        # The conflict page is answered with 409 on purpose; any other console error is a bug.
        if msg.type == "error" and "status of 409" not in msg.text:
            errors.append(msg.text)

    page.on("console", console)

    # 1. I open the editor; the live preview follows my typing.
    page.goto(page.base_url + f"/procedures/{CODE}/edit")
    assert "A/3" in page.inner_text("[data-testid=version-note]")
    original = _textarea(page).input_value()
    mine = original.rstrip("\n") + "\n\n" + MINE + "\n"
    _textarea(page).fill(mine)
    page.locator("[data-testid=preview]").get_by_text("每季度向业委会通报").wait_for()
    page.fill("textarea[name=summary]", "增加季度通报业委会的要求")

    # 2. Meanwhile a colleague (another tab) publishes a change of their own.
    other = page.context.new_page()
    other.goto(page.base_url + f"/procedures/{CODE}/edit")
    theirs = _textarea(other).input_value().replace(THEIRS_OLD, THEIRS_NEW, 1)
    _textarea(other).fill(theirs)
    other.fill("textarea[name=summary]", "统一术语为“顾客满意率”")
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
