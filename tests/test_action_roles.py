"""Issue 11, part 2: corrective and preventive actions worked by the right people.

Management or the head of the responsible department plans, verifies and closes; the responsible
department (or person) carries out; whoever took the action never verifies it; closing needs the
effectiveness check (and, for a complaint, the feedback to the complainant); each step is in the
to-do list and the inbox of whoever must act next; proposals from the survey figures are made once
per source and accepted or dismissed (with a reason) by a manager, audited.
"""
from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from accounts.models import User
from actions import proposals, roles, service
from actions.models import Action, ActionProposal
from audit.models import AuditEntry
from notifications.models import Notification
from tests.conftest import Client
from webapp.dates import local_today
from webapp.exceptions import InvalidTransition, PermissionDenied, ValidationError
from webapp.extensions import db

PLAN = {"cause_analysis": "巡检漏项", "planned_action": "增加月检"}
CHECK = {"remeasured": "回访 40 户业主", "verification_result": "满意率回升到 91%", "effective": True}


@pytest.fixture
def org(app, make_project, make_department, make_user):
    """P1; customer service (CS: its head, two clerks) and engineering (ENG: its head, a clerk); a manager."""
    ids = SimpleNamespace(P1=make_project("P1", name="一号项目"), CS=make_department("CS", "客服部"),
                          ENG=make_department("ENG", "工程部"))
    make_user("mgr", roles=("manager",), display_name="陈总")
    make_user("head", roles=("clerk",), category="dept_head", department="CS", projects=("P1",), display_name="王经理")
    make_user("doer", roles=("clerk",), department="CS", projects=("P1",), display_name="刘芳")
    make_user("mate", roles=("clerk",), department="CS", projects=("P1",), display_name="李强")
    make_user("eng", roles=("clerk",), department="ENG", projects=("P1",), display_name="赵工")
    make_user("enghead", roles=("clerk",), category="dept_head", department="ENG", projects=("P1",),
              display_name="孙经理")
    return ids


def _u(login) -> User:
    return db.session.execute(select(User).where(User.login == login)).scalar_one()


def _open(org, actor="doer", **kw) -> Action:
    action = service.open_action(kind="corrective", source_type=kw.pop("source_type", "manual"),
                                 source_id=kw.pop("source_id", None), project_id=org.P1, title="车库照明不足",
                                 actor=_u(actor), **kw)
    db.session.commit()
    return action


def _refused(action, step, login, data=None) -> str:
    with pytest.raises(PermissionDenied) as exc:
        service.transition(action, step, data or {}, actor=_u(login))
    db.session.rollback()
    return str(exc.value)


def _said(app, message) -> str:
    """A message as the pages show it (in the default language, once translated)."""
    with app.test_request_context():
        return str(message)


def _logged_in(app, login) -> Client:
    c = Client(app)
    assert c.login(login).status_code == 302
    c.get("/")
    return c


# ----------------------------------------------------------------------------- who does each step


def test_each_step_is_done_by_its_people(app, org):
    with app.test_request_context():
        action = _open(org)
        assert _refused(action, "analyse", "doer", PLAN) == str(roles.REFUSED["analyse"])
        _refused(action, "analyse", "head", PLAN)  # no department named yet: management plans
        service.transition(action, "analyse", {**PLAN, "responsible_department_id": org.CS}, actor=_u("mgr"))
        assert action.analysed_by_id == _u("mgr").id
        # The head of the responsible department may plan again; another department's head may not.
        service.transition(action, "analyse", {**PLAN, "planned_action": "增加周检"}, actor=_u("head"))
        _refused(action, "analyse", "enghead", PLAN)
        for outsider in ("mgr", "eng", "enghead"):  # the responsible department carries out
            assert _refused(action, "take_action", outsider, {"action_taken": "x"}) == str(
                roles.REFUSED["take_action"])
        service.transition(action, "take_action", {"action_taken": "已增加周检"}, actor=_u("doer"))
        assert action.action_taken_by_id == _u("doer").id
        assert _refused(action, "verify", "doer", CHECK) == str(roles.SAME_PERSON)
        for other in ("mate", "eng", "enghead"):  # a colleague or another department does not verify either
            assert _refused(action, "verify", other, CHECK) == str(roles.REFUSED["verify"])
        service.transition(action, "verify", CHECK, actor=_u("head"))
        assert action.status == "verified" and action.verified_by_id == _u("head").id
        _refused(action, "close", "doer")
        _refused(action, "close", "enghead")
        service.transition(action, "close", {}, actor=_u("mgr"))
        assert action.status == "closed" and action.closed_by_id == _u("mgr").id
        assert [e.actor.login for e in service.timeline(action)] == ["doer", "mgr", "head", "doer", "head", "mgr"]


