"""The review schedule, reminders and the dashboard: periodic reviews open once (also from two processes at
once), grouped by department and month or one per procedure; overdue steps are reminded once a day and
escalated to the department head; the dashboard's sections and calendar come from a fixed number of queries."""
from __future__ import annotations

import multiprocessing
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from accounts.models import User
from notifications.models import Notification
from tests.conftest import PASSWORD, Client
from tests.factories_workflow import open_review, seed_procedure, user
from tests.sql_count import counting_statements
from webapp.dates import add_months, local_today
from webapp.extensions import db
from webapp.store import get_store
from workflow import drafts, schedule, service, signoffs
from workflow.models import Review, ReviewEvent

TODAY = date(2025, 6, 10)  # lead time 30 days: due by 2025-07-10
#: code → (departments, effective date of the first version); reviewed every 6 months.
CATALOGUE = {
    "QP-CS-004": ("[CS]", "2024-11-01"),   # due 2025-05-01: overdue
    "QP-CS-001": ("[CS]", "2025-01-05"),   # due 2025-07-05: within the lead time
    "QP-CS-002": ("[CS, ENG]", "2025-01-25"),  # due 2025-07-25: same department and month as QP-CS-001
    "QP-CS-003": ("[CS]", "2025-02-03"),   # due 2025-08-03: not yet
    "QP-EN-001": ("[ENG]", "2024-12-20"),  # due 2025-06-20
}


@pytest.fixture
def site(app, make_user, make_department):
    make_department("CS")
    make_department("ENG")
    make_user("controller", roles=("controller",), category="management", display_name="文控 周敏")
    make_user("head", roles=("participant",), category="dept_head", department="CS", display_name="客服部经理 李红")
    make_user("front", roles=("participant",), category="frontline", department="CS", display_name="客服专员 王芳")
    make_user("nocat", roles=("participant",), department="CS")        # no category: not invited
    make_user("reader", roles=("reader",), category="frontline", department="CS")  # may not take part
    make_user("enghead", roles=("participant",), category="dept_head", department="ENG")
    return app


def seed(app, catalogue=CATALOGUE):
    for code, (departments, effective) in catalogue.items():
        seed_procedure(app, code, departments=departments, effective=effective)


def reviews(app) -> dict[str, tuple[str, list[str], set[str]]]:
    """schedule key → (number, codes, participant logins) of every review."""
    with app.app_context():
        return {r.schedule_key: (r.number, r.codes, {p.user.login for p in r.participants})
                for r in db.session.scalars(select(Review).order_by(Review.id))}


def run_schedule(app, today=TODAY):
    with app.app_context():
        return schedule.schedule(today)


def test_schedule_groups_by_department_and_month_and_is_idempotent(site):
    app = site
    seed(app)
    result = run_schedule(app)
    assert len(result.opened) == 3 and result.skipped == []
    found = reviews(app)
    assert set(found) == {"dept:CS:2025-05", "dept:CS:2025-07", "dept:ENG:2025-06"}
    assert found["dept:CS:2025-07"][1] == ["QP-CS-001", "QP-CS-002"]  # the month-mate comes along
    assert found["dept:CS:2025-05"][1] == ["QP-CS-004"] and found["dept:ENG:2025-06"][1] == ["QP-EN-001"]
    # chair + the department's people with a category who may take part (not "nocat", not "reader")
    assert found["dept:CS:2025-07"][2] == {"controller", "head", "front"}
    assert found["dept:ENG:2025-06"][2] == {"controller", "enghead"}
    with app.app_context():
        review = db.session.execute(select(Review).where(Review.schedule_key == "dept:CS:2025-07")).scalar_one()
        assert (review.kind, review.state, review.department, review.due_on) == ("periodic", "propose", "CS",
                                                                                 date(2025, 7, 5))
        assert [(t.source_type, t.label) for t in review.triggers] == [("schedule", "2025-07")]
        assert "QP-CS-001" in review.triggers[0].reason
    # the second run (and a later day in the same window) opens nothing
    assert run_schedule(app).opened == []
    assert run_schedule(app, TODAY + timedelta(days=5)).opened == []
    assert len(reviews(app)) == 3


