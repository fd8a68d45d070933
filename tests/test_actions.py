"""Corrective & preventive actions: the state machine, idempotent open_action, scope, pages, API, exports.

Issue 11 changed who works an action (tests/test_action_roles.py has the rules): here the manager
("mgr") plans, verifies and closes, the clerk of the responsible department (ENG) carries out, the
effectiveness check names what was measured again, and closing an action from a complaint records
the feedback given to the complainant.
"""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from actions import service
from actions.models import Action
from webapp.dates import local_today
from webapp.exceptions import Conflict, InvalidTransition, ValidationError
from webapp.extensions import db


@pytest.fixture
def setup(app, make_project, make_user, make_department):
    ids = {"P1": make_project("P1", name="一号项目"), "P2": make_project("P2", name="二号项目"),
           "ENG": make_department("ENG", "工程部")}
    ids["clerk"] = make_user("clerk", roles=("clerk",), projects=("P1",), display_name="刘芳", department="ENG")
    ids["mgr"] = make_user("mgr", roles=("manager",), display_name="陈总")
    return ids


def _user(login):
    from accounts.models import User

    return db.session.execute(select(User).where(User.login == login)).scalar_one()


def _open(ids, source_id=7, kind="corrective", source_type="complaint"):
    return service.open_action(kind=kind, source_type=source_type, source_id=source_id, project_id=ids["P1"],
                               title="车库照明不足", description="B2 层多处灯管损坏", actor=_user("clerk"))


def test_open_action_is_idempotent_per_source_until_closed_or_voided(app, setup):
    with app.test_request_context():
        first = _open(setup)
        db.session.commit()
        again = _open(setup)
        assert again.id == first.id and service.find_open_for("complaint", 7).id == first.id
        other = _open(setup, source_id=8)
        db.session.commit()
        assert other.id != first.id
        assert db.session.execute(select(func.count(Action.id))).scalar() == 2
        service.void_action(first, reason="重复", actor=_user("clerk"))
        assert service.find_open_for("complaint", 7) is None
        fresh = _open(setup)
        db.session.commit()
        assert fresh.id not in (first.id, other.id)
        assert [a.id for a in service.actions_for("complaint", 7)] == [fresh.id, first.id]
        assert service.find_open_for("manual", None) is None


def test_open_action_rejects_bad_input(app, setup):
    with app.test_request_context():
        with pytest.raises(ValidationError) as exc:
            service.open_action(kind="nonsense", source_type="weird", source_id=1, project_id=setup["P1"], title="",
                                actor=None)
        assert {"kind", "source_type", "title"} <= set(exc.value.errors)
        assert db.session.execute(select(func.count(Action.id))).scalar() == 0


@pytest.fixture
def opened(app, setup):
    """An action just opened from complaint 7, inside a request context: (action, the clerk)."""
    with app.test_request_context():
        action = _open(setup)
        db.session.commit()
        yield action, _user("clerk")


#: The effectiveness check (issue 11: what was measured again, and the result).
CHECK = {"remeasured": "B2 层照度复测", "verification_result": "两个月无投诉"}
#: Closing an action from a complaint (issue 11, procedure 4.4.3).
FEEDBACK = {"complainant_feedback": "已电话告知业主整改结果"}


def _analysis(setup, **kw):
    return {"cause_analysis": "灯具老化，巡检漏项", "planned_action": "更换灯管，增加月检",
            "responsible_department_id": setup["ENG"], **kw}


def _events(action):
    return [e.action for e in service.timeline(action)]


def test_a_new_action_can_only_be_analysed(opened):
    action, clerk = opened
    assert service.allowed_transitions(action) == ["analyse"]
    with pytest.raises(InvalidTransition):
        service.transition(action, "verify", {"verification_result": "x", "effective": True}, actor=clerk)
    with pytest.raises(InvalidTransition):
        service.transition(action, "close", {}, actor=clerk)


