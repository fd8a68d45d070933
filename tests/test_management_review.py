"""The annual management review: exact figures on a hand-made year, the record (audited, locked,
approved once), the print view, the XLSX workbook, and who may see it."""
from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from accounts.models import Department
from actions.models import Action
from actions.service import SOURCE_TYPES
from audit.models import AuditEntry
from management import report, service
from management.models import ManagementReview
from procedures.models import Procedure
from records.stats import wilson
from satisfaction.categories import ensure_default_categories, get_category
from satisfaction.surveys.models import SurveyAnswer, SurveyResponse
from satisfaction.surveys.service import create_campaign
from tests.factories_complaints import (
    FOLLOW_DISSATISFIED,
    FOLLOW_SATISFIED,
    RESOLVE,
    fast_user,
    local,
    make_entry,
    project,
    user,
    walk,
)
from webapp.dates import local_today
from webapp.exceptions import Conflict, InvalidTransition, ValidationError
from webapp.extensions import db
from workflow.models import Review, ReviewItem

Y = local_today().year - 1   # the year reviewed: over, so its figures are fixed
YP = Y - 1                   # the year before: its review's decisions, and the trend


def _campaign(code: str, year: int, households: int, distributed: int, satisfied: int, dissatisfied: int,
              category: int | None = None) -> None:
    """A campaign with ``satisfied`` forms rated 4 and ``dissatisfied`` rated 1 (the forms go straight into the
    table: the rates only count them; 4 is satisfied and 1 is not on the old and the new default scale)."""
    campaign = create_campaign({"project_id": project(code).id, "year": year, "period": "", "households": households,
                                "distributed": distributed, "distributed_on": date(year, 6, 1),
                                "category_ids": ["security"]}, actor=user("boss"))
    for n, overall in enumerate([4] * satisfied + [1] * dissatisfied):
        response = SurveyResponse(campaign_id=campaign.id, room=f"{n}", overall=overall, void_reason="")
        if category:
            response.answers = [SurveyAnswer(category_id=category, rating=overall)]
        db.session.add(response)
    db.session.commit()


def _action(number_of, **kw) -> Action:
    values = {"kind": "corrective", "source_type": "manual", "project_id": project("P1").id, "title": "措施",
              "description": "", "cause_analysis": "", "planned_action": "", "action_taken": "",
              "verification_result": "", "status": "open", "void_reason": ""}
    values.update(kw)
    values.setdefault("updated_at", values["created_at"])
    action = Action(**values)
    db.session.add(action)
    db.session.flush()
    number_of[values["title"]] = action
    return action


def _procedure(code: str, departments, next_review: date, status: str = "effective", removed: bool = False) -> None:
    db.session.add(Procedure(code=code, title=f"{code} 规程", departments=departments, version="A/0",
                             effective=date(2020, 1, 1), status=status, review_months=12, next_review=next_review,
                             commit="0" * 40, blob="0" * 40, versions_count=1, removed=removed))


def _review(number: str, *, state: str, kind: str, closed_at=None, department=None, due_on=None, items=()) -> None:
    review = Review(number=number, kind=kind, state=state, title=f"评审 {number}", chair_id=user("boss").id,
                    department=department, closed_at=closed_at, due_on=due_on)
    review.items = [ReviewItem(code=code, title=f"{code} 规程", version_before=before, decision=decision,
                               version_after=after) for code, before, decision, after in items]
    db.session.add(review)


