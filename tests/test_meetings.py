"""Owners'-committee meetings: recording, validation, scope, issues → register entries/actions, edit lock, exports, API."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from satisfaction.complaints.models import Complaint
from satisfaction.meetings.models import Meeting, MeetingIssue
from webapp.extensions import db


@pytest.fixture
def setup(app, make_project, make_user):
    from satisfaction.categories import ensure_default_categories, get_category

    ids = {"P1": make_project("P1", name="一号项目"), "P2": make_project("P2", name="二号项目")}
    ids["clerk"] = make_user("clerk", roles=("clerk",), projects=("P1",), display_name="刘芳")
    with app.app_context():
        ensure_default_categories()
        db.session.commit()
        ids["maintenance"] = get_category("maintenance").id
        ids["environment"] = get_category("environment").id
    return ids


def _count(app, model=Meeting) -> int:
    with app.app_context():
        return db.session.execute(select(func.count(model.id))).scalar()


def _form(ids, **over):
    data = {"project_id": ids["P1"], "held_on": "2025-06-10", "title": "第二季度业委会座谈会", "location": "会议室",
            "attendees": "张建国（业委会主任）\n李秀英", "staff_ids": [str(ids["clerk"])], "topics": "车库照明",
            "minutes": "## 会议内容\n- 车库照明不足\n<script>alert(1)</script>",
            "issues-0-description": "B2 层灯管损坏", "issues-0-category": str(ids["maintenance"]),
            "issues-1-description": "建议增加保洁频次", "issues-1-category": str(ids["environment"]),
            "issues-2-description": "", "issues-2-category": ""}
    data.update(over)
    return data


def _create(client, ids, **over):
    client.get("/satisfaction/meetings/new")
    r = client.post("/satisfaction/meetings/new", _form(ids, **over))
    assert r.status_code == 302, r.get_data(as_text=True)[-3000:]
    return int(r.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def test_record_a_meeting_with_issues_and_see_sanitised_minutes(app, client, setup):
    client.login("clerk")
    mid = _create(client, setup)
    html = client.get(f"/satisfaction/meetings/{mid}").get_data(as_text=True)
    assert "第二季度业委会座谈会" in html and "张建国（业委会主任）" in html and "刘芳" in html
    assert "<h2" in html.split('data-testid="minutes"')[1] and "<script>alert" not in html
    assert "B2 层灯管损坏" in html and "尚未跟进" in html
    with app.app_context():
        meeting = db.session.get(Meeting, mid)
        assert [i.description for i in meeting.issues] == ["B2 层灯管损坏", "建议增加保洁频次"]  # blank row dropped
        assert meeting.version == 1
        from audit.models import AuditEntry

        entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "meeting.created")).scalar_one()
        assert entry.after["issues"][0]["description"] == "B2 层灯管损坏" and entry.after["staff_ids"] == [setup["clerk"]]


BAD_INPUT = [
    ({"held_on": "2999-01-01"}, "held_on"),
    ({"held_on": ""}, "held_on"),
    ({"title": ""}, "title"),
    ({"issues-0-category": ""}, "issues-0-category"),
    ({"issues-0-category": "99999"}, "issues-0-category"),
    ({"issues-1-description": "x" * 2001}, "issues-1-description"),
]


def test_bad_input_is_400_at_the_field_and_nothing_saved(app, client, setup):
    client.login("clerk")
    client.get("/satisfaction/meetings/new")
    for over, field in BAD_INPUT:
        r = client.post("/satisfaction/meetings/new", _form(setup, **over))
        assert r.status_code == 400, over
        at_field = r.get_data(as_text=True).split(f'id="{field}"')[1].split('<div class="field')[0]
        assert 'class="error"' in at_field, over
    assert _count(app) == 0 and _count(app, MeetingIssue) == 0


def test_future_date_says_so_in_chinese(app, client, setup):
    from webapp.dates import local_today

    with app.app_context():
        tomorrow = (local_today() + timedelta(days=1)).isoformat()
    client.login("clerk")
    client.get("/satisfaction/meetings/new")
    html = client.post("/satisfaction/meetings/new", _form(setup, held_on=tomorrow)).get_data(as_text=True)
    assert "日期不能晚于今天" in html


def test_other_project_is_refused_everywhere(app, client, setup, make_user):
    make_user("other", roles=("clerk",), projects=("P2",))
    client.login("other")
    mid_other = _create(client, setup, project_id=setup["P2"], staff_ids=[])
    client.logout()
    client.login("clerk")
    # Answered like a meeting that does not exist (issue 8 item 12: was 403).
    assert client.get(f"/satisfaction/meetings/{mid_other}").status_code == 404
    assert client.get(f"/satisfaction/meetings/{mid_other}/print").status_code == 404
    r = client.api("POST", "/api/v1/meetings", json={"project": "P2", "held_on": "2025-01-01", "title": "x"})
    assert r.status_code == 404
    assert "二号项目" not in client.get("/satisfaction/meetings/").get_data(as_text=True)
    assert _count(app) == 1


def test_issue_becomes_a_suggestion_with_a_link_back_and_its_status_shown(app, client, setup):
    client.login("clerk")
    mid = _create(client, setup)
    with app.app_context():
        issue_id = db.session.execute(select(MeetingIssue.id).where(MeetingIssue.position == 1)).scalar()
    url = f"/satisfaction/meetings/{mid}/issues/{issue_id}/register"
    r = client.post(url, {"kind": "suggestion"})
    assert r.status_code == 302
    with app.app_context():
        entry = db.session.execute(select(Complaint)).scalar_one()
        issue = db.session.get(MeetingIssue, issue_id)
        assert issue.entry_id == entry.id
        assert (entry.kind, entry.channel, entry.source_type, entry.source_id) == (
            "suggestion", "committee", "meeting_issue", issue_id)
        assert entry.project_id == setup["P1"] and entry.category_id == setup["environment"]
        assert "建议增加保洁频次" in entry.description and "2025-06-10" in entry.description
        number = entry.number
    html = client.get(f"/satisfaction/meetings/{mid}").get_data(as_text=True)
    section = html.split(f'<li id="issue-{issue_id}"')[1].split("</li>")[0]
    assert number in section and "建议" in section and 'data-testid="issue-entry-status"' in section
    assert f'/satisfaction/complaints/{entry.id}' in section
    # a second click does not make a second entry
    again = client.post(url, {"kind": "suggestion"})
    assert again.status_code == 409
    assert _count(app, Complaint) == 1
    assert client.post(url, {"kind": "praise"}).status_code == 400


def test_issue_opens_an_action_once(app, client, setup):
    client.login("clerk")
    mid = _create(client, setup)
    with app.app_context():
        issue_id = db.session.execute(select(MeetingIssue.id).where(MeetingIssue.position == 0)).scalar()
    url = f"/satisfaction/meetings/{mid}/issues/{issue_id}/action"
    assert client.post(url, {"kind": "corrective"}).status_code == 302
    assert client.post(url, {"kind": "corrective"}).status_code == 302  # idempotent
    from actions.models import Action

    with app.app_context():
        action = db.session.execute(select(Action)).scalar_one()
        assert (action.source_type, action.source_id, action.project_id) == ("meeting_issue", issue_id, setup["P1"])
    html = client.get(f"/satisfaction/meetings/{mid}").get_data(as_text=True)
    assert "CA-00001" in html
    detail = client.get(f"/actions/{action.id}").get_data(as_text=True)
    assert f"/satisfaction/meetings/{mid}#issue-{issue_id}" in detail


def test_edit_uses_an_optimistic_lock_and_keeps_followed_issues(app, client, setup):
    client.login("clerk")
    mid = _create(client, setup)
    with app.app_context():
        issue_ids = list(db.session.execute(select(MeetingIssue.id).order_by(MeetingIssue.position)).scalars())
    client.post(f"/satisfaction/meetings/{mid}/issues/{issue_ids[0]}/register", {"kind": "complaint"})
    page = client.get(f"/satisfaction/meetings/{mid}/edit").get_data(as_text=True)
    assert 'name="version" type="hidden" value="1"' in page
    assert "已在跟进，保持原记录" in page  # the registered issue is not editable
    edit = {"version": "1", "project_id": setup["P1"], "held_on": "2025-06-11", "title": "改过的标题", "location": "",
            "attendees": "", "topics": "", "minutes": "", "issues-0-id": str(issue_ids[1]),
            "issues-0-description": "建议增加保洁频次（修改）", "issues-0-category": str(setup["environment"])}
    assert client.post(f"/satisfaction/meetings/{mid}/edit", edit).status_code == 302
    stale = client.post(f"/satisfaction/meetings/{mid}/edit", {**edit, "title": "旧页面的修改"})
    assert stale.status_code == 409
    with app.app_context():
        meeting = db.session.get(Meeting, mid)
        assert meeting.title == "改过的标题" and meeting.version == 2
        assert [i.description for i in meeting.issues] == ["建议增加保洁频次（修改）", "B2 层灯管损坏"]
    # removing the unregistered issue keeps the registered one; changing the project is refused
    edit2 = {**edit, "version": "2", "issues-0-id": "", "issues-0-description": "", "issues-0-category": ""}
    assert client.post(f"/satisfaction/meetings/{mid}/edit", edit2).status_code == 302
    with app.app_context():
        assert [i.id for i in db.session.get(Meeting, mid).issues] == [issue_ids[0]]
    moved = client.post(f"/satisfaction/meetings/{mid}/edit", {**edit2, "version": "3", "project_id": setup["P2"]})
    assert moved.status_code in (400, 404)


def test_void_print_and_exports(app, client, setup, make_user):
    client.login("clerk")
    mid = _create(client, setup)
    assert client.post(f"/satisfaction/meetings/{mid}/void", {"reason": "x", "version": 1}).status_code == 403
    printed = client.get(f"/satisfaction/meetings/{mid}/print").get_data(as_text=True)
    assert "会议纪要" in printed and "print-sheet" in printed and "登记为投诉" not in printed
    r = client.get("/satisfaction/meetings/export.xlsx?year=2025")
    ws = load_workbook(io.BytesIO(r.data)).active
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=4)]
    assert rows[0][2] == "第二季度业委会座谈会" and "B2 层灯管损坏" in rows[0][7] and rows[0][4] == "张建国（业委会主任）、李秀英"
    csv = client.get("/satisfaction/meetings/export.csv").data.decode("utf-8-sig").splitlines()
    assert csv[0].startswith("日期") and "第二季度业委会座谈会" in csv[1]
    make_user("mgr", roles=("manager",))
    client.logout()
    client.login("mgr")
    client.get(f"/satisfaction/meetings/{mid}")
    assert client.post(f"/satisfaction/meetings/{mid}/void", {"reason": "", "version": 1}).status_code == 400
    assert client.post(f"/satisfaction/meetings/{mid}/void", {"reason": "重复登记", "version": 1}).status_code == 302
    assert "第二季度业委会座谈会" not in client.get("/satisfaction/meetings/").get_data(as_text=True)
    assert "第二季度业委会座谈会" in client.get("/satisfaction/meetings/?voided=only").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Meeting, mid).void_reason == "重复登记"


def test_api_create_and_list(app, client, setup):
    client.login("clerk")
    client.get("/")
    body = {"project": "P1", "held_on": "2025-03-01", "title": "API 会议", "attendees": ["王主任", "李委员"],
            "staff": ["clerk"], "minutes": "**纪要**", "issues": [{"description": "电梯等候久", "category": "maintenance"}]}
    r = client.api("POST", "/api/v1/meetings", json=body)
    assert r.status_code == 201, r.json
    assert r.json["attendees"] == ["王主任", "李委员"] and r.json["issues"][0]["category"] == "maintenance"
    for bad, field in (({"held_on": "2999-01-01"}, "held_on"), ({"issues": [{"description": "x", "category": "nope"}]},
                                                                "issues-0-category"),
                       ({"issues": "nope"}, "issues"), ({"staff": ["ghost"]}, "staff"), ({"title": ""}, "title")):
        r = client.api("POST", "/api/v1/meetings", json={**body, **bad})
        assert r.status_code == 400 and field in r.json["errors"], (bad, r.json)
    assert client.api("POST", "/api/v1/meetings", json={**body, "project": "NOPE"}).status_code == 404
    items = client.api("GET", "/api/v1/meetings?year=2025").json["items"]
    assert [m["title"] for m in items] == ["API 会议"] and items[0]["issues"][0]["entry"] is None
    assert client.api("GET", "/api/v1/meetings?year=abc").status_code == 400
    assert _count(app) == 1
    doc = client.api("GET", "/api/v1/openapi.json").json
    assert {"/meetings", "/caring-services"} <= set(doc["paths"])


def test_an_entry_left_unlinked_is_linked_not_duplicated(app, client, setup):
    """If the link step failed after the register entry was committed, converting again links that entry."""
    from accounts.models import User
    from satisfaction.complaints.service import create_entry
    from satisfaction.meetings import service as meetings

    client.login("clerk")
    mid = _create(client, setup)
    with app.test_request_context():
        clerk = db.session.get(User, setup["clerk"])
        meeting = db.session.get(Meeting, mid)
        issue = meeting.issues[0]
        orphan = create_entry({"kind": "complaint", "project_id": setup["P1"], "channel": "committee",
                               "received_at": "2025-06-10 10:00", "category": "maintenance", "severity": "normal",
                               "description": issue.description}, actor=clerk, source=("meeting_issue", issue.id))
        entry = meetings.issue_to_entry(meeting, issue, "complaint", actor=clerk)
        assert entry.id == orphan.id and db.session.get(MeetingIssue, issue.id).entry_id == orphan.id
        assert db.session.execute(select(func.count(Complaint.id))).scalar() == 1


def _meetings_with_entries(app, ids, n: int, start: int = 0) -> None:
    """``n`` meetings of P1, each with the clerk present and one issue that is in the register."""
    from accounts.models import User
    from satisfaction.meetings import service as meetings

    with app.test_request_context():
        clerk = db.session.get(User, ids["clerk"])
        for i in range(start, start + n):
            category = ids["maintenance"] if i % 2 else ids["environment"]
            meeting = meetings.save_meeting(None, {
                "project_id": ids["P1"], "held_on": "2025-06-10", "title": f"座谈会 {i}", "staff_ids": [ids["clerk"]],
                "issues": [{"description": f"问题 {i}", "category": category}]}, actor=clerk)
            meetings.issue_to_entry(meeting, meeting.issues[0], "complaint", actor=clerk)


def test_api_list_queries_do_not_grow_with_the_meetings(app, client, setup):
    """Staff, issue categories and register entries are loaded for the whole page, not per meeting."""
    from tests.sql_count import counting_statements

    client.login("clerk")
    client.get("/")

    def listed():
        client.api("GET", "/api/v1/meetings")  # warms the per-process copies of account data
        with counting_statements(app) as statements:
            r = client.api("GET", "/api/v1/meetings")
        assert r.status_code == 200
        assert all(m["staff"] == ["clerk"] and m["issues"][0]["entry"]["kind"] == "complaint" for m in r.json["items"])
        return len(r.json["items"]), len(statements)

    _meetings_with_entries(app, setup, 3)
    few, few_statements = listed()
    _meetings_with_entries(app, setup, 17, start=3)
    many, many_statements = listed()
    assert (few, many) == (3, 20)
    assert many_statements == few_statements