def test_a_named_responsible_person_carries_out_alone(app, org):
    with app.test_request_context():
        action = _open(org)
        service.transition(action, "analyse", {**PLAN, "responsible_department_id": org.CS,
                                               "responsible_user_id": _u("mate").id}, actor=_u("mgr"))
        _refused(action, "take_action", "doer", {"action_taken": "x"})
        _refused(action, "take_action", "head", {"action_taken": "x"})
        service.transition(action, "take_action", {"action_taken": "已整改"}, actor=_u("mate"))
        assert service.my_steps(action, _u("doer")) == [] and service.my_steps(action, _u("mgr")) == ["verify"]
        # The head of the department verifies: she did not take the action herself.
        assert service.my_steps(action, _u("head")) == ["verify"] and service.my_steps(action, _u("mate")) == []


def test_the_same_person_cannot_verify_her_own_action_pages_and_api(app, org):
    with app.test_request_context():
        action = _open(org, actor="mgr")
        service.transition(action, "analyse", {**PLAN, "responsible_department_id": org.CS}, actor=_u("mgr"))
        aid = action.id
    head = _logged_in(app, "head")
    # The head of the department takes the action herself (she is one of its people)…
    assert head.post(f"/actions/{aid}/take_action", {"action_taken": "亲自整改", "version": 2}).status_code == 302
    page = head.get(f"/actions/{aid}").get_data(as_text=True)
    assert 'data-testid="step-verify"' not in page and 'data-testid="waiting-for"' in page
    # …so she may not verify it, on the page or through the API; the answer says why.
    r = head.post(f"/actions/{aid}/verify", {**CHECK, "effective": "yes", "version": 3})
    said = _said(app, roles.SAME_PERSON)
    assert r.status_code == 403 and said in r.get_data(as_text=True)
    r = head.api("POST", f"/api/v1/actions/{aid}/transitions/verify", json={**CHECK, "version": 3})
    assert r.status_code == 403 and r.json["error"] == "forbidden" and r.json["message"] == said
    # A different person verifies.
    mgr = _logged_in(app, "mgr")
    r = mgr.api("POST", f"/api/v1/actions/{aid}/transitions/verify", json={**CHECK, "version": 3})
    assert r.status_code == 200 and r.json["status"] == "verified" and r.json["verified_by"] == "mgr"
    assert r.json["action_taken_by"] == "head" and r.json["remeasured"] == CHECK["remeasured"]
    assert r.json["next_step"] == "close" and r.json["my_steps"] == ["close"]
    assert set(r.json["waiting_for"]) == {"mgr", "head"}


def test_closing_needs_the_effectiveness_check(app, org):
    with app.test_request_context():
        action = _open(org, actor="mgr")
        service.transition(action, "analyse", {**PLAN, "responsible_department_id": org.CS}, actor=_u("mgr"))
        service.transition(action, "take_action", {"action_taken": "已整改"}, actor=_u("doer"))
        with pytest.raises(InvalidTransition) as exc:
            service.transition(action, "close", {}, actor=_u("mgr"))
        assert str(exc.value) == str(service.NO_CHECK)
        with pytest.raises(ValidationError) as exc:  # what was measured again, and the result
            service.transition(action, "verify", {"effective": True}, actor=_u("mgr"))
        assert set(exc.value.errors) == {"remeasured", "verification_result"}
        db.session.rollback()
        aid = action.id
    mgr = _logged_in(app, "mgr")
    r = mgr.post(f"/actions/{aid}/close", {"note": "", "version": 3})
    assert r.status_code == 409 and _said(app, service.NO_CHECK) in r.get_data(as_text=True)
    r = mgr.api("POST", f"/api/v1/actions/{aid}/transitions/close", json={})
    assert r.status_code == 409 and r.json["error"] == "conflict"
    r = mgr.post(f"/actions/{aid}/verify", {"verification_result": "好了", "effective": "yes", "version": 3})
    assert r.status_code == 400  # nothing re-measured
    assert mgr.post(f"/actions/{aid}/verify", {**CHECK, "effective": "yes", "version": 3}).status_code == 302
    html = mgr.get(f"/actions/{aid}").get_data(as_text=True)
    assert CHECK["remeasured"] in html and CHECK["verification_result"] in html
    assert mgr.post(f"/actions/{aid}/close", {"note": "", "version": 4}).status_code == 302
    with app.app_context():
        assert db.session.get(Action, aid).status == "closed"