def test_analysis_needs_the_cause_the_plan_and_a_department(opened):
    action, _clerk = opened
    with pytest.raises(ValidationError) as exc:
        service.transition(action, "analyse", {"cause_analysis": "", "planned_action": ""}, actor=_user("mgr"))
    assert {"cause_analysis", "planned_action", "responsible_department_id"} <= set(exc.value.errors)
    db.session.rollback()
    assert db.session.get(Action, action.id).status == "open"
    assert _events(action) == ["action.opened"]


def test_analysis_sets_the_due_date_and_the_responsible_department(opened, setup):
    action, _clerk = opened
    due = local_today() + timedelta(days=14)
    service.transition(action, "analyse", _analysis(setup, due_on=due.isoformat()), actor=_user("mgr"),
                       version=action.version)
    assert (action.status, action.due_on, action.responsible_department_id) == ("cause_analysed", due, setup["ENG"])


def test_a_step_from_a_stale_form_is_a_conflict(opened, setup):
    action, clerk = opened
    service.transition(action, "analyse", _analysis(setup), actor=_user("mgr"), version=action.version)
    with pytest.raises(Conflict):  # a stale form
        service.transition(action, "take_action", {"action_taken": "x"}, actor=clerk, version=action.version - 1)
    assert action.status == "cause_analysed" and _events(action) == ["action.opened", "action.analyse"]


def test_verification_needs_a_yes_or_no_on_effectiveness(opened, setup):
    action, clerk = opened
    mgr = _user("mgr")
    service.transition(action, "analyse", _analysis(setup), actor=mgr)
    service.transition(action, "take_action", {"action_taken": "已更换 42 支灯管"}, actor=clerk)
    with pytest.raises(ValidationError) as exc:
        service.transition(action, "verify", {"verification_result": "ok", "effective": "maybe"}, actor=mgr)
    assert set(exc.value.errors) == {"remeasured", "effective"}
    db.session.rollback()
    assert db.session.get(Action, action.id).status == "action_taken"
    assert _events(action) == ["action.opened", "action.analyse", "action.take_action"]


def test_full_life_cycle_with_an_ineffective_verification(opened, setup):
    """Every step needs the one before: ineffective → analysed again → verified → closed."""
    action, clerk = opened
    mgr = _user("mgr")
    service.transition(action, "analyse", _analysis(setup), actor=mgr, version=action.version)
    service.transition(action, "take_action", {"action_taken": "已更换 42 支灯管"}, actor=clerk)
    service.transition(action, "verify", {**CHECK, "verification_result": "一个月后仍有投诉", "effective": "no"},
                       actor=mgr)
    assert action.status == "cause_analysed" and action.effective is False  # back to analysis
    service.transition(action, "analyse", {"cause_analysis": "线路老化", "planned_action": "更换线路"}, actor=mgr)
    assert action.responsible_department_id == setup["ENG"]  # kept when not sent
    service.transition(action, "take_action", {"action_taken": "线路已更换"}, actor=clerk)
    service.transition(action, "verify", {**CHECK, "effective": True}, actor=mgr)
    assert action.status == "verified" and action.verified_by_id == mgr.id
    service.transition(action, "close", {"note": "关闭", **FEEDBACK}, actor=mgr)
    assert action.status == "closed" and action.open_key is None and action.closed_at is not None
    assert _events(action) == ["action.opened", "action.analyse", "action.take_action", "action.reopened",
                               "action.analyse", "action.take_action", "action.verify", "action.close"]


def test_a_closed_action_is_final_and_its_source_opens_a_new_one(opened, setup):
    action, clerk = opened
    mgr = _user("mgr")
    service.transition(action, "analyse", _analysis(setup), actor=mgr)
    service.transition(action, "take_action", {"action_taken": "已更换 42 支灯管"}, actor=clerk)
    service.transition(action, "verify", {**CHECK, "effective": True}, actor=mgr)
    service.transition(action, "close", {"note": "关闭", **FEEDBACK}, actor=mgr)
    assert service.allowed_transitions(action) == []
    with pytest.raises(InvalidTransition):
        service.transition(action, "analyse", {"cause_analysis": "x", "planned_action": "y"}, actor=mgr)
    assert action.status == "closed" and _events(action)[-1] == "action.close"
    # closed: a new problem from the same source opens a new action
    assert _open(setup).id != action.id


