"""Incident triggers of procedure reviews (review rule 2): a major complaint, a corrective action and an
owners'-committee issue open an incident review (or join the one open for the procedure) through
signals; the review lists the record and the record's page lists the review. Migration 0013 turns the
complaint register's earlier requests into open incident reviews."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from audit.models import AuditEntry
from tests.conftest import Client, close_app, make_app
from tests.factories_complaints import make_entry, user
from tests.factories_workflow import make_people, open_review, seed_procedure
from tests.test_workflow import as_user
from webapp.db import utcnow
from webapp.extensions import db

CODE, OTHER = "QP-CS-001", "QP-CS-002"
REVIEW_NUMBER = re.compile(r"R-\d{4}-\d{3}")


@pytest.fixture
def world(app, make_user, make_project, make_department):
    """Project P1 with a clerk on it, the review people (controller chairs), two procedures, categories."""
    from satisfaction.categories import ensure_default_categories

    make_project("P1")
    make_project("P2")
    make_department("CS")
    make_people(make_user)
    make_user("clerk", roles=("clerk",), projects=("P1",), locale="en")
    make_user("clerk2", roles=("clerk",), projects=("P2",), locale="en")
    seed_procedure(app, CODE)
    seed_procedure(app, OTHER)
    with app.app_context():
        ensure_default_categories()
        db.session.commit()
    return app


def _major_complaint(app, description="家中被盗，监控录像缺失") -> tuple[int, str]:
    with app.app_context():
        entry = make_entry("P1", "clerk", utcnow() - timedelta(hours=3), severity="major", description=description)
        return entry.id, entry.number


def _action(app, title="门岗巡查记录缺失") -> tuple[int, str]:
    from accounts.models import Project
    from actions import service as actions

    with app.test_request_context():
        pid = db.session.execute(select(Project.id).where(Project.code == "P1")).scalar_one()
        action = actions.create_manual({"kind": "corrective", "project_id": pid, "title": title},
                                       actor=user("clerk"))
        return action.id, action.number


def _meeting(app) -> tuple[int, list[int]]:
    from accounts.models import Project
    from satisfaction.meetings import service as meetings
    from satisfaction.models import ServiceCategory

    with app.test_request_context():
        pid = db.session.execute(select(Project.id).where(Project.code == "P1")).scalar_one()
        cat = db.session.execute(select(ServiceCategory.id).where(ServiceCategory.code == "security")).scalar_one()
        meeting = meetings.save_meeting(None, {
            "project_id": pid, "held_on": "2026-03-18", "title": "业委会座谈会",
            "issues": [{"description": "夜间门岗无人值守", "category": cat},
                       {"description": "快递乱放", "category": cat}]}, actor=user("clerk"))
        return meeting.id, [i.id for i in meeting.issues]


def _review(app, number):
    from workflow.models import Review

    with app.app_context():
        review = db.session.execute(select(Review).where(Review.number == number)).scalar_one()
        return {"kind": review.kind, "state": review.state, "codes": [i.code for i in review.items],
                "triggers": [(t.source_type, t.source_id, t.label, t.reason) for t in review.triggers]}


def _flashed_review(page: str) -> str:
    m = re.search(r'<a href="/reviews/(R-\d{4}-\d{3})">', page)
    assert m, page[:3000]
    return m.group(1)


def _listed(page: str) -> list[str]:
    return re.findall(r'data-testid="record-review" data-number="(R-\d{4}-\d{3})"', page)


# ---------------------------------------------------------------------------------------------
# complaints


def test_a_major_complaint_opens_an_incident_review_linked_both_ways(world):
    app = world
    clerk, chair = as_user(app, "clerk"), as_user(app, "controller")
    eid, number = _major_complaint(app)
    page = clerk.get(f"/satisfaction/complaints/{eid}").get_data(as_text=True)
    assert "Open an incident review" in page and f'<option value="{CODE}"' in page

    r = clerk.post(f"/satisfaction/complaints/{eid}/review", {"procedure_code": CODE}, follow_redirects=True)
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "Incident review" in page and "opened" in page
    review = _flashed_review(page)
    assert _listed(page) == [review] and 'data-testid="review-requested"' in page
    assert 'data-testid="request-review"' not in page  # one request per complaint
    found = _review(app, review)
    assert found["kind"] == "incident" and found["state"] == "propose" and found["codes"] == [CODE]
    assert [(t[0], t[1], t[2]) for t in found["triggers"]] == [("complaint", eid, number)]
    assert found["triggers"][0][3].startswith(number)

    # the review names the complaint and links back to it
    review_page = chair.get(f"/reviews/{review}").get_data(as_text=True)
    assert f'href="/satisfaction/complaints/{eid}"' in review_page and number in review_page

    # the API entry lists it too (declared in the OpenAPI document: the test client checks)
    body = clerk.api("GET", f"/api/v1/complaints/{eid}").json
    assert [(x["number"], x["kind"], x["state"], x["versions"]) for x in body["reviews"]] == [
        (review, "incident", "propose", [])]
    assert clerk.api("GET", "/api/v1/complaints").json["items"][0]["reviews"] == body["reviews"]

    # a second complaint about the same procedure joins the review instead of opening another
    eid2, number2 = _major_complaint(app, "再次被盗")
    page = clerk.post(f"/satisfaction/complaints/{eid2}/review", {"procedure_code": CODE},
                      follow_redirects=True).get_data(as_text=True)
    assert _flashed_review(page) == review and "Added to incident review" in page
    assert [(t[0], t[1]) for t in _review(app, review)["triggers"]] == [("complaint", eid), ("complaint", eid2)]
    assert _listed(page) == [review]


def test_a_closed_review_shows_the_versions_it_produced_on_the_complaint(world):
    from workflow.models import Review, ReviewItem

    app = world
    clerk = as_user(app, "clerk")
    eid, _number = _major_complaint(app)
    clerk.post(f"/satisfaction/complaints/{eid}/review", {"procedure_code": CODE})
    with app.app_context():  # what implementing the review leaves behind
        review = db.session.execute(select(Review)).scalar_one()
        db.session.execute(update(ReviewItem).where(ReviewItem.review_id == review.id).values(
            version_after="A/1", open_code=None))
        review.state = "closed"
        db.session.commit()
    page = clerk.get(f"/satisfaction/complaints/{eid}").get_data(as_text=True)
    assert 'data-state="closed"' in page and f"{CODE} A/1" in page
    assert clerk.api("GET", f"/api/v1/complaints/{eid}").json["reviews"][0]["versions"] == [f"{CODE} A/1"]


def test_complaint_review_request_bad_input_and_refusals(world):
    app = world
    clerk = as_user(app, "clerk")
    eid, _number = _major_complaint(app)
    r = clerk.post(f"/satisfaction/complaints/{eid}/review", {"procedure_code": "QP-XX-999"})
    assert r.status_code == 400 and "Choose a procedure" in r.get_data(as_text=True)
    with app.app_context():
        normal = make_entry("P1", "clerk", utcnow() - timedelta(hours=3)).id
    assert clerk.post(f"/satisfaction/complaints/{normal}/review", {"procedure_code": CODE}).status_code == 409
    assert clerk.post(f"/satisfaction/complaints/{eid}/review", {"procedure_code": CODE}).status_code == 302
    assert clerk.post(f"/satisfaction/complaints/{eid}/review", {"procedure_code": OTHER}).status_code == 409
    assert as_user(app, "clerk2").post(f"/satisfaction/complaints/{eid}/review",
                                       {"procedure_code": CODE}).status_code == 404


# ---------------------------------------------------------------------------------------------
# corrective actions


def test_an_action_requests_a_review_and_joins_the_one_already_open(world):
    app = world
    clerk, chair = as_user(app, "clerk"), as_user(app, "controller")
    aid, number = _action(app)
    page = clerk.get(f"/actions/{aid}").get_data(as_text=True)
    assert 'data-testid="request-review"' in page and f'<option value="{OTHER}"' in page

    # QP-CS-002 is already in a periodic review: the action joins it and it becomes an incident review
    periodic = open_review(app, (OTHER,), kind="periodic")
    r = clerk.post(f"/actions/{aid}/review", {"procedure_code": OTHER, "reason": "巡查规定不清"},
                   follow_redirects=True)
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and _flashed_review(page) == periodic and "Added to incident review" in page
    found = _review(app, periodic)
    assert found["kind"] == "incident"
    assert found["triggers"][-1] == ("action", aid, number, "巡查规定不清")

    # QP-CS-001 is not under review: a new incident review opens
    page = clerk.post(f"/actions/{aid}/review", {"procedure_code": CODE, "reason": "门岗职责缺失"},
                      follow_redirects=True).get_data(as_text=True)
    opened = _flashed_review(page)
    assert opened != periodic and "opened" in page
    assert _review(app, opened)["kind"] == "incident" and _review(app, opened)["codes"] == [CODE]
    assert sorted(_listed(page)) == sorted([periodic, opened])
    assert f'href="/actions/{aid}"' in chair.get(f"/reviews/{opened}").get_data(as_text=True)
    body = clerk.api("GET", f"/api/v1/actions/{aid}").json
    assert sorted(x["number"] for x in body["reviews"]) == sorted([periodic, opened])

    # the same action cannot be added twice to a review that is still open
    r = clerk.post(f"/actions/{aid}/review", {"procedure_code": CODE, "reason": "再次"})
    assert r.status_code == 409 and "already started review" in r.get_data(as_text=True)
    assert len(_review(app, opened)["triggers"]) == 1
    with app.app_context():
        audited = db.session.execute(select(AuditEntry.after).where(
            AuditEntry.action == "action.review_requested", AuditEntry.object_id == str(aid))).scalars().all()
        assert [a["review"] for a in audited] == [periodic, opened]
    assert "Procedure review requested" in clerk.get(f"/actions/{aid}").get_data(as_text=True)


def test_action_review_request_bad_input_and_voided_actions(world):
    from actions import service as actions

    app = world
    clerk = as_user(app, "clerk")
    aid, _number = _action(app)
    r = clerk.post(f"/actions/{aid}/review", {"procedure_code": CODE, "reason": ""})
    assert r.status_code == 400 and "This field is required." in r.get_data(as_text=True)
    r = clerk.post(f"/actions/{aid}/review", {"procedure_code": "nope; rm -rf", "reason": "x"})
    assert r.status_code == 400 and "Choose a procedure" in r.get_data(as_text=True)
    assert clerk.post(f"/actions/{aid}/review", {"procedure_code": CODE, "reason": "x" * 2001}).status_code == 400
    assert clerk.post("/actions/999999/review", {"procedure_code": CODE, "reason": "x"}).status_code == 404
    assert as_user(app, "clerk2").post(f"/actions/{aid}/review",
                                       {"procedure_code": CODE, "reason": "x"}).status_code == 404
    with app.test_request_context():
        actions.void_action(actions.get_action(aid, user("clerk")), reason="重复录入", actor=user("clerk"))
    assert 'data-testid="request-review"' not in clerk.get(f"/actions/{aid}").get_data(as_text=True)
    r = clerk.post(f"/actions/{aid}/review", {"procedure_code": CODE, "reason": "x"})
    assert r.status_code == 409
    with app.app_context():
        from workflow.models import Review

        assert db.session.execute(select(Review)).first() is None


# ---------------------------------------------------------------------------------------------
# owners'-committee meeting issues


def test_a_meeting_issue_requests_a_review_shown_on_the_meeting_and_linked_back(world):
    from satisfaction.meetings import service as meetings
    from satisfaction.meetings.models import MeetingIssue

    app = world
    clerk, chair = as_user(app, "clerk"), as_user(app, "controller")
    mid, (first, second) = _meeting(app)
    page = clerk.get(f"/satisfaction/meetings/{mid}").get_data(as_text=True)
    assert f'data-testid="request-review-{second}"' in page and f'id="issue-{second}-procedure_code"' in page

    r = clerk.post(f"/satisfaction/meetings/{mid}/issues/{second}/review",
                   {"procedure_code": CODE, "reason": "门岗值守规定不落实"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/satisfaction/meetings/{mid}#issue-{second}")
    page = clerk.get(f"/satisfaction/meetings/{mid}").get_data(as_text=True)
    review = _flashed_review(page)
    assert _listed(page) == [review]
    found = _review(app, review)
    assert found["kind"] == "incident"
    assert found["triggers"] == [("meeting_issue", second, "2026-03-18 #2", "门岗值守规定不落实")]

    # the review links to the issue; that address lands on the issue on its meeting's page
    review_page = chair.get(f"/reviews/{review}").get_data(as_text=True)
    assert f'href="/satisfaction/meetings/issues/{second}"' in review_page
    r = clerk.get(f"/satisfaction/meetings/issues/{second}")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/satisfaction/meetings/{mid}#issue-{second}")
    assert clerk.get("/satisfaction/meetings/issues/999999").status_code == 404
    assert as_user(app, "clerk2").get(f"/satisfaction/meetings/issues/{second}").status_code == 404

    # the issue is part of the record now: editing the meeting cannot drop it
    with app.test_request_context():
        meeting = meetings.get_meeting(mid, user("clerk"))
        meetings.save_meeting(meeting, {"project_id": meeting.project_id, "held_on": "2026-03-18",
                                        "title": meeting.title, "issues": []},
                              actor=user("clerk"), version=meeting.version)
        assert db.session.execute(select(MeetingIssue.id).where(MeetingIssue.meeting_id == mid)).scalars().all() == [
            second]
        assert db.session.execute(select(AuditEntry).where(
            AuditEntry.action == "meeting.issue_review_requested",
            AuditEntry.object_id == str(second))).scalar_one().reason == "门岗值守规定不落实"
    del first


def test_meeting_issue_review_bad_input_and_voided_meetings(world):
    from satisfaction.meetings import service as meetings

    app = world
    clerk = as_user(app, "clerk")
    mid, (first, _second) = _meeting(app)
    other, (foreign, _x) = _meeting(app)
    r = clerk.post(f"/satisfaction/meetings/{mid}/issues/{first}/review", {"procedure_code": CODE, "reason": " "})
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and "This field is required." in page
    assert re.search(rf'<details class="review-request no-print" open>\s*<summary>[^<]*</summary>\s*<p[^>]*>[^<]*</p>\s*'
                     rf'<form method="post" action="/satisfaction/meetings/{mid}/issues/{first}/review"', page)
    assert clerk.post(f"/satisfaction/meetings/{mid}/issues/{foreign}/review",
                      {"procedure_code": CODE, "reason": "x"}).status_code == 404
    assert clerk.post(f"/satisfaction/meetings/{mid}/issues/{first}/review",
                      {"procedure_code": "QP-NO-001", "reason": "x"}).status_code == 400
    with app.test_request_context():
        meetings.void_meeting(meetings.get_meeting(mid, user("clerk")), reason="录错", actor=user("clerk"))
    assert clerk.post(f"/satisfaction/meetings/{mid}/issues/{first}/review",
                      {"procedure_code": CODE, "reason": "x"}).status_code == 409
    del other


# ---------------------------------------------------------------------------------------------
# permissions and CSRF on the new routes


def test_review_requests_need_write_permission_and_a_csrf_token(world):
    app = world
    eid, _n = _major_complaint(app)
    aid, _n = _action(app)
    mid, (issue, _other) = _meeting(app)
    routes = [(f"/satisfaction/complaints/{eid}/review", {"procedure_code": CODE}),
              (f"/actions/{aid}/review", {"procedure_code": CODE, "reason": "x"}),
              (f"/satisfaction/meetings/{mid}/issues/{issue}/review", {"procedure_code": CODE, "reason": "x"})]
    anonymous = Client(app)
    manager = as_user(app, "manager")  # reads records, does not enter them (but plans actions: see below)
    clerk = as_user(app, "clerk")
    for url, data in routes:
        r = anonymous.post(url, data)
        assert r.status_code == 401 or "/login" in r.headers.get("Location", ""), url
        if "/actions/" not in url:
            assert manager.post(url, data).status_code == 403
        r = clerk.post(url, data, csrf=False)
        assert r.status_code == 400 and "CSRF" in r.get_data(as_text=True), url
        assert clerk.post(url, {**data, "csrf_token": "forged"}).status_code == 400
    # Management plans corrective actions, so it may ask for a review from one (not from a complaint).
    assert 'data-testid="request-review"' in manager.get(f"/actions/{aid}").get_data(as_text=True)
    with app.app_context():
        from workflow.models import Review

        assert db.session.execute(select(Review)).first() is None
    assert all(clerk.post(url, data).status_code == 302 for url, data in routes)
    with app.app_context():
        from workflow.models import Review

        assert len(db.session.execute(select(Review)).scalars().all()) == 1  # all three joined one review


# ---------------------------------------------------------------------------------------------
# migration 0013: earlier complaint requests become open incident reviews


def test_migration_turns_earlier_complaint_requests_into_incident_reviews(tmp_path, database_url):
    from flask_migrate import upgrade

    from accounts.models import Department, Project
    from accounts.services import UserData, create_user, ensure_default_roles, save_reference
    from satisfaction.categories import ensure_default_categories
    from tests.conftest import PASSWORD

    app = make_app(tmp_path, database_url)
    try:
        with app.app_context():
            upgrade(revision="0012_notifications")
            ensure_default_roles()
            save_reference(Department, None, {"code": "CS", "name": "客服部", "name_en": "CS", "active": True})
            for login, role, projects in (("controller", "controller", ()), ("clerk", "clerk", ("P1",))):
                if login == "clerk":
                    save_reference(Project, None, {"code": "P1", "name": "项目P1", "name_en": "P1", "address": "",
                                                   "households": 500, "active": True})
                create_user(UserData(login=login, display_name=login.title(), password=PASSWORD,
                                     role_codes=(role,), project_codes=projects, locale="en"))
            ensure_default_categories()
            db.session.commit()
        seed_procedure(app, CODE)
        seed_procedure(app, OTHER)
        with app.app_context():
            requested = utcnow() - timedelta(days=3)
            entries = [make_entry("P1", "clerk", requested - timedelta(hours=5), severity="major",
                                  description=f"被盗 {n}") for n in range(4)]
            # two ask for QP-CS-001, one for QP-CS-002, one never asked; a voided one is left out
            for entry, code in zip(entries, (CODE, OTHER, CODE, None), strict=True):
                if code:
                    entry.review_procedure_code, entry.review_requested_at = code, requested
                    entry.review_requested_by_id = user("clerk").id
            voided = make_entry("P1", "clerk", requested - timedelta(hours=5), severity="major", description="作废")
            voided.review_procedure_code, voided.voided_at, voided.void_reason = CODE, requested, "重复"
            db.session.commit()
            ids = [(e.id, e.number) for e in entries]
            voided_id = voided.id

            upgrade()

            from workflow.models import Review, ReviewSequence

            reviews = db.session.execute(select(Review).order_by(Review.id)).scalars().all()
            assert [(r.kind, r.state, [i.code for i in r.items], [i.open_code for i in r.items])
                    for r in reviews] == [("incident", "propose", [CODE], [CODE]),
                                          ("incident", "propose", [OTHER], [OTHER])]
            first, second = reviews
            assert [(t.source_type, t.source_id, t.label) for t in first.triggers] == [
                ("complaint", ids[0][0], ids[0][1]), ("complaint", ids[2][0], ids[2][1])]
            assert [(t.source_type, t.source_id) for t in second.triggers] == [("complaint", ids[1][0])]
            assert first.chair.login == "controller" and voided_id not in {t.source_id for t in first.triggers}
            numbers = [r.number for r in reviews]
            assert all(REVIEW_NUMBER.fullmatch(n) for n in numbers)
            assert db.session.execute(select(ReviewSequence.last_value)).scalar_one() == 2

        # the complaint pages show the migrated reviews the way they show new ones
        clerk = as_user(app, "clerk")
        assert _listed(clerk.get(f"/satisfaction/complaints/{ids[2][0]}").get_data(as_text=True)) == [numbers[0]]
        assert [x["number"] for x in clerk.api("GET", f"/api/v1/complaints/{ids[1][0]}").json["reviews"]] == [
            numbers[1]]
        # the running number goes on after the migrated ones, and a new request joins the migrated review
        aid = _action(app)[0]
        page = clerk.post(f"/actions/{aid}/review", {"procedure_code": CODE, "reason": "x"},
                          follow_redirects=True).get_data(as_text=True)
        assert _flashed_review(page) == numbers[0]
        seed_procedure(app, "QP-CS-003")
        page = clerk.post(f"/actions/{aid}/review", {"procedure_code": "QP-CS-003", "reason": "x"},
                          follow_redirects=True).get_data(as_text=True)
        assert _flashed_review(page) == numbers[0][:7] + "003"
    finally:
        close_app(app)