def test_the_demo_manager_plans_and_the_clerk_no_longer_does_everything(app, client, org):
    """What issue 11 found: the manager could only void while a clerk analysed, acted, verified and closed."""
    with app.test_request_context():
        aid = _open(org, actor="doer").id
    doer = _logged_in(app, "doer")
    page = doer.get(f"/actions/{aid}").get_data(as_text=True)
    assert 'data-testid="step-analyse"' not in page and "陈总" in page  # waiting for the manager, by name
    mgr = _logged_in(app, "mgr")
    page = mgr.get(f"/actions/{aid}").get_data(as_text=True)
    assert 'data-testid="step-analyse"' in page and 'data-testid="void-form"' in page or "void" in page
    assert mgr.get("/actions/new").status_code == 200  # management may open actions too
    assert mgr.post(f"/actions/{aid}/analyse", {**PLAN, "responsible_department_id": org.CS,
                                                "version": 1}).status_code == 302


# ----------------------------------------------------------------------------- to-do and inbox


def _inbox(login) -> list[str]:
    return list(db.session.execute(select(Notification.url).join(User, User.id == Notification.user_id)
                                   .where(User.login == login, Notification.kind == "action.waiting")).scalars())


def _mine(app, login) -> set[int]:
    c = _logged_in(app, login)
    items = c.api("GET", "/api/v1/actions?mine=1").json["items"]
    html = c.get("/actions/?mine=1").get_data(as_text=True)
    assert all(i["number"] in html for i in items)
    return {i["id"] for i in items}


def test_the_to_do_list_and_the_inbox_follow_the_action(app, org):
    everyone = ("mgr", "head", "doer", "mate", "eng", "enghead")
    with app.test_request_context():
        action = _open(org, actor="doer")
        aid, url = action.id, f"/actions/{action.id}"
        assert {u: len(_inbox(u)) for u in everyone} == {"mgr": 1, "head": 0, "doer": 0, "mate": 0, "eng": 0,
                                                         "enghead": 0}
        body = db.session.execute(select(Notification.body).where(Notification.user_id == _u("mgr").id)).scalar()
        assert body.startswith("车库照明不足") and "一号项目" in body  # "(…)" or "（…）" as the language writes it
    assert {u for u in everyone if aid in _mine(app, u)} == {"mgr"}
    with app.test_request_context():
        service.transition(db.session.get(Action, aid), "analyse", {**PLAN, "responsible_department_id": org.CS},
                           actor=_u("mgr"))
        assert {u for u in everyone if len(_inbox(u)) == 1} == {"mgr", "head", "doer", "mate"}
    assert {u for u in everyone if aid in _mine(app, u)} == {"head", "doer", "mate"}
    with app.test_request_context():
        service.transition(db.session.get(Action, aid), "take_action", {"action_taken": "已整改"}, actor=_u("doer"))
        assert [len(_inbox(u)) for u in ("mgr", "head", "doer", "mate")] == [2, 2, 1, 1]
    assert {u for u in everyone if aid in _mine(app, u)} == {"mgr", "head"}  # not the one who took it
    with app.test_request_context():
        service.transition(db.session.get(Action, aid), "verify", CHECK, actor=_u("head"))
        assert [len(_inbox(u)) for u in ("mgr", "head")] == [3, 2]  # the actor is not told
    assert {u for u in everyone if aid in _mine(app, u)} == {"mgr", "head"}
    with app.test_request_context():
        service.transition(db.session.get(Action, aid), "close", {}, actor=_u("mgr"))
        assert set(_inbox("mgr")) == {url}
    assert not any(aid in _mine(app, u) for u in everyone)