def test_voided_action_cannot_move(app, setup):
    with app.test_request_context():
        clerk = _user("clerk")
        action = _open(setup)
        db.session.commit()
        with pytest.raises(ValidationError):
            service.void_action(action, reason="  ", actor=clerk)
        service.void_action(action, reason="录入错误", actor=clerk)
        with pytest.raises(InvalidTransition):
            service.transition(action, "analyse", {"cause_analysis": "x", "planned_action": "y"}, actor=clerk)
        with pytest.raises(InvalidTransition):
            service.void_action(action, reason="again", actor=clerk)


def test_pages_create_manual_then_walk_the_steps(app, client, setup):
    from tests.conftest import Client

    manager = Client(app)
    manager.login("mgr")
    client.login("clerk")
    assert client.get("/actions/new").status_code == 200
    bad = client.post("/actions/new", {"kind": "preventive", "project_id": setup["P1"], "title": "",
                                       "due_on": "2000-01-01"})
    assert bad.status_code == 400
    with app.app_context():
        assert db.session.execute(select(func.count(Action.id))).scalar() == 0
    past = client.post("/actions/new", {"kind": "preventive", "project_id": setup["P1"], "title": "雨季排水",
                                        "due_on": "2000-01-01"})
    assert past.status_code == 400 and "完成期限不能早于今天" in past.get_data(as_text=True)
    r = client.post("/actions/new", {"kind": "preventive", "project_id": setup["P1"], "title": "雨季前检查排水",
                                     "description": "去年车库积水", "responsible_department_id": setup["ENG"]})
    assert r.status_code == 302
    url = r.headers["Location"]
    html = client.get(url).get_data(as_text=True)
    assert "PA-00001" in html and "预防措施" in html and "手工开立" in html and 'data-status="open"' in html
    action_id = int(url.rsplit("/", 1)[1])
    assert client.post(f"/actions/{action_id}/take_action", {"action_taken": "x", "version": 1}).status_code == 409
    # Issue 11: the clerk no longer plans; the manager does.
    assert client.post(f"/actions/{action_id}/analyse", {"cause_analysis": "x", "planned_action": "y",
                                                         "version": 1}).status_code == 403
    r = manager.post(f"/actions/{action_id}/analyse", {"cause_analysis": "", "planned_action": "", "version": 1})
    assert r.status_code == 400
    r = manager.post(f"/actions/{action_id}/analyse", {"cause_analysis": "排水沟淤积", "planned_action": "清淤",
                                                       "responsible_department_id": setup["ENG"], "version": 1})
    assert r.status_code == 302
    stale = client.post(f"/actions/{action_id}/take_action", {"action_taken": "已清淤", "version": 1})
    assert stale.status_code == 409  # the form was built before the analysis
    assert client.post(f"/actions/{action_id}/take_action", {"action_taken": "已清淤", "version": 2}).status_code == 302
    assert manager.post(f"/actions/{action_id}/verify", {"remeasured": "暴雨后检查车库", "verification_result": "暴雨无积水",
                                                         "effective": "yes", "version": 3}).status_code == 302
    assert manager.post(f"/actions/{action_id}/close", {"note": "", "version": 4}).status_code == 302
    html = client.get(url).get_data(as_text=True)
    assert 'data-status="closed"' in html and "验证有效" in html
    assert client.post(f"/actions/{action_id}/void", {"reason": "x", "version": 5}).status_code == 403  # clerk


