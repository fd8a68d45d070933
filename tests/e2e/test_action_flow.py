"""A corrective action worked start to finish by the right people, in a real browser (issue 11, part 2).

A survey closed below target (the clerk closes it on its page) opens a corrective action, linked both
ways; the manager plans it (responsible department and person, due date); the clerk named carries it
out; she is refused when she tries to verify her own work (403, segregation of duties); closing before
the effectiveness check is refused (409); the head of the department verifies (what was re-measured,
the result); the manager closes it; the head asks from the action for a review of a procedure and the
action links the incident review. Each step is in the to-do list of whoever must act. On a 1366 × 768 desktop and on a
390 × 844 phone: every button used is within the screen's width, no page scrolls sideways, and no page
logs a console error.
"""
from __future__ import annotations

import contextlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from accounts.models import Department, Project, User
from actions import roles, service
from actions.models import Action
from satisfaction.categories import list_categories
from satisfaction.surveys.importing import bulk_insert
from satisfaction.surveys.service import create_campaign
from tests.e2e.conftest import login
from tests.e2e.test_reviews import _submit as submit_within_reach
from webapp.dates import local_today
from webapp.extensions import db

DEVICES = {
    "desktop": {"viewport": {"width": 1366, "height": 768}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}
PERIOD = "专项回访"
RETURNED, SATISFIED = 40, 30  # 75 %: below the 85 % target
PROCEDURE = "QP-CS-001"
#: The outermost elements reaching past the window's right edge (to name the culprit when a page scrolls sideways).
WIDER_THAN_THE_WINDOW = """() => [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5
                 && e.parentElement.getBoundingClientRect().right <= window.innerWidth + 0.5)
    .slice(0, 5).map(e => `${e.tagName.toLowerCase()}.${e.className} (${Math.round(e.getBoundingClientRect().right)} px)`)"""


@pytest.fixture
def people(browser, live_server):
    """``people(login, device)`` → a logged-in page in a browser context of its own; its console errors
    and uncaught exceptions collect in ``page.console_errors``."""
    with contextlib.ExitStack() as stack:
        def open_as(who, device):
            context = browser.new_context(locale="zh-CN", **DEVICES[device])
            stack.callback(context.close)
            context.set_default_timeout(10_000)
            page = context.new_page()
            page.base_url = live_server.url
            page.console_errors = []
            page.on("console", lambda m: m.type == "error" and page.console_errors.append(
                f"{m.text} {m.location.get('url') or ''}"))
            page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
            page.on("dialog", lambda dialog: dialog.accept())  # data-confirm buttons
            login(page, who)
            _page_ok(page)
            return page

        yield open_as


def _page_ok(page, refused: int | None = None):
    """No console error (but the refused request's own status line, and the browser's own asking for a
    favicon the app does not have), no sideways scrolling."""
    errors = [e for e in page.console_errors
              if not (refused and f"status of {refused}" in e) and not e.endswith("/favicon.ico")]
    assert errors == [], (page.url, errors)
    page.console_errors.clear()
    width = page.viewport_size["width"]
    if page.evaluate("document.documentElement.scrollWidth") > width:
        wide = page.evaluate(WIDER_THAN_THE_WINDOW)
        pytest.fail(f"{page.url} scrolls sideways on a {width} px screen; wider than the window: {wide}")


def _goto(page, path):
    response = page.goto(page.base_url + path)
    assert response is not None and response.status == 200, (path, response and response.status)
    _page_ok(page)


def _submit(page, selector):
    """Click a submit button within the screen's width, wait for the page it leads to (no error on it:
    tests/e2e/test_reviews.py), then check that page as every other."""
    submit_within_reach(page, selector)
    _page_ok(page)


def _post_directly(page, path, fields):
    """POST a form the page does not offer (a stale page, a hand-made request) with the session's CSRF
    token; returns the status of the page the browser shows."""
    with page.expect_navigation() as navigation:
        page.evaluate("""([url, fields]) => {
            const form = document.createElement('form');
            form.method = 'post';
            form.action = url;
            const all = {...fields, csrf_token: document.querySelector('meta[name=csrf-token]').content};
            for (const [name, value] of Object.entries(all)) {
                const input = document.createElement('input');
                input.type = 'hidden'; input.name = name; input.value = value;
                form.appendChild(input);
            }
            document.body.appendChild(form);
            form.submit();
        }""", [path, fields])
    return navigation.value.status


def _said(app, message) -> str:
    """A message as the pages show it (in the default language)."""
    with app.test_request_context():
        return str(message)


def _status(page):
    return page.get_attribute("[data-testid=status]", "data-status")


def _in_todo(page, number) -> bool:
    _goto(page, "/actions/?mine=1")
    return page.locator("[data-testid=action-list] tbody tr", has_text=number).count() == 1


def _below_target_campaign(app) -> tuple[int, dict]:
    """A P-JHC survey of this year with 40 forms, 30 satisfied (75 %), still open: the fast service path."""
    with app.app_context():
        clerk = db.session.execute(select(User).where(User.login == "clerk")).scalar_one()
        project = db.session.execute(select(Project).where(Project.code == "P-JHC")).scalar_one()
        categories = list_categories()
        campaign = create_campaign({"project_id": project.id, "year": local_today().year, "period": PERIOD,
                                    "distributed": 60, "distributed_on": local_today().isoformat(),
                                    "category_ids": [c.id for c in categories]}, actor=clerk)
        values = campaign.scale.values  # best first
        satisfied = max(campaign.scale.satisfied_values)
        unsatisfied = max(v for v in values if v not in campaign.scale.satisfied_values)
        rows = [{"overall": satisfied if i < SATISFIED else unsatisfied, "room": f"1-1-{i + 101}",
                 "ratings": {c.id: satisfied if i < SATISFIED else unsatisfied for c in categories},
                 "comments": ""} for i in range(RETURNED)]
        bulk_insert(campaign.id, rows, source="paper", batch=None, actor=clerk)
        db.session.commit()
        cs = db.session.execute(select(Department).where(Department.code == "CS")).scalar_one()
        return campaign.id, {"CS": cs.id, "clerk": clerk.id}


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_a_below_target_survey_opens_an_action_worked_by_the_right_people(demo_app, people, device):
    campaign_id, ids = _below_target_campaign(demo_app)
    due = (local_today() + timedelta(days=30)).isoformat()

    # 1. The clerk closes the survey below target: a corrective action opens, linked from the survey.
    clerk = people("clerk", device)
    _goto(clerk, f"/satisfaction/surveys/{campaign_id}")
    _submit(clerk, "[data-testid=close-campaign]")
    link = clerk.locator("[data-testid=corrective-action] a")
    assert link.count() == 1
    number = link.inner_text().strip()
    assert number in clerk.inner_text(".flashes")
    with demo_app.app_context():
        action = db.session.execute(select(Action).where(Action.source_type == "survey_campaign",
                                                         Action.source_id == campaign_id)).scalar_one()
        action_id = action.id
        assert (action.number, action.kind) == (number, "corrective")
    link.click()
    clerk.wait_for_url(f"**/actions/{action_id}")
    _page_ok(clerk)
    assert _status(clerk) == "open"
    # …and the action links back to the survey.
    assert clerk.get_attribute("[data-testid=source] a", "href").endswith(f"/satisfaction/surveys/{campaign_id}")
    assert clerk.locator("[data-testid=step-analyse]").count() == 0  # a clerk does not plan

    # 2. The manager finds it in his to-do list and plans it: cause, plan, department, person, due date.
    manager = people("manager", device)
    assert _in_todo(manager, number)
    _goto(manager, f"/actions/{action_id}")
    assert manager.get_attribute("[data-testid=waiting-for]", "data-step") == "analyse"
    form = manager.locator("[data-testid=step-analyse]")
    form.locator("textarea[name=cause_analysis]").fill("维修回访缺失，业主对报修处理不知情")
    form.locator("textarea[name=planned_action]").fill("报修完成后 2 日内电话回访，每月抽查")
    form.locator("select[name=responsible_department_id]").select_option(str(ids["CS"]))
    form.locator("select[name=responsible_user_id]").select_option(str(ids["clerk"]))
    form.locator("input[name=due_on]").fill(due)
    _submit(manager, "[data-testid=step-analyse] [type=submit]")
    assert _status(manager) == "cause_analysed"
    assert manager.get_attribute("[data-testid=waiting-for]", "data-step") == "take_action"
    assert "刘芳" in manager.inner_text("[data-testid=waiting-for]")

    # 3. The clerk named carries it out (it is in her to-do list now).
    assert _in_todo(clerk, number)
    _goto(clerk, f"/actions/{action_id}")
    clerk.fill("[data-testid=step-take_action] textarea[name=action_taken]", "已建立报修回访台账，本月回访 52 户")
    _submit(clerk, "[data-testid=step-take_action] [type=submit]")
    assert _status(clerk) == "action_taken"
    assert "52 户" in clerk.inner_text("[data-testid=action-taken]")

    # 4. She may not verify her own work: no form, and a hand-made request is refused with the reason.
    assert clerk.locator("[data-testid=step-verify]").count() == 0
    assert not _in_todo(clerk, number)
    _goto(clerk, f"/actions/{action_id}")
    status = _post_directly(clerk, f"/actions/{action_id}/verify", {
        "remeasured": "回访 20 户", "verification_result": "满意", "effective": "yes", "version": "3"})
    assert status == 403
    assert clerk.get_attribute(".error-page", "data-status") == "403"
    assert clerk.locator(".error-page").get_by_text(_said(demo_app, roles.SAME_PERSON)).is_visible()
    _page_ok(clerk, refused=403)

    # 5. Closing before the effectiveness check is refused, saying why.
    _goto(manager, f"/actions/{action_id}")
    assert manager.locator("[data-testid=step-close]").count() == 0
    status = _post_directly(manager, f"/actions/{action_id}/close", {"note": "提前关闭", "version": "3"})
    assert status == 409
    assert manager.get_attribute(".error-page", "data-status") == "409"
    assert manager.locator(".error-page").get_by_text(_said(demo_app, service.NO_CHECK)).is_visible()
    _page_ok(manager, refused=409)

    # 6. The head of the department (not the clerk) verifies: what was re-measured, and the result.
    head = people("depthead", device)
    assert _in_todo(head, number)
    _goto(head, f"/actions/{action_id}")
    form = head.locator("[data-testid=step-verify]")
    form.locator("textarea[name=remeasured]").fill("抽样回访 40 户业主的维修满意度")
    form.locator("textarea[name=verification_result]").fill("满意 37 户，满意率 92.5%")
    form.locator("input[name=effective][value=yes]").check()
    _submit(head, "[data-testid=step-verify] [type=submit]")
    assert _status(head) == "verified"
    check = head.inner_text("[data-testid=effectiveness-check]")
    assert "抽样回访 40 户" in check and "92.5%" in check and "王丽" in check

    # 7. Now the manager closes it.
    assert _in_todo(manager, number)
    _goto(manager, f"/actions/{action_id}")
    manager.fill("[data-testid=step-close] input[name=note]", "复测有效，关闭")
    _submit(manager, "[data-testid=step-close] [type=submit]")
    assert _status(manager) == "closed"
    assert manager.locator("[data-testid=waiting-for]").count() == 0
    with demo_app.app_context():
        action = db.session.get(Action, action_id)
        people_ids = (action.analysed_by.login, action.action_taken_by.login, action.verified_by.login,
                      action.closed_by.login)
        assert people_ids == ("manager", "clerk", "depthead", "manager")

    # 8. The head of the department asks, from the action, for a review of the procedure (asking is for
    # those who enter records: the manager has no form); the action then links the incident review.
    assert manager.locator("[data-testid=request-review]").count() == 1  # management may ask too
    _goto(head, f"/actions/{action_id}")
    head.click("[data-testid=procedure-reviews] summary")
    request = head.locator("[data-testid=request-review]")
    request.locator("select[name=procedure_code]").select_option(PROCEDURE)
    request.locator("textarea[name=reason]").fill("回访要求未写入程序，需增加报修回访条款")
    _submit(head, "[data-testid=request-review] [type=submit]")
    review = head.locator("[data-testid=record-reviews] [data-testid=record-review]")
    assert review.count() == 1 and review.get_attribute("data-kind") == "incident"
    review_number = review.get_attribute("data-number")
    assert review_number in head.inner_text(".flashes")
    href = review.locator("a").get_attribute("href")
    assert re.search(rf"/reviews/{re.escape(review_number)}$", href), href
    review.locator("a").click()
    head.wait_for_url(f"**/reviews/{review_number}")
    _page_ok(head)
    assert number in head.inner_text("main")  # the review names the action that asked for it
    _goto(manager, f"/actions/{action_id}")  # the manager sees the link too
    assert manager.locator("[data-testid=record-review]").get_attribute("data-number") == review_number

    # The survey still links the (closed) action.
    _goto(clerk, f"/satisfaction/surveys/{campaign_id}")
    assert clerk.inner_text("[data-testid=corrective-action] a") == number