def test_overdue_actions_are_counted_per_department(app, org):
    past = local_today() - timedelta(days=3)
    with app.test_request_context():
        for dept in (org.CS, org.CS, org.ENG, None):
            _open(org, actor="mgr", due_on=past, responsible_department_id=dept)
        _open(org, actor="mgr", due_on=local_today() + timedelta(days=3), responsible_department_id=org.ENG)
        assert service.overdue_by_department(user=_u("mgr")) == [("客服部", 2), ("工程部", 1), (None, 1)]
    html = _logged_in(app, "doer").get("/actions/").get_data(as_text=True)
    assert 'data-testid="overdue-by-department"' in html and 'data-department="客服部"' in html


# ----------------------------------------------------------------------------- complaints (4.4.3)


def test_closing_an_action_from_a_complaint_records_the_feedback_to_the_complainant(app, org):
    from satisfaction.complaints import service as complaints
    from tests.factories_complaints import make_entry
    from webapp.db import utcnow

    with app.test_request_context():
        entry = make_entry("P1", "doer", utcnow() - timedelta(hours=2), severity="major", description="电梯困人")
        complaints.open_corrective_action(entry, actor=_u("doer"))
        entry_id, action = entry.id, db.session.get(Action, entry.action_id)
        service.transition(action, "analyse", {**PLAN, "responsible_department_id": org.CS}, actor=_u("mgr"))
        service.transition(action, "take_action", {"action_taken": "更换门机板"}, actor=_u("doer"))
        service.transition(action, "verify", CHECK, actor=_u("head"))
        with pytest.raises(ValidationError) as exc:
            service.transition(action, "close", {}, actor=_u("mgr"))
        assert set(exc.value.errors) == {"complainant_feedback"}
        db.session.rollback()
        aid = action.id
        manual = _open(org, actor="mgr")
        service.transition(manual, "analyse", {**PLAN, "responsible_department_id": org.CS}, actor=_u("mgr"))
        service.transition(manual, "take_action", {"action_taken": "x"}, actor=_u("doer"))
        service.transition(manual, "verify", CHECK, actor=_u("head"))
        with pytest.raises(ValidationError):  # no complainant to tell
            service.transition(manual, "close", {"complainant_feedback": "x"}, actor=_u("mgr"))
    mgr = _logged_in(app, "mgr")
    page = mgr.get(f"/actions/{aid}").get_data(as_text=True)
    assert 'name="complainant_feedback"' in page
    assert mgr.post(f"/actions/{aid}/close", {"note": "", "version": 4}).status_code == 400
    r = mgr.post(f"/actions/{aid}/close", {"complainant_feedback": "已电话告知业主：门机板已更换", "version": 4})
    assert r.status_code == 302
    complaint_page = _logged_in(app, "doer").get(f"/satisfaction/complaints/{entry_id}").get_data(as_text=True)
    assert 'data-testid="complainant-feedback"' in complaint_page and "门机板已更换" in complaint_page
    assert mgr.api("GET", f"/api/v1/actions/{aid}").json["complainant_feedback"] == "已电话告知业主：门机板已更换"


# ----------------------------------------------------------------------------- sources


def test_an_action_opened_from_the_dashboard_links_back(app, org):
    head = _logged_in(app, "head")
    ref = "/satisfaction/dashboard?year=2025&project=1"
    page = head.get(f"/actions/new?source=dashboard&kind=preventive&project={org.P1}&title=安全满意率下降"
                    f"&ref=/satisfaction/dashboard%3Fyear%3D2025%26project%3D1").get_data(as_text=True)
    assert 'value="安全满意率下降"' in page and 'value="dashboard"' in page
    form = {"kind": "preventive", "project_id": org.P1, "title": "安全满意率下降", "source_type": "dashboard"}
    assert head.post("/actions/new", {**form, "source_ref": "https://evil.example/x"}).status_code == 400
    r = head.post("/actions/new", {**form, "source_ref": ref})
    assert r.status_code == 302
    html = head.get(r.headers["Location"]).get_data(as_text=True)
    assert f'href="{ref.replace("&", "&amp;")}"' in html and _said(app, service.SOURCE_TYPES["dashboard"]) in html
    r = head.api("POST", "/api/v1/actions", json={"kind": "preventive", "project": "P1", "title": "API",
                                                  "source_type": "dashboard", "source_ref": ref})
    assert r.status_code == 201 and r.json["source"] == {"type": "dashboard", "id": None, "ref": ref}
    assert {i["title"] for i in head.api("GET", "/api/v1/actions?source=dashboard").json["items"]} == {
        "安全满意率下降", "API"}