@pytest.fixture
def year(app, make_project, make_department):
    """Year Y with known answers (worked out in the comments); YP's review has two decisions."""
    make_project("P1", households=100, name="翠湖")
    make_project("P2", households=50, name="金禾")
    make_department("CS", "客服部")
    make_department("ENG", "工程部")
    with app.app_context():
        ensure_default_categories()
        fast_user("boss", "admin")
        fast_user("mgr", "manager")
        fast_user("writer", "clerk", ("P1", "P2"))
        security = get_category("security").id
        # Surveys. Y: P1 90 of 100 distributed, 80 returned, 70 satisfied (87.5 %); P2 40 of 50, 28 returned,
        # 26 satisfied (92.9 %, 77.4–98.0 %, small sample). Company: 130/150, 108/130, 96/108.
        _campaign("P1", Y, 100, 90, 70, 10, category=security)
        _campaign("P2", Y, 50, 40, 26, 2)
        # YP: P1 200 of 250 distributed, all returned, 168 satisfied (84.0 %, below within the noise).
        _campaign("P1", YP, 250, 200, 168, 32)

        # Complaints of Y. C1 on time throughout, satisfied; C2 urgent: late response and resolution, a
        # dissatisfied follow-up reopened it, then satisfied; C3 acknowledged on time, never resolved (its
        # deadline has passed). Praise and a voided complaint and one of YP are in no complaint figure.
        c1 = make_entry("P1", "writer", local(Y, 3, 10, 9), category="maintenance")
        walk(c1, "writer", [("acknowledge", 1, {}), ("start", 1, {}), ("resolve", 22, RESOLVE),
                            ("follow_up", 24, FOLLOW_SATISFIED), ("close", 1, {})], c1.received_at)
        c2 = make_entry("P1", "writer", local(Y, 5, 2, 9), category="security", severity="urgent")
        walk(c2, "writer", [("acknowledge", 3, {}), ("start", 1, {}), ("resolve", 26, RESOLVE),
                            ("follow_up", 10, FOLLOW_DISSATISFIED), ("resolve", 10, RESOLVE),
                            ("follow_up", 10, FOLLOW_SATISFIED)], c2.received_at)
        c3 = make_entry("P2", "writer", local(Y, 8, 1, 9), category="environment")
        walk(c3, "writer", [("acknowledge", 2, {})], c3.received_at)
        make_entry("P1", "writer", local(Y, 6, 1, 9), kind="praise", category="security")
        from satisfaction.complaints.service import void_entry

        void_entry(make_entry("P1", "writer", local(Y, 4, 1, 9)), reason="重复", actor=user("writer"),
                   now=local(Y, 4, 1, 10))
        make_entry("P1", "writer", local(YP, 12, 31, 9))

        # Actions. ENG: A1 opened and closed effective in Y; A2 opened in Y, checked not effective, back to
        # analysis and overdue. CS: A3 preventive, action taken (not overdue: the work is done); A4 opened in
        # YP, checked effective and closed in Y. A5 has no department. A6 is voided; A7 opened this year.
        eng, cs = (db.session.execute(select(Department.id).where(Department.code == c)).scalar_one()
                   for c in ("ENG", "CS"))
        made: dict = {}
        _action(made, title="A1", responsible_department_id=eng, source_type="complaint", source_id=c1.id,
                created_at=local(Y, 3, 15), status="closed", effective=True, verified_at=local(Y, 4, 20),
                closed_at=local(Y, 4, 21))
        _action(made, title="A2", responsible_department_id=eng, source_type="survey_campaign", source_id=1,
                created_at=local(Y, 6, 1), status="cause_analysed", due_on=date(Y, 7, 1), effective=False,
                verified_at=local(Y, 8, 1))
        _action(made, title="A3", kind="preventive", responsible_department_id=cs, created_at=local(Y, 10, 1),
                status="action_taken", due_on=date(Y, 11, 1))
        _action(made, title="A4", responsible_department_id=cs, created_at=local(YP, 12, 1), status="closed",
                effective=True, verified_at=local(Y, 1, 20), closed_at=local(Y, 2, 1))
        _action(made, title="A5", created_at=local(Y, 5, 5))
        _action(made, title="A6", responsible_department_id=eng, created_at=local(Y, 5, 6), voided_at=local(Y, 5, 7),
                void_reason="录错")
        _action(made, title="A7", responsible_department_id=eng, created_at=local(Y + 1, 1, 2), due_on=date(Y, 12, 1))

        # Reviews: two closed in Y (one released QP-CS-001 A/1), one closed in YP, one open and late.
        _review(f"R-{Y}-001", state="closed", kind="incident", closed_at=local(Y, 9, 1), department="CS",
                items=[("QP-CS-001", "A/0", "revise", "A/1")])
        _review(f"R-{Y}-002", state="closed", kind="periodic", closed_at=local(Y, 11, 1),
                items=[("QP-EN-002", "A/0", "no_change", None)])
        _review(f"R-{YP}-003", state="closed", kind="periodic", closed_at=local(YP, 6, 1),
                items=[("QP-CS-001", "A/0", "no_change", None)])
        _review(f"R-{Y}-004", state="discuss", kind="incident", due_on=date(Y, 12, 1))
        # Procedures: QP-EN-002 (ENG) is past its next review; withdrawn and removed ones never are.
        today = local_today()
        _procedure("QP-CS-001", ["CS"], today + timedelta(days=100))
        _procedure("QP-EN-002", ["ENG"], today - timedelta(days=10))
        _procedure("QP-XX-003", ["ENG"], today - timedelta(days=10), status="withdrawn")
        _procedure("QP-XX-004", ["ENG"], today - timedelta(days=10), removed=True)
        db.session.commit()

        # YP's review: two decisions, the first carried out by A4.
        service.save(YP, {"held_on": date(Y, 1, 15).isoformat(), "attendees": "王总\n李经理", "conclusions": "体系有效",
                          "items": [{"kind": "improvement", "text": "加强维修回访", "responsible": "工程部",
                                     "due_on": date(Y, 6, 30).isoformat(), "action": made["A4"].number},
                                    {"kind": "resource", "text": "增加客服人员", "responsible": "人事部"}]},
                     actor=user("mgr"))
        service.approve(YP, actor=user("mgr"), version=service.get_record(YP).version)
        ids = {k: a.id for k, a in made.items()}
    return ids


