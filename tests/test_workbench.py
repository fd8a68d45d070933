"""The workbench (工作台) on the home page: per role the right boxes with the right counts, each count equal
to the number of rows on the list its box links to, and a query count that does not grow with the records."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from accounts.models import Department, Project
from procedures import catalog
from tests.conftest import PASSWORD, Client
from tests.factories_complaints import FOLLOW_SATISFIED, RESOLVE, make_entry, walk
from tests.factories_procedures import commit_version
from tests.factories_publishing import user
from tests.factories_workflow import open_review
from tests.sql_count import counting_statements
from tests.test_workflow import move
from webapp import dates, workbench
from webapp.db import utcnow
from webapp.extensions import db

#: login → (roles, participant category, department, projects): the five kinds of people of issue 12, as the
#: demo has them, and somebody without a role.
PEOPLE = {
    "controller": (("controller",), "management", "ADM", ()),
    "manager": (("manager", "participant"), "management", "ADM", ()),
    "head": (("participant", "clerk"), "dept_head", "CS", ("P1",)),
    "front": (("participant",), "frontline", "CS", ("P1",)),
    "owner": (("participant",), "customer_rep", None, ()),
    "nobody": ((), None, None, ()),
}


def _world(app, make_user, make_department, make_project):
    """Departments, a project, the people, three procedures (review overdue, due soon, not due) and an open
    review of two of them (one in discussion, one deciding)."""
    for code in ("CS", "ADM", "ENG"):
        make_department(code)
    make_project("P1")
    for login, (roles, category, department, projects) in PEOPLE.items():
        make_user(login, roles=roles, category=category, department=department, projects=projects, locale="en")
    with app.app_context():
        today = dates.local_today()
    overdue = dates.add_months(today, -7)
    soon = dates.add_months(today, -6) + timedelta(days=10)
    # committed as a plain git push would (the dates are the front matter's), then mirrored
    commit_version(app, "QP-CS-001", effective=overdue, departments=("CS",))
    commit_version(app, "QP-CS-002", effective=soon, departments=("CS", "ENG"))
    commit_version(app, "QP-ENG-001", effective=today - timedelta(days=30), departments=("ENG",))
    with app.app_context():
        catalog.sync(commit=True)
    people = (("manager", "management"), ("head", "dept_head"), ("front", "frontline"), ("owner", "customer_rep"))
    first = open_review(app, ("QP-CS-001",), participants=people)
    second = open_review(app, ("QP-CS-002",), participants=people[:2])
    chair = _client(app, "controller")
    assert move(chair, first, "discuss").status_code == 302
    assert move(chair, second, "discuss").status_code == 302
    assert move(chair, second, "decide").status_code == 302
    return first, second


def _records(app, n: int, start: int = 0):
    """``n`` complaints handled by the head (every third past its deadlines; every fifth voided, which no box
    counts), ``n`` complaints nobody handles yet, and ``n`` corrective actions for CS (every second overdue)."""
    from actions import service as actions
    from satisfaction.complaints import service as complaints

    with app.test_request_context():
        head = user("head")
        now = utcnow()
        for i in range(start, start + n):
            received = now - timedelta(days=10 if i % 3 == 0 else 0, minutes=5 + i)
            entry = make_entry("P1", "head", received, handler_id=head.id, now=received + timedelta(minutes=1))
            if i % 5 == 4:
                complaints.void_entry(entry, reason="重复登记", actor=head)
            make_entry("P1", "head", received, now=received + timedelta(minutes=1))  # nobody's: overdue ones count
        cs = db.session.scalar(select(Department.id).where(Department.code == "CS"))
        p1 = db.session.scalar(select(Project.id).where(Project.code == "P1"))
        for i in range(start, start + n):
            actions.open_action(kind="corrective", source_type="manual", source_id=None, project_id=p1,
                                title=f"措施 {i}", actor=head, responsible_department_id=cs,
                                due_on=dates.local_today() + timedelta(days=-3 if i % 2 else 7))
        db.session.commit()


def _client(app, login) -> Client:
    c = Client(app)
    assert c.login(login).status_code == 302
    return c


@pytest.fixture
def world(app, make_user, make_department, make_project):
    _world(app, make_user, make_department, make_project)
    _records(app, 6)
    with app.test_request_context():  # a closed case of the head's: no longer waiting for her
        received = utcnow() - timedelta(days=20)
        entry = make_entry("P1", "head", received, handler_id=user("head").id)
        walk(entry, "head", [("acknowledge", 1, None), ("start", 1, None), ("resolve", 1, RESOLVE),
                             ("follow_up", 1, FOLLOW_SATISFIED), ("close", 1, None)], received)
        assert entry.status == "closed"
    return app


BOX_RE = re.compile(r'<a [^>]*href="([^"]+)" data-testid="box-([\w.]+)" data-count="(\d+)"')


def boxes(html: str) -> dict[str, tuple[str, int]]:
    """key → (url, count) of every box on the home page (zero ones too)."""
    return {key: (url.replace("&amp;", "&"), int(count)) for url, key, count in BOX_RE.findall(html)}


#: How each list marks its rows.
ROW_MARKERS = {"/acknowledgements/": 'data-testid="to-read-item"', "/procedures/": "data-code=",
               "/procedures/problems": 'data-testid="store-problem"', "/reviews/register": "data-number=",
               "/satisfaction/complaints/": "data-number=", "/actions/": "data-number=",
               "/actions/proposals": 'data-testid="proposal"'}


def rows_on(client, url: str) -> int:
    response = client.get(url + ("&" if "?" in url else "?") + "per_page=200")
    assert response.status_code == 200, url
    html = response.get_data(as_text=True)
    path = url.split("?")[0]
    html = html.split("<tbody", 1)[-1] if path != "/acknowledgements/" else html
    return html.count(ROW_MARKERS[path])


EXPECTED = {
    # the controller chairs both reviews (and takes part: discusses the first, signs the second), watches the
    # review dates of every procedure, the catalogue's problems and the reviews in progress; nothing of the
    # administration department's to read
    "controller": {"procedures.to_read": 0, "reviews.waiting.discuss": 1, "reviews.waiting.decide": 1,
                   "procedures.review_overdue": 1, "procedures.review_soon": 1, "procedures.problems": 0,
                   "reviews.open": 2},
    "manager": {"procedures.to_read": 0, "reviews.waiting.discuss": 1, "reviews.waiting.decide": 1, "procedures.review_overdue": 1,
                "procedures.review_soon": 1, "reviews.open": 2, "complaints.assigned": 0,
                "complaints.overdue": 4, "actions.mine": 6, "actions.mine_overdue": 3, "actions.proposals": 0,
                "actions.overdue": 3},
    # the department head: reading, both reviews, her department's review dates, her complaints and actions
    "head": {"procedures.to_read": 2, "reviews.waiting.discuss": 1, "reviews.waiting.decide": 1,
             "procedures.review_overdue": 1, "procedures.review_soon": 1, "complaints.assigned": 5,
             "complaints.assigned_overdue": 2, "complaints.overdue": 4, "actions.mine": 6, "actions.mine_overdue": 3},
    "front": {"procedures.to_read": 2, "reviews.waiting.discuss": 1},
    "owner": {"reviews.waiting.discuss": 1},
    "nobody": {},
}


@pytest.mark.parametrize("login", sorted(EXPECTED))
def test_each_role_sees_its_boxes_and_each_count_is_its_list(world, login):
    c = _client(world, login)
    html = c.get("/").get_data(as_text=True)
    found = boxes(html)
    assert {k: n for k, (_url, n) in found.items()} == EXPECTED[login]
    for key, (url, count) in found.items():
        assert rows_on(c, url) == count, (login, key, url)


def test_somebody_without_a_role_is_told_why_the_page_is_empty(world):
    html = _client(world, "nobody").get("/").get_data(as_text=True)
    assert 'data-testid="workbench-none"' in html and "has no role yet" in html
    assert 'data-testid="workbench-todo"' not in html


def test_boxes_are_grouped_and_nothing_waiting_is_one_line(world):
    html = _client(world, "owner").get("/").get_data(as_text=True)
    assert 'data-testid="workbench-todo"' in html and 'data-testid="workbench-watch"' not in html
    # after the owner has nothing left: the box turns into a muted link on the "nothing waiting" line
    from workflow.models import Review

    with world.app_context():
        for review in db.session.query(Review):
            review.state = "cancelled"
        db.session.commit()
    html = _client(world, "owner").get("/").get_data(as_text=True)
    assert 'data-testid="nothing-waiting-todo"' in html and 'class="wb-zero"' in html
    assert boxes(html) == {"reviews.waiting": ("/reviews/register?waiting=me", 0)}


def test_reading_confirms_and_the_box_goes_down(world):
    c = _client(world, "front")
    assert boxes(c.get("/").get_data(as_text=True))["procedures.to_read"][1] == 2
    with world.test_request_context():
        from procedures.acknowledgements import service as acknowledgements

        acknowledgements.confirm(user("front"), "QP-CS-001", "A/0")
    assert boxes(c.get("/").get_data(as_text=True))["procedures.to_read"][1] == 1


def test_lists_filter_by_the_new_arguments(world):
    head = _client(world, "head")
    # complaints: assigned=me is the handler's own entries not closed; unknown values are a 400 like other filters
    assert head.get("/satisfaction/complaints/?assigned=someone").status_code == 400
    manager = _client(world, "manager")
    assert rows_on(manager, "/satisfaction/complaints/?assigned=me") == 0
    # the review register: waiting=me with a step, and the filter survives in the export links
    page = head.get("/reviews/register?waiting=me&state=decide").get_data(as_text=True)
    assert 'data-testid="filter-waiting"' in page and "waiting=me" in page.split('data-testid="export-csv"')[0][-300:]
    assert rows_on(_client(world, "owner"), "/reviews/register?waiting=me&state=decide") == 0


def test_the_dashboard_my_reviews_and_the_register_agree(world):
    for login, n in (("head", 2), ("owner", 1), ("controller", 2)):
        c = _client(world, login)
        mine = c.get("/reviews/").get_data(as_text=True).split('data-testid="my-reviews"')[1].split("</section>")[0]
        assert mine.count("<li data-number=") == n == rows_on(c, "/reviews/register?waiting=me"), login


def test_home_queries_do_not_grow_with_the_records(app, make_user, make_department, make_project):
    _world(app, make_user, make_department, make_project)
    _records(app, 3)
    clients = {login: _client(app, login) for login in ("manager", "head", "front")}
    for c in clients.values():
        c.get("/")  # account data and the catalogue are read once per process

    def statements():
        """Per user: (statements of the first view after new records, of the next view)."""
        counts = {}
        for login, c in clients.items():
            runs = []
            for _ in range(2):
                with counting_statements(app) as seen:
                    assert c.get("/").status_code == 200
                runs.append(len(seen))
            counts[login] = tuple(runs)
        return counts

    # New records in both months the records span: the satisfaction figures (their cache is per month) are
    # built again on the first view after each change, alike.
    _records(app, 2, start=3)
    before = statements()
    _records(app, 20, start=6)
    assert statements() == before
    assert all(warm <= 25 for _cold, warm in before.values()), before


def test_a_work_item_names_a_known_group_and_tone():
    with pytest.raises(ValueError):
        workbench.WorkItem("x", "x", 1, "/", group="elsewhere")
    with pytest.raises(ValueError):
        workbench.WorkItem("x", "x", 1, "/", tone="loud")


def test_a_feature_that_is_not_enabled_puts_nothing_on_the_workbench(tmp_path, database_url):
    """Receivers are connected process-wide: an app without reviews, actions and satisfaction shows only the
    procedures' boxes, even to an administrator who holds every permission."""
    from accounts.services import UserData, create_user, ensure_default_roles
    from tests.conftest import close_app, make_app

    app = make_app(tmp_path, database_url,
                   FEATURES=("audit", "accounts", "api", "notifications", "records", "procedures"))
    try:
        with app.app_context():
            db.create_all()
            ensure_default_roles()
            create_user(UserData(login="boss", display_name="Boss", password=PASSWORD, role_codes=("admin",)))
            db.session.commit()
        found = boxes(_client(app, "boss").get("/").get_data(as_text=True))
        assert set(found) == {"procedures.review_overdue", "procedures.review_soon", "procedures.problems"}
    finally:
        close_app(app)
