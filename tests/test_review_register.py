"""The review register (filters, pagination, CSV/XLSX, print view, no query per row) and the approval-rule
settings page (permission, saving and removing rules, what the review page then says, bad input)."""
from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from audit.models import AuditEntry
from tests.conftest import Client
from tests.factories_workflow import make_people, open_review, seed_procedure, user
from tests.sql_count import counting_statements
from webapp.dates import local_today
from webapp.db import utcnow
from webapp.extensions import db
from workflow import service, signoffs
from workflow.models import Review, ReviewTrigger

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def people(app, make_user, make_department):
    make_department("CS", "客服部")
    make_department("EN", "工程部")
    make_people(make_user)
    seed_procedure(app)
    return app


def as_user(app, login, lang="en") -> Client:
    c = Client(app)
    assert c.login(login).status_code == 302
    c.get("/")
    c.post("/language", {"lang": lang, "next": "/"})
    return c


def _review(number) -> Review:
    return db.session.execute(select(Review).where(Review.number == number)).scalar_one()


def close(app, number, *, state="closed", decision="revise", after="A/1", effective=date(2026, 3, 1)):
    """Put a review in its final state directly (the release itself is tested in test_workflow)."""
    with app.app_context():
        r = _review(number)
        r.state, r.closed_at = state, utcnow()
        if state == "closed":
            r.effective_on, r.result_commit = effective, COMMIT
        else:
            r.cancel_reason = "重复"
        for item in r.items:
            item.open_code = None
            if state == "closed":
                item.decision, item.version_after = decision, after if decision == "revise" else item.version_before
        db.session.commit()


def update(app, number, **values):
    with app.app_context():
        r = _review(number)
        for k, v in values.items():
            setattr(r, k, v)
        db.session.commit()


@pytest.fixture
def world(people):
    """Three reviews: closed incident (QP-CS-001 and QP-CS-002), open periodic of last year (QP-CS-003),
    cancelled incident triggered by a complaint (QP-EN-001, an engineering procedure)."""
    app = people
    seed_procedure(app, "QP-CS-002", title="投诉处理规程")
    seed_procedure(app, "QP-CS-003", title="回访规程")
    seed_procedure(app, "QP-EN-001", title="设备维修规程", departments="[EN]")
    closed = open_review(app, ("QP-CS-001", "QP-CS-002"))
    close(app, closed)
    periodic = open_review(app, ("QP-CS-003",), kind="periodic", participants=(("head", "dept_head"),))
    update(app, periodic, created_at=datetime(2025, 6, 1, 4, tzinfo=UTC), title="年度复审 回访")
    cancelled = open_review(app, ("QP-EN-001",))
    with app.app_context():
        r = _review(cancelled)
        r.triggers.append(ReviewTrigger(source_type="complaint", source_id=7, label="C-2026-007", reason="漏水"))
        db.session.commit()
    close(app, cancelled, state="cancelled")
    return app, {"closed": closed, "periodic": periodic, "cancelled": cancelled}


def listed(c, query="") -> list[str]:
    r = c.get(f"/reviews/register{query}")
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    return re.findall(r'<tr data-number="([^"]+)"', r.get_data(as_text=True))


def test_register_lists_every_review_with_its_columns(world):
    app, n = world
    c = as_user(app, "head")  # a participant may read the register
    page = c.get("/reviews/register").get_data(as_text=True)
    assert listed(c) == [n["cancelled"], n["closed"], n["periodic"]]  # newest first
    row = page.split(f'data-number="{n["closed"]}"')[1].split("</tr>")[0]
    assert f'href="/reviews/{n["closed"]}"' in row
    assert "QP-CS-001 A/0 → A/1" in row and "QP-CS-002 A/0 → A/1" in row
    assert "QP-CS-001: Revise (adopt the draft)" in row
    assert "Management 2" in row and "Department head 1" in row and "Customer representative 1" in row
    assert COMMIT[:10] in row and COMMIT[:11] not in row.replace(f'title="{COMMIT}"', "")
    assert "2026-03-01" in row or "1 Mar 2026" in row
    cancelled = page.split(f'data-number="{n["cancelled"]}"')[1].split("</tr>")[0]
    assert "Complaint: C-2026-007" in cancelled and "Request: test" in cancelled
    assert "QP-EN-001 A/0 → —" in cancelled


@pytest.mark.parametrize(("query", "expected"), [
    ("?state=open", ["periodic"]),
    ("?state=closed", ["closed"]),
    ("?state=cancelled", ["cancelled"]),
    ("?state=any&kind=periodic", ["periodic"]),
    ("?kind=incident", ["cancelled", "closed"]),
    ("?procedure=qp-cs-002", ["closed"]),
    ("?department=EN", ["cancelled"]),
    ("?department=CS", ["closed", "periodic"]),
    ("?year=2025", ["periodic"]),
    ("?trigger=complaint", ["cancelled"]),
    ("?trigger=person", ["cancelled", "closed", "periodic"]),
    ("?q=年度复审", ["periodic"]),
    ("?q=100%25", []),
    ("?state=bogus&kind=x&year=abc&trigger=nope&page=-3", ["cancelled", "closed", "periodic"]),
])
def test_register_filters(world, query, expected):
    app, n = world
    c = as_user(app, "controller")
    assert listed(c, query) == [n[k] for k in expected]