def test_schedule_by_procedure(site):
    app = site
    app.config["REVIEW_GROUPING"] = "procedure"
    seed(app)
    result = run_schedule(app)
    assert set(reviews(app)) == {"proc:QP-CS-004:2025-05-01", "proc:QP-CS-001:2025-07-05",
                                 "proc:QP-EN-001:2025-06-20"}
    assert len(result.opened) == 3
    assert run_schedule(app).opened == []


def test_procedure_under_review_is_skipped(site):
    app = site
    seed(app)
    incident = open_review(app, ["QP-CS-001"], participants=())
    run_schedule(app)
    found = reviews(app)
    assert "dept:CS:2025-07" not in found  # QP-CS-002, due 2025-07-25, is not yet within the lead time
    assert found[None][0] == incident and found[None][1] == ["QP-CS-001"]
    later = TODAY + timedelta(days=20)
    run_schedule(app, later)
    assert reviews(app)["dept:CS:2025-07"][1] == ["QP-CS-002"]
    # the incident review is cancelled: QP-CS-001 is due again and gets a review of its own
    with app.app_context():
        service.cancel(service.get_review(incident), reason="误开", actor=user("controller"))
    result = run_schedule(app, later)
    assert reviews(app)["proc:QP-CS-001:2025-07-05"][1] == ["QP-CS-001"] and len(result.opened) == 1
    # a cancelled scheduled review is not opened again, and says so
    with app.app_context():
        number = reviews(app)["dept:CS:2025-05"][0]
        service.cancel(service.get_review(number), reason="并入下次", actor=user("controller"))
    result = run_schedule(app, later)
    assert result.opened == [] and ("dept:CS:2025-05", f"already opened as {number}") in [
        (k, str(r)) for k, r in result.skipped]


def _scheduler(tmp_path, database_url, barrier, results):
    from tests.conftest import make_app

    app = make_app(tmp_path, database_url)
    with app.app_context():
        barrier.wait()
        result = schedule.schedule(TODAY)
        results.put((result.opened, [key for key, _ in result.skipped]))
        db.session.remove()
        db.engine.dispose()


@pytest.mark.slow
def test_two_processes_open_each_review_once(site, tmp_path, database_url):
    app = site
    seed(app)
    ctx = multiprocessing.get_context("spawn")
    workers = 2
    barrier, results = ctx.Barrier(workers), ctx.Queue()
    procs = [ctx.Process(target=_scheduler, args=(tmp_path, database_url, barrier, results)) for _ in range(workers)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    opened = [n for o, _ in outcomes for n in o]
    found = reviews(app)
    assert len(found) == 3 and sorted(opened) == sorted(number for number, _, _ in found.values())
    assert len(set(opened)) == 3
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ReviewEvent)
                                 .where(ReviewEvent.action == "opened")) == 3


# ---------------------------------------------------------------------------
# reminders
# ---------------------------------------------------------------------------


def notices(app, *, escalated=None) -> dict[str, int]:
    """login → how many reminders (``escalated``: True only escalations, False only plain ones)."""
    with app.app_context():
        query = select(User.login, func.count()).join(Notification, Notification.user_id == User.id).where(
            Notification.kind == "review.reminder").group_by(User.login)
        if escalated is not None:
            query = query.where(Notification.dedupe_key.endswith(":e") if escalated
                                else Notification.dedupe_key.endswith(":r"))
        return dict(db.session.execute(query).all())


def reminded_steps(app, number) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ReviewEvent).join(Review)
                                 .where(Review.number == number, ReviewEvent.action == "reminded"))


def cs_review(app):
    with app.app_context():
        review = db.session.execute(select(Review).where(Review.schedule_key == "dept:CS:2025-07")).scalar_one()
        return review.number, review.step_due_on


def test_remind_once_a_day_then_escalate(site):
    app = site
    app.config["REVIEW_ESCALATE_DAYS"] = 3
    seed(app, {"QP-CS-001": ("[CS]", "2025-01-05")})
    run_schedule(app)
    number, step_due = cs_review(app)
    with app.app_context():
        assert schedule.remind(step_due).sent == 0  # not overdue yet
    day1 = step_due + timedelta(days=1)
    with app.app_context():
        result = schedule.remind(day1)
    assert result.reminded == [(number, 3)] and result.escalated == []
    assert notices(app) == {"controller": 1, "head": 1, "front": 1}
    assert reminded_steps(app, number) == 1
    with app.app_context():  # the same day again (cron on a second host): nothing new
        assert schedule.remind(day1).sent == 0
    assert notices(app) == {"controller": 1, "head": 1, "front": 1} and reminded_steps(app, number) == 1
    # from REVIEW_ESCALATE_DAYS days overdue, the head of the department is told it is escalated
    with app.app_context():
        result = schedule.remind(step_due + timedelta(days=3))
    assert result.reminded == [(number, 2)] and result.escalated == [(number, 1)]
    assert notices(app) == {"controller": 2, "head": 2, "front": 2}
    assert notices(app, escalated=True) == {"head": 1}
    assert reminded_steps(app, number) == 2