# ----------------------------------------------------------------------------- proposals


def _measures(**kw):
    overall = {"category": None, "name": "整体满意度", "project": "一号项目", "satisfied": 173, "answered": 200,
               "years": {2023: (180, 200), 2024: (176, 200), 2025: (173, 200)}}
    security = {"category": "security", "name": "安全", "project": "一号项目", "satisfied": 168, "answered": 200,
                "years": {}}
    environment = {"category": "environment", "name": "环境", "project": "一号项目", "satisfied": 26,
                   "answered": 28, "years": {2025: (26, 28)}}
    return [overall, security, environment]


def test_the_figures_propose_once_per_source(app, org):
    campaign = SimpleNamespace(id=41, project_id=org.P1, year=2025)
    with app.test_request_context():
        made = proposals.from_survey(campaign, label="一号项目 2025", target=0.85, measures=_measures(),
                                     actor=_u("mgr"))
        assert [(p.reason, p.kind, p.source_ref) for p in made] == [
            ("met_uncertain", "preventive", None), ("falling", "preventive", None),
            ("category_below", "corrective", "security"), ("met_uncertain", "preventive", "environment")]
        overall = made[0].figures  # the known answer: 173 of 200
        assert (round(overall["rate"], 3), round(overall["low"], 3), round(overall["high"], 3)) == (0.865, 0.811, 0.906)
        assert overall["label"] == "met_uncertain" and not overall["small_sample"]
        assert made[3].figures["small_sample"] and "86.5%" in made[0].title and "→" in made[1].title
        db.session.commit()
        # Closing the survey again (after a reopen) proposes nothing new.
        assert proposals.from_survey(campaign, label="x", target=0.85, measures=_measures(), actor=None) == []
        assert db.session.execute(select(func.count()).select_from(ActionProposal)).scalar() == 4
        # The database holds the rule too, whatever the code does.
        with pytest.raises(IntegrityError):
            db.session.add(ActionProposal(key=made[0].key, reason="met_uncertain", kind="preventive",
                                          source_type="survey_campaign", source_id=41, project_id=org.P1,
                                          title="dup", description="", figures={}, status="pending",
                                          decision_reason=""))
            db.session.flush()
        db.session.rollback()
        # The campaign below target (168 of 200) proposes no category action: its own corrective action covers it.
        below = _measures()
        below[0] = {**below[0], "satisfied": 168, "years": {}}
        assert [p.reason for p in proposals.from_survey(SimpleNamespace(id=42, project_id=org.P1, year=2025),
                                                        label="y", target=0.85, measures=below)] == ["met_uncertain"]
        db.session.commit()
        assert db.session.execute(select(func.count()).select_from(Notification).where(
            Notification.kind == "action.proposal")).scalar() == 5  # the manager, once per proposal