def test_register_filters_by_number_and_department_of_the_review(world):
    app, n = world
    update(app, n["periodic"], department="EN")
    c = as_user(app, "controller")
    assert listed(c, f"?q={n['closed'].lower()}") == [n["closed"]]
    assert listed(c, "?department=EN") == [n["cancelled"], n["periodic"]]


def test_register_is_paginated_with_a_fixed_number_of_queries(world):
    app, n = world
    c = as_user(app, "controller")
    first = c.get("/reviews/register?per_page=2&kind=").get_data(as_text=True)
    assert re.findall(r'<tr data-number="([^"]+)"', first) == [n["cancelled"], n["closed"]]
    assert 'rel="next"' in first and "page=2" in first
    assert listed(c, "?per_page=2&page=2") == [n["periodic"]]

    def count(url):
        c.get(url)
        with counting_statements(app) as statements:
            assert c.get(url).status_code == 200
        return len(statements)

    one = count("/reviews/register?per_page=1")
    assert count("/reviews/register?per_page=50") == one


def test_register_needs_the_participate_permission(people, make_user):
    make_user("reader1", roles=("reader",))
    c = as_user(people, "reader1")
    for url in ("/reviews/register", "/reviews/register/export.csv", "/reviews/register/print"):
        assert c.get(url).status_code == 403


def test_xlsx_export_one_row_per_review(world):
    app, n = world
    c = as_user(app, "controller")
    r = c.get("/reviews/register/export.xlsx?state=closed")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    ws = load_workbook(io.BytesIO(r.data)).active
    assert ws["A1"].value == "Review register"
    assert "State: Closed" in ws["A2"].value
    headers = [cell.value for cell in ws[3]]
    row = dict(zip(headers, [cell.value for cell in ws[4]], strict=True))
    assert ws.max_row == 4
    assert row["Number"] == n["closed"] and row["Kind"] == "Incident review" and row["State"] == "Closed"
    assert row["Procedures (version before → after)"] == "QP-CS-001 A/0 → A/1\nQP-CS-002 A/0 → A/1"
    assert row["Decisions"].startswith("QP-CS-001: Revise")
    assert row["Chair"] == "文控 周敏"
    assert row["Participants"] == "Management 2, Department head 1, Frontline staff 1, Customer representative 1"
    assert row["Effective date"] == datetime(2026, 3, 1) and isinstance(row["Opened"], datetime)
    assert row["Result commit"] == COMMIT


def test_csv_export_follows_the_filters(world):
    app, n = world
    c = as_user(app, "controller")
    r = c.get("/reviews/register/export.csv?trigger=complaint")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Number", "Kind", "State"] and len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Number"] == n["cancelled"] and row["State"] == "Cancelled"
    assert row["Triggers"] == "Request: test\nComplaint: C-2026-007"
    assert row["Department"] == "" and row["Reason for cancelling"] == "重复"
    assert len(list(csv.reader(io.StringIO(c.get("/reviews/register/export.csv").data.decode("utf-8-sig"))))) == 4


def test_print_view_names_the_filters(world):
    app, n = world
    c = as_user(app, "controller")
    year = local_today().year
    page = c.get(f"/reviews/register/print?kind=incident&department=CS&year={year}").get_data(as_text=True)
    assert 'class="c-print"' in page and "complaints.css" in page  # the A4 landscape register layout
    heading = re.search(r'data-testid="print-filters">([^<]*)<', page).group(1)
    assert "Kind: Incident review" in heading and "Department: CS" in heading and f"Opened in: {year}" in heading
    assert re.findall(r'<tr data-number="([^"]+)"', page) == [n["closed"]]
    assert "All reviews" in c.get("/reviews/register/print").get_data(as_text=True)


# ---------------------------------------------------------------------------
# approval rules
# ---------------------------------------------------------------------------


def post_rule(c, key, counts, no_rejection=True, **kw):
    data = {f"rule-{key}-{cat}": str(v) for cat, v in counts.items()}
    if no_rejection:
        data[f"rule-{key}-no_rejection"] = "y"
    c.get("/reviews/rules")
    data[f"rule-{key}-csrf_token"] = c.csrf
    return c.post(f"/reviews/rules/{key}", data, **kw)


ZERO = {"management": 0, "dept_head": 0, "frontline": 0, "customer_rep": 0}


def rule(app, department):
    with app.app_context():
        return signoffs.rule_for(department)


def audited(app, action) -> list[AuditEntry]:
    with app.app_context():
        return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()


def rule_text(c, number) -> str:
    page = c.get(f"/reviews/{number}").get_data(as_text=True)
    return " ".join(re.search(r'data-testid="rule">(.*?)</p>', page, re.S).group(1).split())