def test_scope_and_overdue_filter(app, client, setup, make_user):
    with app.test_request_context():
        clerk = _user("clerk")
        mine = _open(setup)
        late = service.open_action(kind="corrective", source_type="manual", source_id=None, project_id=setup["P1"],
                                   title="逾期的措施", actor=clerk,
                                   due_on=local_today() - timedelta(days=3))
        theirs = service.open_action(kind="corrective", source_type="manual", source_id=None, project_id=setup["P2"],
                                     title="别的项目", actor=None)
        db.session.commit()
        ids = mine.id, late.id, theirs.id
        assert service.is_overdue(late) and not service.is_overdue(mine)
    client.login("clerk")
    html = client.get("/actions/").get_data(as_text=True)
    assert "车库照明不足" in html and "逾期的措施" in html and "别的项目" not in html
    overdue = client.get("/actions/?overdue=1").get_data(as_text=True)
    assert "逾期的措施" in overdue and "车库照明不足" not in overdue
    # Another project's record is answered like one that does not exist (issue 8 item 12: was 403).
    assert client.get(f"/actions/{ids[2]}").status_code == 404
    assert client.api("GET", f"/api/v1/actions/{ids[2]}").status_code == 404
    r = client.post("/actions/new", {"kind": "corrective", "project_id": setup["P2"], "title": "越权"})
    assert r.status_code in (400, 404)
    assert client.api("POST", "/api/v1/actions", json={"kind": "corrective", "project": "P2",
                                                       "title": "越权"}).status_code == 404


def test_export_reads_back(app, client, setup):
    with app.test_request_context():
        _open(setup)
        db.session.commit()
    client.login("clerk")
    r = client.get("/actions/export.xlsx?status=all")
    ws = load_workbook(io.BytesIO(r.data)).active
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=3)]
    assert rows[0][0] == "编号"  # title, subtitle, then the header row
    rows = rows[1:]
    assert rows[0][0] == "CA-00001" and rows[0][3] == "车库照明不足" and rows[0][1] == "纠正措施"
    csv = client.get("/actions/export.csv").data.decode("utf-8-sig").splitlines()
    assert len(csv) == 2 and csv[1].startswith("CA-00001")


def test_api_list_get_create_transition_void(app, client, setup, make_user):
    make_user("boss", roles=("manager", "clerk"))
    client.login("boss")
    client.get("/")
    r = client.api("POST", "/api/v1/actions", json={"kind": "corrective", "project": "P1", "title": "API 措施",
                                                    "responsible_department": "ENG"})
    assert r.status_code == 201, r.json
    aid, version = r.json["id"], r.json["version"]
    assert r.json["number"] == f"CA-{aid:05d}" and r.json["allowed_transitions"] == ["analyse"]
    bad = client.api("POST", "/api/v1/actions", json={"kind": "x", "project": "P1", "title": ""})
    assert bad.status_code == 400 and {"kind", "title"} <= set(bad.json["errors"])
    assert client.api("POST", "/api/v1/actions", json={"kind": "corrective", "project": "NOPE",
                                                       "title": "x"}).status_code == 404
    r = client.api("POST", f"/api/v1/actions/{aid}/transitions/verify", json={"verification_result": "x",
                                                                             "effective": True})
    assert r.status_code == 409 and r.json["error"] == "conflict"
    r = client.api("POST", f"/api/v1/actions/{aid}/transitions/analyse",
                   json={"cause_analysis": "原因", "planned_action": "计划", "version": version})
    assert r.status_code == 200 and r.json["status"] == "cause_analysed"
    assert client.api("POST", f"/api/v1/actions/{aid}/transitions/fly", json={}).status_code == 409
    assert client.api("GET", "/api/v1/actions?status=cause_analysed").json["items"][0]["id"] == aid
    assert client.api("GET", "/api/v1/actions?status=bogus").status_code == 400
    assert client.api("GET", f"/api/v1/actions/{aid}").json["cause_analysis"] == "原因"
    assert client.api("POST", f"/api/v1/actions/{aid}/void", json={"reason": ""}).status_code == 400
    r = client.api("POST", f"/api/v1/actions/{aid}/void", json={"reason": "测试"})
    assert r.status_code == 200 and r.json["voided"] is True
    assert client.api("GET", "/api/v1/actions").json["items"] == []
    assert len(client.api("GET", "/api/v1/actions?include_voided=1").json["items"]) == 1
    doc = client.api("GET", "/api/v1/openapi.json").json
    assert {"/actions", "/actions/{action_id}", "/actions/{action_id}/transitions/{name}"} <= set(doc["paths"])