def _pct(rate):
    return tuple(None if x is None else round(x * 100, 1) for x in (rate.value, rate.low, rate.high))


def test_figures_are_exact(app, year):
    with app.test_request_context():
        rep = report.build(Y)
        s = rep.satisfaction
        p1, p2 = s.projects
        assert (p1.counts.households, p1.counts.distributed, p1.counts.returned, p1.counts.satisfied) == (100, 90, 80, 70)
        assert _pct(p1.satisfaction) == (87.5, 78.5, 93.1) and p1.satisfaction.label == "met_uncertain"
        assert _pct(p2.satisfaction) == (92.9, 77.4, 98.0) and p2.satisfaction.small_sample
        assert _pct(p2.returned) == (70.0, 54.6, 81.9) and p2.returned.label == "below"
        c = s.company
        assert (c.counts.households, c.counts.distributed, c.counts.returned, c.counts.satisfied) == (150, 130, 108, 96)
        assert _pct(c.distribution) == (86.7, 80.3, 91.2) and c.distribution.label == "below_noise"
        assert _pct(c.returned) == (83.1, 75.7, 88.6) and c.returned.label == "below_noise"
        assert _pct(c.satisfaction) == (88.9, 81.6, 93.5) and c.satisfaction.label == "met_uncertain"
        assert [(label, _pct(r)) for label, r in s.categories] == [("安全", (87.5, 78.5, 93.1))]
        trend = dict(s.trend)
        assert list(trend) == list(range(Y - 4, Y + 1)) and trend[Y].counts == c.counts
        assert _pct(trend[YP].satisfaction) == (84.0, 78.3, 88.4) and trend[YP].satisfaction.label == "below_noise"
        assert trend[YP - 1].counts.returned == 0 and trend[YP - 1].satisfaction.value is None

        k = rep.complaints
        assert (k.totals.complaints, k.totals.praise) == (3, 1)
        assert {cat.code: k.totals.by_category.get(cat.id, 0) for cat in k.categories if
                k.totals.by_category.get(cat.id)} == {"maintenance": 1, "security": 1, "environment": 1}
        assert [f.complaints for _m, f in k.months] == [0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0, 0]
        assert (k.on_time_response.successes, k.on_time_response.n) == (2, 3)
        assert (k.on_time_resolution.successes, k.on_time_resolution.n) == (1, 3)
        assert (k.handling_satisfaction.successes, k.handling_satisfaction.n) == (2, 3)
        low, high = k.on_time_response.interval
        assert (round(low * 100, 1), round(high * 100, 1)) == (20.8, 93.9)

        a = rep.actions
        assert [(label, n.as_dict()) for label, n in a.departments] == [
            ("客服部", {"opened": 1, "closed": 1, "effective": 1, "not_effective": 0, "overdue": 0}),
            ("工程部", {"opened": 2, "closed": 1, "effective": 1, "not_effective": 1, "overdue": 1}),
            (str(report.NO_DEPARTMENT), {"opened": 1, "closed": 0, "effective": 0, "not_effective": 0, "overdue": 0}),
        ]
        assert a.totals.as_dict() == {"opened": 4, "closed": 2, "effective": 2, "not_effective": 1, "overdue": 1}
        assert a.totals.effectiveness.value == pytest.approx(2 / 3)
        assert {label: kinds for label, kinds in a.sources} == {
            str(SOURCE_TYPES["complaint"]): {"corrective": 1},
            str(SOURCE_TYPES["manual"]): {"corrective": 1, "preventive": 1},
            str(SOURCE_TYPES["survey_campaign"]): {"corrective": 1}}

        r = rep.reviews
        assert [x.review.number for x in r.closed] == [f"R-{Y}-001", f"R-{Y}-002"]
        assert r.by_kind == {"incident": 1, "periodic": 1}
        assert r.changed == [(f"R-{Y}-001", "QP-CS-001", "QP-CS-001 规程", "A/0", "A/1")]
        assert (r.overdue_total, [row[0] for row in r.overdue], r.overdue_departments) == (
            1, ["QP-EN-002"], [("工程部", 1)])
        assert r.late_reviews == 1

        prev = rep.previous
        assert prev.year == YP and prev.record.approved
        assert [(p.item.text, p.action.number if p.action else None, p.action.status if p.action else None)
                for p in prev.items] == [("加强维修回访", f"CA-{year['A4']:05d}", "closed"), ("增加客服人员", None, None)]