def test_rules_page_needs_the_manage_permission(people):
    c = as_user(people, "head")
    assert c.get("/reviews/rules").status_code == 403
    assert post_rule(c, "default", dict(ZERO, management=5)).status_code == 403
    assert c.post("/reviews/rules/CS/remove").status_code == 403
    assert rule(people, None).requirements == signoffs.DEFAULT_REQUIREMENTS


def test_rules_page_shows_default_and_department_rules(people):
    c = as_user(people, "controller")
    page = c.get("/reviews/rules").get_data(as_text=True)
    assert [k for k in re.findall(r'<tr data-rule="([^"]+)"', page)] == ["default", "CS", "EN"]
    assert 'name="rule-CS-management"' in page and 'name="rule-default-no_rejection"' in page
    assert 'data-testid="rule-remove"' not in page  # no department has a rule of its own yet


def test_saving_the_default_rule_changes_the_review_page(people):
    app = people
    number = open_review(app)
    c = as_user(app, "controller")
    r = post_rule(c, "default", dict(ZERO, management=2, frontline=1))
    assert r.status_code == 302 and r.headers["Location"].endswith("/reviews/rules#rule-default")
    assert rule(app, None) == signoffs.Rule({"management": 2, "frontline": 1}, True, None)
    assert rule_text(c, number).startswith("Adoption needs: Management × 2, Frontline staff × 1; no outstanding rejection")
    entry = audited(app, "review.rule_saved")[-1]
    assert entry.after == {"requirements": {"management": 2, "frontline": 1}, "no_rejection": True}
    assert entry.actor_login == "controller"


def test_department_rule_wins_then_removing_it_falls_back_to_the_default(people):
    app = people
    number = open_review(app)
    update(app, number, department="CS")
    c = as_user(app, "manager")
    assert post_rule(c, "CS", dict(ZERO, customer_rep=3, dept_head=1), no_rejection=False).status_code == 302
    assert rule(app, "CS") == signoffs.Rule({"dept_head": 1, "customer_rep": 3}, False, "CS")
    assert rule(app, "EN").department is None  # other departments keep the default
    text = rule_text(c, number)
    assert "Customer representative × 3" in text and "Department head × 1" in text and "rejection" not in text
    page = c.get("/reviews/rules").get_data(as_text=True)
    assert page.count('data-testid="rule-remove"') == 1 and "/reviews/rules/CS/remove" in page

    assert c.post("/reviews/rules/CS/remove").status_code == 302
    assert rule(app, "CS") == signoffs.Rule(dict(signoffs.DEFAULT_REQUIREMENTS), True, None)
    assert rule_text(c, number).startswith("Adoption needs: Management × 1, Department head × 1;")
    removed = audited(app, "review.rule_removed")
    assert len(removed) == 1 and removed[0].before["requirements"] == {"dept_head": 1, "customer_rep": 3}
    assert c.post("/reviews/rules/CS/remove").status_code == 404  # nothing left to remove
    assert c.post("/reviews/rules/default/remove").status_code == 400


@pytest.mark.parametrize(("counts", "field"), [
    (dict(ZERO, management="abc"), "management"),
    (dict(ZERO, management=21), "management"),
    (dict(ZERO, frontline=-1), "frontline"),
    (dict(ZERO, dept_head=""), "dept_head"),
    (dict(ZERO, customer_rep="1.5"), "customer_rep"),
])
def test_bad_rule_input_is_a_400_at_the_field(people, counts, field):
    c = as_user(people, "controller")
    r = post_rule(c, "CS", counts)
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    # The field's own box (its label's for=, not the error summary's data-error-for link).
    box = page.split(f' for="rule-CS-{field}"')[1].split("</div>\n</div>")[0]
    assert box.count('role="alert"') == 1
    assert rule(people, "CS").department is None and not audited(people, "review.rule_saved")


def test_a_rule_asking_for_nothing_is_refused(people):
    c = as_user(people, "controller")
    r = post_rule(c, "default", ZERO)
    assert r.status_code == 400 and "at least one approval" in r.get_data(as_text=True)
    assert rule(people, None).requirements == signoffs.DEFAULT_REQUIREMENTS


def test_rule_posts_need_csrf_and_a_known_department(people):
    c = as_user(people, "controller")
    c.get("/reviews/rules")
    assert c.post("/reviews/rules/default", {"rule-default-management": "3"}, csrf=False).status_code == 400
    assert post_rule(c, "NOPE", dict(ZERO, management=1)).status_code == 404
    assert c.post("/reviews/rules/NOPE/remove").status_code == 404
    assert rule(people, None).requirements == signoffs.DEFAULT_REQUIREMENTS


def test_cancelled_reviews_are_listed_with_the_service(people):
    """A review cancelled through the service (not set directly) shows as cancelled with its close date."""
    app = people
    number = open_review(app)
    with app.app_context():
        service.cancel(_review(number), reason="合并到其他复审", actor=user("controller"))
    c = as_user(app, "controller")
    assert listed(c, "?state=cancelled") == [number]
    assert listed(c, "?state=open") == []
