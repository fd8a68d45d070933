"""The review workflow in a real browser.

1. An incident review from a major complaint, with the four participant categories: the draft edited
   in the editor (live preview), comments anchored to clauses that follow a renumbering, password
   sign-offs voided by a later draft commit (a ``git push`` to the review branch) and given again, the
   decision, the release — then the new version on the procedure page, the review and its signatures in
   the history, and the change record in a plain ``git clone`` of the store.
2. A periodic review closed with "no change", on a desktop and on a phone: the procedure's next
   review moves to today + its review period.
"""
from __future__ import annotations

import contextlib
import subprocess

import pytest
from sqlalchemy import select

from accounts.models import Project
from procedures.models import Procedure
from tests.conftest import PASSWORD
from tests.e2e.conftest import login
from tests.factories_workflow import review_row, seed_people
from webapp.dates import add_months, local_today
from webapp.demo import DEMO_PASSWORD
from webapp.extensions import db

CODE = "QP-CS-002"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}

# The drafts: 1. a shorter follow-up time (editor); 2. a clause inserted above 4.2.5, the rest renumbered
# (editor); 3. after the sign-offs, a wording fix pushed with plain git.
FOLLOW_UP_OLD, FOLLOW_UP_NEW = "解决后 2 个工作日内回访", "解决后 1 个工作日内回访"
INSERTED = "4.2.5 结果告知：承办部门在处理完毕当日告知投诉人处理结果。"
PUSHED_OLD, PUSHED_NEW = "连续三次无法联系投诉人", "连续三次（每次间隔不少于 4 小时）无法联系投诉人"


def _renumbered(text: str) -> str:
    for old, new in (("4.2.7 连续", "4.2.8 连续"), ("4.2.6 关闭", "4.2.7 关闭"), ("4.2.5 回访", "4.2.6 回访")):
        assert old in text, old
        text = text.replace(old, new, 1)
    return text.replace("4.2.6 回访", INSERTED + "\n\n4.2.6 回访", 1)


@pytest.fixture
def people(browser, live_server):
    """``people(login, password, device)`` → a page of that user, logged in, in a browser context of their own."""
    with contextlib.ExitStack() as stack:
        def open_as(who, password=DEMO_PASSWORD, device=DESKTOP):
            context = browser.new_context(locale="zh-CN", **device)
            stack.callback(context.close)
            context.set_default_timeout(10_000)
            page = context.new_page()
            page.base_url = live_server.url
            page.on("dialog", lambda dialog: dialog.accept())  # data-confirm buttons
            login(page, who, password)
            return page

        yield open_as


def _submit(page, selector):
    """Click a submit button — within the screen's width, so reachable on a phone without sideways
    scrolling — and wait for the page the POST leads to."""
    button = page.locator(selector)
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"], (selector, box)
    with page.expect_navigation() as navigation:
        button.click()
    status = navigation.value.status if navigation.value is not None else None
    assert status is not None and status < 400, f"{selector}: {page.url} answered {status}"
    errors = page.locator(".flash-error, .error")
    assert errors.count() == 0, errors.all_inner_texts()


def _review_page(page, number):
    page.goto(f"{page.base_url}/reviews/{number}")


def _move(page, number, target):
    _review_page(page, number)
    _submit(page, f"[data-testid=move-{target}]")
    assert page.get_attribute("[data-testid=state]", "data-state") == target


def _add_participant(page, name, category):
    form = page.locator("[data-testid=add-participant]")
    form.locator("select[name=user]").select_option(label=name)
    form.locator("select[name=category]").select_option(category)
    _submit(page, "[data-testid=add-participant] [type=submit]")
    assert name in page.inner_text("[data-testid=participants]")


def _edit_draft(page, number, change, summary, expect_in_preview):
    page.goto(f"{page.base_url}/reviews/{number}")
    page.click(f"[data-testid=edit-{CODE}]")
    page.wait_for_url(f"**/reviews/{number}/drafts/{CODE}/edit")
    textarea = page.locator("textarea[name=markdown]")
    textarea.fill(change(textarea.input_value()))
    page.locator("[data-testid=preview]").get_by_text(expect_in_preview).wait_for()  # the live preview follows
    page.fill("input[name=summary]", summary)
    _submit(page, "[data-testid=save-draft]")
    assert page.url.endswith(f"/reviews/{number}/drafts/{CODE}")


def _comment_on_clause(page, number, clause, body, quote=""):
    page.goto(f"{page.base_url}/reviews/{number}/drafts/{CODE}")
    form = page.locator("[data-testid=anchor-form]")
    form.locator("[data-testid=clause-select]").select_option(clause)
    if quote:
        form.locator("textarea[name=quote]").fill(quote)
    form.locator("textarea[name=body]").fill(body)
    _submit(page, "[data-testid=anchor-form] [type=submit]")