def test_open_action_race_returns_the_winner(app, setup, monkeypatch):
    """Two workers miss each other's action in find_open_for: the unique open_key lets one insert win."""
    with app.test_request_context():
        winner = _open(setup)
        db.session.commit()
        real = service.find_open_for
        calls = []

        def blind_once(source_type, source_id):
            calls.append(source_id)
            return None if len(calls) == 1 else real(source_type, source_id)

        monkeypatch.setattr(service, "find_open_for", blind_once)
        loser = _open(setup)
        assert loser.id == winner.id and len(calls) == 2
        db.session.commit()  # the caller's transaction is still usable
        assert db.session.execute(select(func.count(Action.id))).scalar() == 1


def _actions_from_every_source(app, ids, n: int, start: int = 0) -> None:
    """``n`` actions in P1 opened from complaints, meeting issues and surveys in turn, each verified
    by a different person (so nothing is shared between rows)."""
    from satisfaction.categories import ensure_default_categories
    from satisfaction.complaints.service import create_entry
    from satisfaction.meetings import service as meetings
    from satisfaction.surveys import service as survey_service
    from tests.factories_complaints import fast_user

    with app.test_request_context():
        ensure_default_categories()
        db.session.commit()
        clerk = _user("clerk")
        today = local_today()
        for i in range(start, start + n):
            if i % 3 == 0:
                source_type, source_id = "complaint", create_entry({
                    "kind": "complaint", "project_id": ids["P1"], "channel": "phone", "received_at": "2025-06-10 10:00",
                    "category": "maintenance", "severity": "normal", "description": f"投诉 {i}"}, actor=clerk).id
            elif i % 3 == 1:
                meeting = meetings.save_meeting(None, {
                    "project_id": ids["P1"], "held_on": "2025-06-10", "title": f"座谈会 {i}",
                    "issues": [{"description": f"问题 {i}", "category": "maintenance"}]}, actor=clerk)
                source_type, source_id = "meeting_issue", meeting.issues[0].id
            else:
                campaign = survey_service.create_campaign({
                    "project_id": ids["P1"], "year": today.year, "period": f"第{i}轮", "distributed": 10,
                    "distributed_on": today, "category_ids": ["security"]}, actor=clerk)
                source_type, source_id = "survey_campaign", campaign.id
            action = _open(ids, source_id=source_id, source_type=source_type)
            db.session.commit()
            verifier = db.session.get(type(clerk), fast_user(f"verifier{i}", "manager", projects=("P1",)))
            service.transition(action, "analyse", {"cause_analysis": "原因", "planned_action": "计划",
                                                   "responsible_department_id": ids["ENG"]}, actor=verifier)
            service.transition(action, "take_action", {"action_taken": "已整改"}, actor=clerk)
            service.transition(action, "verify", {**CHECK, "effective": True}, actor=verifier)


def test_export_queries_do_not_grow_with_the_actions(app, client, setup):
    """Verifiers and the records the actions came from are loaded for the whole export, not per row."""
    import csv

    from tests.sql_count import counting_statements

    client.login("clerk")
    client.get("/")

    def exported(fmt):
        client.get(f"/actions/export.{fmt}?status=all")  # warms the per-process copies of account data
        with counting_statements(app) as statements:
            r = client.get(f"/actions/export.{fmt}?status=all")
        assert r.status_code == 200
        return r, len(statements)

    def rows(r):
        return list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))[1:]

    _actions_from_every_source(app, setup, 3)
    few_csv, few_csv_statements = exported("csv")
    few_xlsx, few_xlsx_statements = exported("xlsx")
    _actions_from_every_source(app, setup, 17, start=3)
    many_csv, many_csv_statements = exported("csv")
    many_xlsx, many_xlsx_statements = exported("xlsx")
    assert (len(rows(few_csv)), len(rows(many_csv))) == (3, 20)
    assert many_csv_statements == few_csv_statements and many_xlsx_statements == few_xlsx_statements
    assert load_workbook(io.BytesIO(many_xlsx.data)).active.max_row == 3 + 20
    # Every source is named (not "#id") and every verifier shown.
    assert all(": " in row[4] and "#" not in row[4] for row in rows(many_csv))
    assert {row[14] for row in rows(many_csv)} == {f"Verifier{i}" for i in range(20)}