def test_a_manager_accepts_or_dismisses_a_proposal_with_a_reason(app, org):
    with app.test_request_context():
        made = proposals.from_survey(SimpleNamespace(id=41, project_id=org.P1, year=2025), label="一号项目 2025",
                                     target=0.85, measures=_measures())
        db.session.commit()
        first, second, third = made[0].id, made[1].id, made[2].id
    doer = _logged_in(app, "doer")
    assert 'data-testid="proposals"' not in doer.get("/actions/").get_data(as_text=True)
    assert doer.post(f"/actions/proposals/{first}/accept", {f"p{first}a-version": "1"}).status_code == 403
    assert doer.api("POST", f"/api/v1/actions/proposals/{first}/dismiss", json={"reason": "x"}).status_code == 403
    mgr = _logged_in(app, "mgr")
    html = mgr.get("/actions/").get_data(as_text=True)
    assert 'data-pending="4" data-accepted="0" data-dismissed="0"' in html
    r = mgr.post(f"/actions/proposals/{first}/accept", {f"p{first}a-version": "1"})
    assert r.status_code == 302
    with app.app_context():
        proposal = db.session.get(ActionProposal, first)
        action = proposal.action
        assert (proposal.status, proposal.decided_by.login) == ("accepted", "mgr")
        assert (action.kind, action.source_type, action.source_id, action.open_key) == (
            "preventive", "survey_campaign", 41, f"proposal:{first}")
    assert "PP-" in mgr.get(r.headers["Location"]).get_data(as_text=True)  # the action names its proposal
    assert mgr.post(f"/actions/proposals/{first}/accept", {f"p{first}a-version": "2"}).status_code == 409
    r = mgr.post(f"/actions/proposals/{second}/dismiss", {f"p{second}d-version": "1", f"p{second}d-reason": " "})
    assert r.status_code == 400
    r = mgr.post(f"/actions/proposals/{second}/dismiss", {f"p{second}d-version": "1",
                                                          f"p{second}d-reason": "两年均在目标以上，继续观察"})
    assert r.status_code == 302
    r = mgr.api("POST", f"/api/v1/actions/proposals/{third}/dismiss", json={"reason": ""})
    assert r.status_code == 400 and "reason" in r.json["errors"]
    r = mgr.api("POST", f"/api/v1/actions/proposals/{third}/accept", json={"version": 1})
    assert r.status_code == 201 and r.json["kind"] == "corrective" and r.json["source"]["ref"] == "security"
    listed = mgr.api("GET", "/api/v1/actions/proposals?status=all").json["items"]
    assert {p["status"] for p in listed} == {"accepted", "dismissed", "pending"} and len(listed) == 4
    one = mgr.api("GET", f"/api/v1/actions/proposals/{second}").json
    assert (one["status"], one["decision_reason"], one["decided_by"]) == ("dismissed", "两年均在目标以上，继续观察", "mgr")
    page = mgr.get("/actions/proposals?status=dismissed").get_data(as_text=True)
    assert "两年均在目标以上" in page
    with app.app_context():
        entries = {(e.action, e.object_id, e.actor.login if e.actor else None, e.reason) for e in db.session.execute(
            select(AuditEntry).where(AuditEntry.object_type == "action_proposals")).scalars()}
        assert ("action_proposal.accepted", str(first), "mgr", "") in entries
        assert ("action_proposal.dismissed", str(second), "mgr", "两年均在目标以上，继续观察") in entries
        assert sum(1 for e in entries if e[0] == "action_proposal.proposed") == 4


def test_closing_a_survey_proposes_and_the_campaign_below_target_still_opens_its_corrective_action(app, org):
    from satisfaction.categories import ensure_default_categories
    from satisfaction.surveys import service as surveys

    with app.test_request_context():
        ensure_default_categories()
        db.session.commit()
        mgr = _u("mgr")
        campaign = surveys.create_campaign({"project_id": org.P1, "year": local_today().year, "distributed": 60,
                                            "distributed_on": local_today() - timedelta(days=5)}, actor=mgr)
        scale = getattr(campaign, "scale", None)  # the company's rating scale (issue 11, part 3), or 1–5
        top = max(scale.satisfied_values) if scale else 5
        bottom = min(v for v in scale.values if v not in scale.satisfied_values) if scale else 1
        for overall in [top] * 26 + [bottom] * 2:  # 26 of 28: 92.9 %, met but not yet certain, small sample
            surveys.create_response(surveys.get_campaign(campaign.id, mgr), {"overall": overall}, actor=mgr)
        campaign = surveys.get_campaign(campaign.id, mgr)
        surveys.close_campaign(campaign, actor=mgr, version=campaign.version)
        made = list(db.session.execute(select(ActionProposal)).scalars())
        assert [(p.reason, p.source_type, p.source_id) for p in made] == [("met_uncertain", "survey_campaign",
                                                                           campaign.id)]
        proposals.accept(made[0], actor=mgr)
        # Late forms push it below target: the corrective action still opens, once; no second proposal.
        surveys.reopen_campaign(campaign, actor=mgr, version=campaign.version)
        for _ in range(10):
            surveys.create_response(surveys.get_campaign(campaign.id, mgr), {"overall": bottom}, actor=mgr)
        campaign = surveys.get_campaign(campaign.id, mgr)
        surveys.close_campaign(campaign, actor=mgr, version=campaign.version)
        kinds = sorted(a.kind for a in service.actions_for("survey_campaign", campaign.id))
        assert kinds == ["corrective", "preventive"]
        assert db.session.execute(select(func.count()).select_from(ActionProposal)).scalar() == 1