def test_figures_take_a_fixed_number_of_queries(app, year):
    """Aggregates: more records of the same kinds add no query."""
    from tests.sql_count import counting_statements

    with app.test_request_context():
        with counting_statements(app) as first:
            report.build(Y)
        for n in range(20):
            _action({}, title=f"B{n}", created_at=local(Y, 7, 1), due_on=date(Y, 8, 1))
            _review(f"R-{Y}-1{n:02d}", state="closed", kind="periodic", closed_at=local(Y, 10, 1),
                    items=[("QP-CS-001", "A/1", "revise", "A/2")])
        db.session.commit()
        db.session.expire_all()
        with counting_statements(app) as second:
            report.build(Y)
    assert len(second) == len(first)


def _login(client, who):
    assert client.login(who).status_code == 302
    client.get("/")
    return client


def test_page_shows_the_report(client, year):
    _login(client, "mgr")
    html = client.get(f"/management/review/{Y}").get_data(as_text=True)
    company = re.search(r'<tr data-testid="satisfaction-company">(.*?)</tr>', html, re.S).group(1)
    assert "88.9%" in company and "81.6%–93.5%" in company and 'data-label="met_uncertain"' in company
    assert 'data-small-sample' in re.search(r'<tr data-testid="satisfaction-project">.*?</tr>.*?'
                                            r'<tr data-testid="satisfaction-project">(.*?)</tr>', html, re.S).group(1)
    assert re.search(r'data-testid="complaints-total">3<', html)
    assert re.search(r'data-testid="action-totals">.*?>4<.*?>2<.*?>2<.*?>1<', html, re.S)
    assert f"R-{Y}-001" in html and "A/0 → A/1" in html and "QP-EN-002" in html
    assert "加强维修回访" in html and f"CA-{year['A4']:05d}" in html
    assert 'data-testid="record-form"' in html and 'data-testid="approve-form"' not in html
    # The index lists the years, the year before with its approved record; the nav names the page.
    index = client.get("/management/review/").get_data(as_text=True)
    assert f'data-year="{Y}"' in index and f'data-year="{YP}"' in index and "/management/review/" in index
    assert client.get("/management/").status_code == 302
    assert client.get(f"/management/review/{local_today().year + 1}").status_code == 404


def _form(client, **over):
    html = client.get(f"/management/review/{Y}").get_data(as_text=True)
    version = re.search(r'id="version" name="version" type="hidden" value="([^"]*)"', html).group(1)
    follow_ids = re.findall(r'name="(follow_up-\d+-item_id)" type="hidden" value="(\d+)"', html)
    data = {"version": version, "held_on": date(Y + 1, 1, 10).isoformat(), "attendees": "王总\n张主任",
            "conclusions": "体系基本有效", "items-0-kind": "improvement", "items-0-text": "降低投诉处理超时",
            "items-0-responsible": "客服部", "items-0-due_on": date(Y + 1, 6, 30).isoformat(),
            "items-0-action": "", "submit": "1"}
    for name, value in follow_ids:
        data[name] = value
    data["follow_up-0-state"], data["follow_up-0-note"] = "done", "已完成"
    data.update(over)
    return data