def test_remind_in_decide_skips_who_signed_and_in_implement_only_the_chair(site):
    app = site
    seed(app, {"QP-CS-001": ("[CS]", "2025-01-05")})
    run_schedule(app)
    number, _ = cs_review(app)
    with app.app_context():
        chair = user("controller")
        review = service.get_review(number)
        service.move(review, "discuss", actor=chair)
        service.move(review, "decide", actor=chair)
        signoffs.sign(review, actor=user("head"), meaning="approved", password=PASSWORD, commit=drafts.tip(review))
        step_due = review.step_due_on
    with app.app_context():
        result = schedule.remind(step_due + timedelta(days=1))
    assert result.reminded == [(number, 2)]
    assert notices(app) == {"controller": 1, "front": 1}
    with app.app_context():
        review = service.get_review(number)
        review.state = "implement"  # as after the decision (the cycle's own checks are tested elsewhere)
        db.session.commit()
        result = schedule.remind(step_due + timedelta(days=2))
    assert result.reminded == [(number, 1)] and notices(app) == {"controller": 2, "front": 1}


# ---------------------------------------------------------------------------
# the CLI
# ---------------------------------------------------------------------------


def test_cli_schedule_and_remind(site):
    app = site
    seed(app, {"QP-CS-001": ("[CS]", "2025-01-05")})
    runner = app.test_cli_runner()
    result = runner.invoke(args=["reviews", "schedule", "--today", "2025-06-10"])
    assert result.exit_code == 0, result.output
    number, step_due = cs_review(app)
    assert f"opened {number}" in result.output and "1 review(s) opened" in result.output
    again = runner.invoke(args=["reviews", "schedule", "--today", "2025-06-10"])
    assert again.exit_code == 0 and "0 review(s) opened" in again.output
    late = (step_due + timedelta(days=1)).isoformat()
    result = runner.invoke(args=["reviews", "remind", "--today", late])
    assert result.exit_code == 0, result.output
    assert f"reminded {number}: 3 participant(s)" in result.output and "3 notice(s) sent" in result.output
    again = runner.invoke(args=["reviews", "remind", "--today", late])
    assert again.exit_code == 0 and "0 notice(s) sent" in again.output
    bad = runner.invoke(args=["reviews", "schedule", "--today", "10.06.2025"])
    assert bad.exit_code == 2
    app.config["REVIEW_GROUPING"] = "project"
    bad = runner.invoke(args=["reviews", "schedule"])
    assert bad.exit_code == 1 and "REVIEW_GROUPING" in bad.output


# ---------------------------------------------------------------------------
# the dashboard
# ---------------------------------------------------------------------------


def due_on(day: date) -> str:
    """The first effective date that makes a 6-monthly procedure fall due on ``day`` (day ≤ 28)."""
    assert day.day <= 28
    return add_months(day, -6).isoformat()


def dashboard_catalogue(today: date) -> dict:
    soon = today + timedelta(days=10)
    soon = soon.replace(day=min(soon.day, 28))
    return {
        "QP-CS-010": ("[CS]", due_on(add_months(today.replace(day=1), -2))),   # overdue
        "QP-CS-011": ("[CS]", due_on(soon)),                                   # due soon
        "QP-CS-012": ("[CS]", due_on(add_months(today.replace(day=1), 3))),   # in the calendar
        "QP-EN-010": ("[ENG]", due_on(add_months(today.replace(day=1), 3))),
    }


def as_user(app, login) -> Client:
    c = Client(app)
    assert c.login(login).status_code == 302
    c.get("/")
    return c