def _sign(page, number, meaning="approved", password=DEMO_PASSWORD):
    _review_page(page, number)
    form = page.locator("[data-testid=sign-form]")
    form.locator(f"input[name=meaning][value={meaning}]").check()
    form.locator("input[name=password]").fill(password)
    _submit(page, "[data-testid=sign]")
    assert page.locator(".flash-success").count() == 1


def _signoffs(page):
    return page.eval_on_selector_all(
        "[data-testid=signoff]", "rows => rows.map(r => [r.cells[0].innerText.trim(), r.dataset.valid])")


def _today(app):
    with app.app_context():
        return local_today()


def _git(*args, cwd=None):
    return subprocess.run(["git", "-c", "user.name=Git User", "-c", "user.email=git@example.com", *args], cwd=cwd,
                          check=True, capture_output=True, text=True).stdout


def test_incident_review_from_a_major_complaint_to_the_new_version_and_its_change_record(demo_app, people,
                                                                                           tmp_path):
    with demo_app.app_context():
        ljy = db.session.execute(select(Project).where(Project.code == "P-LJY")).scalar_one().id
        version_before = db.session.execute(select(Procedure.version).where(Procedure.code == CODE)).scalar_one()
    store = demo_app.config["REPO_STORE_PATH"]

    # A clerk registers a major complaint and opens an incident review of the complaint procedure from it.
    clerk = people("clerk")
    clerk.goto(clerk.base_url + "/satisfaction/complaints/new")
    clerk.select_option("select[name=project_id]", str(ljy))
    clerk.select_option("select[name=channel]", "visit")
    clerk.select_option("select[name=category]", "customer_service")
    clerk.select_option("select[name=severity]", "major")
    clerk.fill("textarea[name=description]", "五户业主联名投诉：投诉办结后一直无人回访。")
    _submit(clerk, "[data-testid=entry-form] input[type=submit]")
    complaint = clerk.inner_text("[data-testid=entry-number]")
    clerk.select_option("[data-testid=request-review] select[name=procedure_code]", CODE)
    _submit(clerk, "[data-testid=request-review] [type=submit]")
    assert CODE in clerk.inner_text("[data-testid=review-requested]")
    link = clerk.locator("[data-testid=record-review]")
    assert link.get_attribute("data-kind") == "incident" and link.get_attribute("data-state") == "propose"
    number = link.get_attribute("data-number")

    # The document controller (the procedure's owner) chairs; they add the four categories.
    chair = people("controller")
    _review_page(chair, number)
    assert complaint in chair.inner_text("[data-testid=triggers]")
    for name, category in (("总经理 陈志远", "management"), ("客服部经理 王丽", "dept_head"),
                           ("前台客服 李强", "frontline"), ("业委会主任 张建国", "customer_rep")):
        _add_participant(chair, name, category)

    # The frontline member proposes by editing the draft: one commit on the review branch.
    front = people("frontline")
    _edit_draft(front, number, lambda t: t.replace(FOLLOW_UP_OLD, FOLLOW_UP_NEW, 1), "回访时限缩短为 1 个工作日",
                "1 个工作日内回访")
    assert "1" in front.inner_text("[data-testid=redline] ins")
    _move(chair, number, "discuss")

    # Two comments anchored to clauses of the draft.
    head = people("depthead")
    _comment_on_clause(head, number, "4.2.6", "重开后由谁回访？请写明。")
    rep = people("custrep")
    _comment_on_clause(rep, number, "4.2.2", "哪些不属于物业服务范围，应在告知时举例。", quote="不属于物业服务范围的")
    assert rep.locator("[data-testid=comment]").count() == 2

    # A second draft commit inserts a clause above 4.2.5: the comment on 4.2.6 follows its clause to 4.2.7.
    _edit_draft(front, number, _renumbered, "增加结果告知条款，其后条款顺延", "结果告知")
    placed = front.eval_on_selector_all("[data-testid=anchored-comment]", """els => els.map(e => [
        e.dataset.clause, e.dataset.outdated, e.querySelector('header').innerText, e.innerText])""")
    assert len(placed) == 2, placed
    moved = next(p for p in placed if "重开后由谁回访" in p[3])
    kept = next(p for p in placed if "举例" in p[3])
    assert moved[:2] == ["4.2.7", "no"] and "4.2.7" in moved[2] and "4.2.6" in moved[2]  # "Clause 4.2.7 (was 4.2.6)"
    assert kept[:2] == ["4.2.2", "no"] and "4.2.2" in kept[2]
    _review_page(chair, number)
    assert chair.locator("[data-testid=draft-commits] li").count() == 2

    # Decision step: management and the department head sign with their passwords.
    _move(chair, number, "decide")
    manager = people("manager")
    _sign(manager, number)
    _sign(head, number)
    _review_page(chair, number)
    assert _signoffs(chair) == [["总经理 陈志远", "yes"], ["客服部经理 王丽", "yes"]]

    # A later draft commit — pushed with plain git to the review branch — voids both signatures, visibly.
    clone = tmp_path / "clone"
    _git("clone", "-q", "--branch", f"reviews/{number}", store, str(clone))
    doc = clone / f"{CODE}.md"
    doc.write_text(doc.read_text(encoding="utf-8").replace(PUSHED_OLD, PUSHED_NEW, 1), encoding="utf-8")
    _git("commit", "-q", "-am", "补充联系间隔", cwd=clone)
    _git("push", "-q", "origin", f"reviews/{number}", cwd=clone)
    _review_page(chair, number)
    assert _signoffs(chair) == [["总经理 陈志远", "no"], ["客服部经理 王丽", "no"]]
    assert chair.locator("[data-testid=draft-commits] li").count() == 3
    _sign(manager, number)
    _sign(head, number)
    _review_page(chair, number)
    assert [v for _n, v in _signoffs(chair)] == ["no", "no", "yes", "yes"]

    # The chair records the decision, moves on and implements it today.
    chair.check(f"[data-testid=decision-{CODE}-revise]")
    chair.fill(f"input[name=reason_{CODE}]", "回访要求不明确")
    chair.fill("[data-testid=decide-form] textarea[name=summary]", "同意缩短回访时限并增加结果告知条款。")
    _submit(chair, "[data-testid=decide]")
    _move(chair, number, "implement")
    today = _today(demo_app)
    assert chair.input_value("[data-testid=implement-form] input[name=effective]") == today.isoformat()
    _submit(chair, "[data-testid=implement]")
    assert chair.get_attribute("[data-testid=state]", "data-state") == "closed"
    new_version = chair.inner_text("[data-testid=version-after]")
    assert new_version != version_before
    assert number in chair.inner_text("[data-testid=record]")

    # Readers get the new version, with the new text.
    chair.goto(f"{chair.base_url}/procedures/{CODE}")
    assert chair.inner_text("[data-testid=procedure-version]") == new_version
    text = chair.inner_text("main")
    assert "结果告知" in text and FOLLOW_UP_NEW in text and "每次间隔不少于 4 小时" in text

    # The history shows the review and its (valid) signatures on the new version.
    chair.goto(f"{chair.base_url}/procedures/{CODE}/history")
    row = chair.locator(f"[data-testid=history-table] tr[data-version='{new_version}']")
    assert row.locator(f"a[href$='/reviews/{number}']").count() == 1
    signatures = row.locator("[data-testid=history-signatures] li").all_inner_texts()
    assert len(signatures) == 2 and "总经理 陈志远" in signatures[0] and "客服部经理 王丽" in signatures[1], signatures

    # A plain git clone of the store holds the change record and the new text.
    release = tmp_path / "release"
    _git("clone", "-q", store, str(release))
    record = (release / "reviews" / number.split("-")[1] / f"{number}.md").read_text(encoding="utf-8")
    assert record.startswith(f"# {number} ")
    for name in ("文控专员 周敏", "总经理 陈志远", "客服部经理 王丽", "前台客服 李强", "业委会主任 张建国", complaint):
        assert name in record, name
    assert f"| {version_before} | {new_version} |" in record
    assert "结果告知" in (release / f"{CODE}.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("device", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_periodic_review_closed_with_no_change_moves_the_next_review(app, make_user, make_department, people,
                                                                     device):
    seed_people(app, make_user, make_department)  # QP-CS-001 A/0, effective 2026-01-01
    with app.app_context():
        before = db.session.execute(select(Procedure.next_review).where(Procedure.code == "QP-CS-001")).scalar_one()
        expected = add_months(local_today(), 6)
    assert before != expected

    chair = people("controller", PASSWORD, device)
    chair.goto(chair.base_url + "/reviews/new")
    chair.check("[data-testid=open-form] input[name=kind][value=periodic]")
    chair.select_option("[data-testid=open-form] select[name=codes]", ["QP-CS-001"])
    chair.fill("[data-testid=open-form] textarea[name=reason]", "半年度复审")
    _submit(chair, "[data-testid=open-form] [type=submit]")
    number = chair.url.rstrip("/").rsplit("/", 1)[-1]
    assert review_row(app, number).kind == "periodic"
    _add_participant(chair, "总经理 陈志远", "management")
    _add_participant(chair, "客服部经理 李红", "dept_head")
    _move(chair, number, "discuss")
    _move(chair, number, "decide")

    for who in ("manager", "head"):
        _sign(people(who, PASSWORD, device), number, password=PASSWORD)

    _review_page(chair, number)
    chair.check("[data-testid=decision-QP-CS-001-no_change]")
    chair.fill("input[name=reason_QP-CS-001]", "规程仍然适用")
    _submit(chair, "[data-testid=decide]")
    _move(chair, number, "implement")
    _submit(chair, "[data-testid=implement]")
    assert chair.get_attribute("[data-testid=state]", "data-state") == "closed"

    chair.goto(chair.base_url + "/procedures/QP-CS-001")
    assert chair.inner_text("[data-testid=procedure-version]") == "A/0"  # no new version
    assert chair.inner_text("[data-testid=procedure-next-review]").startswith(expected.isoformat())