def _entries(app, action, year=Y):
    """The audit entries ``action`` of the record of ``year``."""
    with app.app_context():
        record = service.get_record(year)
        return [e.action for e in db.session.execute(
            select(AuditEntry).where(AuditEntry.action == action, AuditEntry.object_type == "management_reviews",
                                     AuditEntry.object_id == str(record.id))).scalars()]


def test_saving_the_record_is_audited_and_locked(app, client, year):
    _login(client, "mgr")
    stale = _form(client)
    r = client.post(f"/management/review/{Y}", _form(client))
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    assert len(_entries(app, "management_review.created")) == 1
    # A page loaded before the record existed cannot overwrite it.
    r = client.post(f"/management/review/{Y}", stale)
    assert r.status_code == 409
    # Saved again from the current page: updated, audited; a page older than that is refused.
    current = _form(client, **{"items-1-kind": "resource", "items-1-text": "增配巡检人员", "items-1-action":
                               f"CA-{year['A2']:05d}"})
    older = _form(client, conclusions="旧的结论")
    assert client.post(f"/management/review/{Y}", current).status_code == 302
    assert client.post(f"/management/review/{Y}", older).status_code == 409
    assert len(_entries(app, "management_review.updated")) == 1
    with app.app_context():
        record = service.get_record(Y)
        assert record.conclusions == "体系基本有效" and record.state == "draft"
        assert [(i.kind, i.text, i.action_id) for i in record.items] == [
            ("improvement", "降低投诉处理超时", None), ("resource", "增配巡检人员", year["A2"])]
        first_prev = report.previous_items(Y)[1][0]
        assert record.follow_up == {str(first_prev.id): {"state": "done", "note": "已完成"}}
    # Field errors: an unknown action number, a decision without its kind; nothing saved.
    bad = _form(client, **{"items-0-action": "CA-99999", "items-0-kind": ""})
    r = client.post(f"/management/review/{Y}", bad)
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    with app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        assert str(service.UNKNOWN_ACTION) in html
    # The page shows what this meeting found of the previous decisions.
    html = client.get(f"/management/review/{Y}").get_data(as_text=True)
    assert "已完成" in html


def test_approval_closes_the_record(app, client, year):
    _login(client, "mgr")
    assert client.post(f"/management/review/{Y}", _form(client, held_on="", attendees="")).status_code == 302
    html = client.get(f"/management/review/{Y}").get_data(as_text=True)
    version = re.search(r'<form method="post" action="/management/review/\d+/approve".*?name="version" '
                        r'type="hidden" value="(\d+)"', html, re.S).group(1)
    # The meeting's date and attendees are needed first.
    r = client.post(f"/management/review/{Y}/approve", {"version": version})
    assert r.status_code == 400
    with app.app_context():
        assert not service.get_record(Y).approved
    assert client.post(f"/management/review/{Y}", _form(client)).status_code == 302
    with app.app_context():
        version = service.get_record(Y).version
    assert client.post(f"/management/review/{Y}/approve", {"version": version - 1}).status_code == 409
    assert client.post(f"/management/review/{Y}/approve", {"version": version}).status_code == 302
    with app.app_context():
        record = service.get_record(Y)
        assert record.approved and record.approved_name == "Mgr" and record.approved_at is not None
        entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "management_review.approved",
                                                            AuditEntry.object_id == str(record.id))).scalar_one()
        figures = entry.after["figures"]
        assert figures["satisfaction"]["company"]["satisfaction"]["value"] == round(96 / 108, 4)
        assert figures["actions"]["totals"]["opened"] == 4 and figures["complaints"]["complaints"] == 3
        # Approved: read-only; saving or approving again is refused, nothing is deleted.
        with pytest.raises(InvalidTransition):
            service.save(Y, {"conclusions": "改"}, actor=user("mgr"), version=record.version)
        with pytest.raises(InvalidTransition):
            service.approve(Y, actor=user("mgr"), version=record.version)
        version = record.version
    html = client.get(f"/management/review/{Y}").get_data(as_text=True)
    assert 'data-testid="record-form"' not in html and 'data-state="approved"' in html and "Mgr" in html
    posted = {"version": str(version), "held_on": date(Y + 1, 1, 10).isoformat(), "attendees": "王总",
              "conclusions": "改", "submit": "1"}
    assert client.post(f"/management/review/{Y}", posted).status_code == 409
    with app.app_context():
        assert service.get_record(Y).conclusions == "体系基本有效"