def test_dashboard_sections_and_calendar(site):
    app = site
    today = local_today()
    seed(app, dashboard_catalogue(today))
    incident = open_review(app, ["QP-EN-010"], participants=(("head", "dept_head"),))
    c = as_user(app, "head")
    page = c.get("/reviews/").get_data(as_text=True)
    # before the schedule ran: due soon and overdue, not scheduled
    assert 'data-testid="due-soon"' in page and 'data-testid="overdue"' in page
    due_soon = page.split('data-testid="due-soon"')[1].split("</ul>")[0]
    overdue = page.split('data-testid="overdue"')[1].split("</ul>")[0]
    assert "QP-CS-011" in due_soon and "QP-CS-010" not in due_soon
    assert "QP-CS-010" in overdue and "QP-CS-011" not in overdue
    assert 'href="/procedures/QP-CS-010"' in page
    month3 = add_months(today.replace(day=1), 3).strftime("%Y-%m")
    calendar = page.split('data-testid="calendar"')[1].split("</ol>")[0]
    assert calendar.count("<li data-month=") == 6 and today.strftime("%Y-%m") in calendar
    month_box = next(box for box in calendar.split('<li data-month="') if box.startswith(month3))
    assert "QP-CS-012" in month_box and "QP-EN-010" in month_box
    # incident reviews are listed apart from periodic ones
    incident_table = page.split('data-testid="incident-reviews"')[1].split("</table>")[0]
    assert incident in incident_table and f'href="/reviews/{incident}"' in incident_table

    with app.app_context():
        opened = schedule.schedule(today).opened
    assert opened
    page = c.get("/reviews/").get_data(as_text=True)
    periodic = page.split('data-testid="periodic-reviews"')[1].split("</table>")[0]
    incident_table = page.split('data-testid="incident-reviews"')[1].split("</table>")[0]
    assert all(n in periodic for n in opened) and incident not in periodic and incident in incident_table
    mine = page.split('data-testid="my-reviews"')[1].split("</section>")[0]
    assert all(n in mine for n in opened) and incident in mine  # the head takes part in all of them
    depts = page.split('data-testid="departments"')[1].split("</table>")[0]
    cs_row = depts.split('data-department="CS"')[1].split("</tr>")[0]
    assert re.findall(r'<td class="num">(\d+)</td>', cs_row) == ["1", "1", "2", "0"]  # due, overdue, running, closed
    eng_row = depts.split('data-department="ENG"')[1].split("</tr>")[0]
    assert re.findall(r'<td class="num">(\d+)</td>', eng_row) == ["0", "0", "1", "0"]  # the incident review

    # a cancelled review shows under recently closed; the head no longer has to act on it
    with app.app_context():
        service.cancel(service.get_review(incident), reason="并入定期复审", actor=user("controller"))
    page = c.get("/reviews/").get_data(as_text=True)
    closed = page.split('data-testid="closed"')[1].split("</ul>")[0]
    mine = page.split('data-testid="my-reviews"')[1].split("</section>")[0]
    assert incident in closed and incident not in mine


def test_dashboard_queries_do_not_grow_with_rows(site):
    app = site
    today = local_today()
    first = today.replace(day=1)
    seed(app, {**dashboard_catalogue(today), "QP-EN-099": ("[ENG]", due_on(add_months(first, 9)))})
    c = as_user(app, "head")
    with app.app_context():
        schedule.schedule(today)
    open_review(app, ["QP-EN-099"], participants=(("head", "dept_head"),))  # no department of its own
    c.get("/reviews/")
    with app.app_context():  # the company-wide part is cached until the stamp moves: count a fresh build
        get_store().bump_stamp("reviews")
    with counting_statements(app) as few:
        assert c.get("/reviews/").status_code == 200
    more = {f"QP-CS-{n:03d}": ("[CS]", due_on(add_months(first, n % 5 - 1))) for n in range(20, 30)}
    more.update({f"QP-EN-{n:03d}": ("[ENG]", due_on(add_months(first, n % 4))) for n in range(20, 26)})
    seed(app, more)
    with app.app_context():
        opened = schedule.schedule(today + timedelta(days=120)).opened
        service.cancel(service.get_review(opened[0]), reason="测试", actor=user("controller"))
    with counting_statements(app) as many:
        page = c.get("/reviews/")
    assert page.status_code == 200 and page.get_data(as_text=True).count('data-number="') > 10
    assert len(many) == len(few), "\n".join(many)