def test_service_refuses_bad_input(app, year):
    with app.test_request_context():
        with pytest.raises(ValidationError) as exc:
            service.save(Y, {"held_on": date(Y + 5, 1, 1).isoformat(),
                             "items": [{"kind": "nonsense", "text": "x"}, {"responsible": "y", "kind": "change"}, {"text": "x", "kind": "change",
                                                                         "action": f"PA-{year['A1']:05d}"}],
                             "follow_up": {"999999": {"state": "done"}}}, actor=user("mgr"))
        assert set(exc.value.errors) == {"held_on", "items-0-kind", "items-1-text", "items-2-action", "follow_up"}
        assert service.get_record(Y) is None
        with pytest.raises(Conflict):  # the year's record exists: a save must say which version it edits
            service.save(YP, {}, actor=user("mgr"))


def test_print_view(client, year):
    _login(client, "mgr")
    r = client.get(f"/management/review/{Y}/print")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'data-testid="print-title"' in html and "management.css" in html and "<form" not in html
    assert "<script>" not in html and 'data-testid="no-record"' in html
    for section in ("section-previous", "section-satisfaction", "section-actions", "section-reviews",
                    "section-record"):
        assert f'data-testid="{section}"' in html
    assert "88.9%" in html and f"R-{Y}-001" in html
    from pathlib import Path

    assert "size: A4 portrait" in (Path(client.app.static_folder) / "css" / "management.css").read_text()


def test_xlsx_workbook(client, year):
    _login(client, "mgr")
    r = client.get(f"/management/review/{Y}.xlsx")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    wb = load_workbook(io.BytesIO(r.data))
    assert len(wb.sheetnames) == 10
    prev, sat, cats, trend, complaints, handling, actions, reviews, overdue, record = (wb[n] for n in wb.sheetnames)

    def rows(ws):
        return [list(row) for row in ws.iter_rows(values_only=True)]

    company = next(r for r in rows(sat) if r[1] == 150)
    assert company[2:4] == [130, pytest.approx(130 / 150)]
    assert company[-4:-1] == [pytest.approx(96 / 108), pytest.approx(wilson(96, 108)[0]),
                              pytest.approx(wilson(96, 108)[1])]
    assert sat.cell(row=4, column=4).number_format == "0.0%"
    year_rows = {r[0]: r for r in rows(trend) if isinstance(r[0], str) and r[0].isdigit()}
    assert year_rows[str(YP)][7] == 200 and year_rows[str(YP)][-4] == pytest.approx(0.84)
    totals = [r for r in rows(complaints) if r[1] == 3]
    assert len(totals) == 1 and not str(totals[0][0]).startswith(str(Y))  # the year's totals row
    handling_rows = rows(handling)[3:]
    assert [r[1:3] for r in handling_rows] == [[2, 3], [1, 3], [2, 3]]
    action_totals = next(r for r in rows(actions) if r[1] == 4)
    assert action_totals[1:5] == [4, 2, 2, 1] and action_totals[6] == 1
    assert any(r[0] == f"R-{Y}-001" for r in rows(reviews))
    assert any(r[0] == "QP-EN-002" for r in rows(overdue))
    assert any("加强维修回访" in str(r[1]) for r in rows(prev))
    assert len(rows(record)) == 4  # title, subtitle, header and "not recorded yet"


def test_clerk_is_refused(client, year, make_user):
    make_user("clerk", roles=("clerk",), projects=("P1",))
    _login(client, "clerk")
    for url in ("/management/review/", f"/management/review/{Y}", f"/management/review/{Y}/print",
                f"/management/review/{Y}.xlsx"):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/management/review/{Y}", {"conclusions": "x"}).status_code == 403
    assert client.post(f"/management/review/{Y}/approve", {"version": "1"}).status_code == 403
    assert "/management" not in client.get("/").get_data(as_text=True)
    with client.app.app_context():
        assert db.session.execute(select(ManagementReview).where(ManagementReview.year == Y)).first() is None
