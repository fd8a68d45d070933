"""Owner surveys: rates from the data, validation, scope, voiding, locking, XLSX import, API.

These tests run on a 1–5 company scale (5 非常满意 … 1 非常不满意, satisfied from 4), set in the
``world`` fixture; the scale itself, its default and its per-campaign copy are tested in
tests/test_rating_scale.py.
"""
from __future__ import annotations

import csv
import io
from datetime import timedelta
from types import SimpleNamespace

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select, text

from accounts.models import User
from audit.models import AuditEntry
from satisfaction.categories import ensure_default_categories, get_category
from satisfaction.surveys.models import SurveyAnswer, SurveyCampaign, SurveyResponse
from webapp.extensions import db

YEAR_FIELD = "year"


# ---------------------------------------------------------------- factories

#: What a rating off the 1–5 scale is told, in any language.
OFF_SCALE = "5/4/3/2/1"


@pytest.fixture
def world(app, make_project, make_user):
    """Projects P1 (100 households) and P2 (50); clerk1 works on P1 only; boss sees everything.
    The company's rating scale is 1–5, satisfied from 4."""
    p1 = make_project("P1", households=100, name="翠湖")
    p2 = make_project("P2", households=50, name="金禾")
    make_user("clerk1", roles=("clerk",), projects=("P1",))
    make_user("boss", roles=("admin",))
    make_user("mgr", roles=("manager",))
    with app.app_context():
        from satisfaction.settings import update_settings
        from satisfaction.surveys.scale import legacy_levels

        ensure_default_categories()
        db.session.commit()
        update_settings({"rating_scale": legacy_levels(4)}, reason="a 1–5 form")
        cats = {c: get_category(c).id for c in ("security", "environment", "maintenance", "customer_service", "other")}
        from webapp.dates import local_today

        today = local_today()
    return SimpleNamespace(p1=p1, p2=p2, cats=cats, today=today, year=today.year)


def _user(login):
    return db.session.execute(select(User).where(User.login == login)).scalar_one()


def make_campaign(app, project_id, *, distributed=90, households=None, categories=("security", "maintenance"),
                  period="", year=None, actor="boss"):
    from satisfaction.surveys.service import create_campaign
    from webapp.dates import local_today

    with app.app_context():
        data = {"project_id": project_id, "year": year or local_today().year, "period": period,
                "distributed": distributed, "distributed_on": local_today() - timedelta(days=10),
                "category_ids": list(categories)}
        if households is not None:
            data["households"] = households
        return create_campaign(data, actor=_user(actor)).id


def respond(app, campaign_id, overalls, ratings=None, actor="boss"):
    """Enter forms through the service: ``overalls`` [5, 4, …], ``ratings`` [{code: rating}, …]."""
    from satisfaction.surveys.service import create_response, get_campaign

    ids = []
    with app.app_context():
        actor = _user(actor)
        for i, overall in enumerate(overalls):
            campaign = get_campaign(campaign_id, actor)
            r = create_response(campaign, {"overall": overall, "ratings": (ratings or [{}] * len(overalls))[i]},
                                actor=actor)
            ids.append(r.id)
    return ids


def rates_of(app, campaign_id):
    from satisfaction.surveys.rates import campaign_rates

    with app.app_context():
        return campaign_rates(db.session.get(SurveyCampaign, campaign_id))


def count(app, model, *where):
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar()


def xlsx(rows, header=("房号", "总体评价", "安全", "维修", "意见建议")) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def upload(client, campaign_id, data: bytes, name="forms.xlsx"):
    client.get(f"/satisfaction/surveys/{campaign_id}/import")
    return client.post(f"/satisfaction/surveys/{campaign_id}/import", {"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def login(client, who):
    assert client.login(who).status_code == 302
    client.get("/")
    return client


# ---------------------------------------------------------------- rates

def test_rates_are_computed_exactly_per_campaign_category_and_company(app, world):
    c1 = make_campaign(app, world.p1, distributed=90)  # 100 households → 90 % distributed (meets 90 % exactly)
    c2 = make_campaign(app, world.p2, distributed=40)  # 50 households → 80 % (below target)
    respond(app, c1, [5, 5, 4, 4, 4, 3, 2, 5, 4, 1], [
        {"security": 5, "maintenance": 2}, {"security": 4, "maintenance": 3}, {"security": 3},
        {"security": None, "maintenance": 5}, {}, {"security": "非常满意"}, {"security": 1, "maintenance": 4},
        {}, {}, {"maintenance": "1"}])
    respond(app, c2, [5, 5, 5, 4])
    r1 = rates_of(app, c1)
    assert (r1.households, r1.distributed, r1.returned, r1.satisfied) == (100, 90, 10, 7)
    assert r1.distribution_rate == 0.9 and not r1.distribution_low
    assert r1.return_rate == pytest.approx(10 / 90) and r1.return_low
    assert r1.satisfaction_rate == pytest.approx(0.7) and r1.satisfaction_low
    with app.app_context():
        from satisfaction.surveys.rates import category_rates, rating_histogram, year_summary

        cats = {c.category.code: (c.answered, c.satisfied) for c in category_rates([c1], [world.cats["security"],
                                                                                         world.cats["maintenance"]])}
        assert cats == {"security": (5, 3), "maintenance": (5, 2)}
        assert [(x.value, x.label, x.satisfied, x.forms) for x in rating_histogram([c1])] == [
            (5, "非常满意", True, 3), (4, "满意", True, 4), (3, "一般", False, 1), (2, "不满意", False, 1),
            (1, "非常不满意", False, 1)]
        summary = year_summary(world.year, None)
        t = summary.totals
        assert (t.households, t.distributed, t.returned, t.satisfied) == (150, 130, 14, 11)
        assert t.satisfaction_rate == pytest.approx(11 / 14)  # sum of satisfied / sum of returned
        assert t.distribution_rate == pytest.approx(130 / 150)
        assert [p.project.code for p in summary.projects] == ["P1", "P2"]
        p2 = summary.projects[1].rates
        assert p2.distribution_low and p2.satisfaction_rate == 1.0 and not p2.satisfaction_low
        # the clerk's summary covers only P1
        only_p1 = year_summary(world.year, {world.p1}).totals
        assert (only_p1.returned, only_p1.satisfied) == (10, 7)


def test_target_boundaries_and_flags(app, world):
    c = make_campaign(app, world.p1, distributed=20, categories=())
    respond(app, c, [5] * 17 + [3] * 3)  # return 20/20, satisfaction exactly 85 %
    r = rates_of(app, c)
    assert r.satisfaction_rate == pytest.approx(0.85) and not r.satisfaction_low
    assert r.distribution_low  # 20 / 100 households
    assert not r.return_low and r.flagged


# ---------------------------------------------------------------- campaigns: validation, scope, locking

def _campaign_form(world, **over):
    data = {"project_id": str(world.p1), YEAR_FIELD: str(world.year), "period": "", "households": "",
            "distributed": "80", "distributed_on": (world.today - timedelta(days=3)).isoformat(),
            "category_ids": [str(world.cats["security"]), str(world.cats["environment"])]}
    data.update(over)
    return data


def test_clerk_creates_a_campaign_with_the_projects_households(app, world, client):
    login(client, "clerk1")
    r = client.post("/satisfaction/surveys/new", _campaign_form(world))
    assert r.status_code == 302
    with app.app_context():
        c = db.session.execute(select(SurveyCampaign)).scalar_one()
        assert (c.households, c.distributed, c.status, c.version) == (100, 80, "open", 1)
        assert c.category_ids == [world.cats["security"], world.cats["environment"]]
        assert db.session.execute(select(AuditEntry).where(AuditEntry.action == "survey_campaign.created")).first()
    page = client.get("/satisfaction/surveys/").get_data(as_text=True)
    assert "翠湖" in page and "80.0%" in page  # distribution 80 / 100, flagged
    assert "未达标" in page


BAD_CAMPAIGNS = [
    ({"distributed": "101"}, "发放份数（101）不能超过入住户数（100）"),
    ({"households": "0"}, "入住户数必须大于 0"),
    ({"households": "-5"}, "入住户数必须大于 0"),
    ({"households": "abc"}, "请输入整数"),
    ({"distributed": "-1"}, "0 或以上"),
    ({"distributed_on": "2999-01-01"}, "发放日期不能晚于今天"),
    ({"distributed_on": "not-a-date"}, "YYYY-MM-DD"),
    ({"distributed_on": ""}, "请填写调查表的发放日期"),
    ({YEAR_FIELD: "1990"}, "年份"),
    ({"category_ids": ["99999"]}, "未知的服务类别"),
    ({"project_id": ""}, "此项为必填项"),
]


def test_campaign_form_rejects_bad_input(app, world, client):
    login(client, "clerk1")
    for over, message in BAD_CAMPAIGNS:
        r = client.post("/satisfaction/surveys/new", _campaign_form(world, **over))
        assert r.status_code == 400, over
        assert message in r.get_data(as_text=True), over
    assert count(app, SurveyCampaign) == 0


def test_future_year_cannot_have_forms_distributed(app, world, client):
    login(client, "clerk1")
    r = client.post("/satisfaction/surveys/new", _campaign_form(world, year=str(world.year + 1)))
    assert r.status_code == 400 and "未来年度" in r.get_data(as_text=True)
    r = client.post("/satisfaction/surveys/new", _campaign_form(world, year=str(world.year + 1), distributed="0",
                                                                 distributed_on=""))
    assert r.status_code == 302  # planning next year's survey is fine


def test_duplicate_campaign_conflicts_until_the_first_is_voided(app, world, client):
    make_campaign(app, world.p1)
    login(client, "clerk1")
    r = client.post("/satisfaction/surveys/new", _campaign_form(world))
    assert r.status_code == 409 and "已有调查" in r.get_data(as_text=True)
    assert client.post("/satisfaction/surveys/new", _campaign_form(world, period="下半年")).status_code == 302
    assert count(app, SurveyCampaign) == 2


def test_clerk_is_scoped_to_their_projects(app, world, client):
    other = make_campaign(app, world.p2, distributed=40)
    mine = make_campaign(app, world.p1)
    login(client, "clerk1")
    # Another project's survey is answered like one that does not exist (issue 8 item 12: was 403).
    assert client.get(f"/satisfaction/surveys/{other}").status_code == 404
    assert client.get(f"/satisfaction/surveys/{other}/entry").status_code == 404
    r = client.post(f"/satisfaction/surveys/{other}/entry", {"overall": "5"})
    assert r.status_code == 404
    assert client.api("GET", f"/api/v1/survey-campaigns/{other}").status_code == 404
    r = client.api("POST", f"/api/v1/survey-campaigns/{other}/responses", json={"overall": 5})
    assert r.status_code == 404 and r.json["error"] == "not_found"
    r = client.post("/satisfaction/surveys/new", _campaign_form(world, project_id=str(world.p2)))
    assert r.status_code == 404
    listed = [c["id"] for c in client.api("GET", "/api/v1/survey-campaigns").json["items"]]
    assert listed == [mine]
    page = client.get("/satisfaction/surveys/").get_data(as_text=True)
    assert "翠湖" in page and "金禾" not in page
    assert count(app, SurveyResponse) == 0 and count(app, SurveyCampaign) == 2


def test_edit_with_a_stale_version_is_refused(app, world, client):
    c = make_campaign(app, world.p1, distributed=50)
    login(client, "clerk1")
    client.get(f"/satisfaction/surveys/{c}/edit")
    stale = {"version": "1", "period": "", "households": "100", "distributed": "60",
             "distributed_on": (world.today - timedelta(days=1)).isoformat(),
             "category_ids": [str(world.cats["security"]), str(world.cats["maintenance"])]}
    assert client.post(f"/satisfaction/surveys/{c}/edit", stale).status_code == 302  # version 1 → 2
    stale["distributed"] = "70"
    r = client.post(f"/satisfaction/surveys/{c}/edit", stale)  # still says version 1
    assert r.status_code == 409 and "其他人同时修改" in r.get_data(as_text=True)
    with app.app_context():
        c_ = db.session.get(SurveyCampaign, c)
        assert (c_.distributed, c_.version) == (60, 2)


def test_concurrent_update_between_read_and_write_is_a_conflict(app, world):
    """The version counter guards the UPDATE itself, not only the form's version field."""
    from satisfaction.surveys.service import close_campaign, get_campaign, update_campaign
    from webapp.exceptions import Conflict

    c = make_campaign(app, world.p1, distributed=50)
    with app.app_context():
        boss = _user("boss")
        campaign = get_campaign(c, boss)
        # another worker commits in between (its own connection)
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE survey_campaigns SET distributed = 55, version = version + 1 WHERE id = :id"),
                         {"id": c})
        # This session still holds version 1 and no form version is given: only the UPDATE can tell.
        with pytest.raises(Conflict):
            close_campaign(campaign, actor=boss)
        db.session.rollback()
        with pytest.raises(Conflict):
            update_campaign(get_campaign(c, _user("boss")), {"distributed": 70}, actor=_user("boss"), version=1)
        db.session.rollback()
        stored = db.session.get(SurveyCampaign, c)
        assert (stored.distributed, stored.status) == (55, "open")


def test_distributed_cannot_drop_below_forms_entered_and_questions_freeze(app, world):
    from satisfaction.surveys.service import get_campaign, update_campaign
    from webapp.exceptions import ValidationError

    c = make_campaign(app, world.p1, distributed=5)
    respond(app, c, [5, 4, 3])
    with app.app_context():
        boss = _user("boss")
        with pytest.raises(ValidationError) as exc:
            update_campaign(get_campaign(c, boss), {"distributed": 2}, actor=boss)
        assert "distributed" in exc.value.errors
        db.session.rollback()
        with pytest.raises(ValidationError) as exc:
            update_campaign(get_campaign(c, boss), {"category_ids": ["security"]}, actor=boss)
        assert "category_ids" in exc.value.errors
        db.session.rollback()
        assert db.session.get(SurveyCampaign, c).distributed == 5


# ---------------------------------------------------------------- entering forms

def test_paper_form_entry_without_javascript(app, world, client):
    c = make_campaign(app, world.p1, distributed=3)
    login(client, "clerk1")
    page = client.get(f"/satisfaction/surveys/{c}/entry").get_data(as_text=True)
    assert "已录入 <strong data-stat=\"returned\">0</strong> / 发放 <strong data-stat=\"distributed\">3</strong>" in page
    assert "autofocus" in page
    sec, mnt = world.cats["security"], world.cats["maintenance"]
    r = client.post(f"/satisfaction/surveys/{c}/entry", {"overall": "5", f"r_{sec}": "4", f"r_{mnt}": "",
                                                           "room": "3-2-501", "comments": "保洁很好"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/satisfaction/surveys/{c}/entry")
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "data-stat=\"returned\">1</strong>" in page and "已保存" in page
    with app.app_context():
        resp = db.session.execute(select(SurveyResponse)).scalar_one()
        assert (resp.overall, resp.room, resp.comments, resp.source) == (5, "3-2-501", "保洁很好", "paper")
        assert resp.ratings() == {sec: 4}
        assert db.session.execute(select(AuditEntry).where(AuditEntry.action == "survey_response.created")).first()


BAD_FORMS = [
    ({"overall": ""}, "总体评价必填"),
    ({"overall": "6"}, OFF_SCALE),
    ({"overall": "0"}, OFF_SCALE),
    ({"overall": "x"}, OFF_SCALE),
    ({"overall": "4.5"}, OFF_SCALE),
    ({"overall": "5", "r_SEC": "9"}, OFF_SCALE),
    ({"overall": "5", "room": "x" * 41}, "最多 40 个字符"),
]


def test_entry_rejects_bad_forms(app, world, client):
    c = make_campaign(app, world.p1, distributed=3)
    login(client, "clerk1")
    for form, message in BAD_FORMS:
        form = {k.replace("SEC", str(world.cats["security"])): v for k, v in form.items()}
        r = client.post(f"/satisfaction/surveys/{c}/entry", form)
        assert r.status_code == 400, form
        assert message in r.get_data(as_text=True), form
    assert count(app, SurveyResponse) == 0 and count(app, SurveyAnswer) == 0


def test_returned_can_never_exceed_distributed(app, world, client):
    c = make_campaign(app, world.p1, distributed=2)
    respond(app, c, [5, 5])
    login(client, "clerk1")
    r = client.post(f"/satisfaction/surveys/{c}/entry", {"overall": "4"})
    assert r.status_code == 400 and "回收数不能超过发放数" in r.get_data(as_text=True)
    r = client.api("POST", f"/api/v1/survey-campaigns/{c}/responses", json={"overall": 4})
    assert r.status_code == 400 and "overall" in r.json["errors"]
    assert rates_of(app, c).returned == 2


def test_void_a_form_excludes_it_from_every_figure(app, world, client):
    c = make_campaign(app, world.p1, distributed=5)
    ids = respond(app, c, [1, 5], [{"security": 1}, {"security": 5}])
    assert rates_of(app, c).satisfaction_rate == 0.5
    login(client, "clerk1")  # clerks may not void
    assert client.post(f"/satisfaction/surveys/{c}/responses/{ids[0]}/void", {"reason": "x"}).status_code == 403
    client.logout()
    login(client, "mgr")
    r = client.post(f"/satisfaction/surveys/{c}/responses/{ids[0]}/void", {"reason": ""})
    assert r.status_code == 400 and "请填写作废原因" in r.get_data(as_text=True)
    r = client.post(f"/satisfaction/surveys/{c}/responses/{ids[0]}/void", {"reason": "重复录入"})
    assert r.status_code == 302
    r = rates_of(app, c)
    assert (r.returned, r.satisfied, r.satisfaction_rate) == (1, 1, 1.0)
    with app.app_context():
        from satisfaction.surveys.rates import category_rates

        assert [(x.answered, x.satisfied) for x in category_rates([c], [world.cats["security"]])] == [(1, 1)]
        row = db.session.get(SurveyResponse, ids[0])
        assert row.voided and row.void_reason == "重复录入"  # kept, never deleted
    assert client.post(f"/satisfaction/surveys/{c}/responses/{ids[0]}/void", {"reason": "again"}).status_code == 409
    voided = client.get(f"/satisfaction/surveys/{c}/responses?show=voided").get_data(as_text=True)
    assert "重复录入" in voided
    counted = client.get(f"/satisfaction/surveys/{c}/responses").get_data(as_text=True)
    assert f'data-response="{ids[0]}"' not in counted and f'data-response="{ids[1]}"' in counted


def test_voided_campaign_leaves_the_company_figures(app, world, client):
    c1 = make_campaign(app, world.p1, distributed=10)
    c2 = make_campaign(app, world.p2, distributed=10)
    respond(app, c1, [5])
    respond(app, c2, [1])
    login(client, "mgr")
    r = client.post(f"/satisfaction/surveys/{c2}/void", {"reason": "建错项目", "version": "1"})
    assert r.status_code == 302
    body = client.api("GET", f"/api/v1/survey-campaigns?year={world.year}").json
    assert [c["id"] for c in body["items"]] == [c1]
    with app.app_context():
        from satisfaction.surveys.rates import year_summary

        t = year_summary(world.year, None).totals
        assert (t.returned, t.satisfied, t.households) == (1, 1, 100)
    assert c2 in [c["id"] for c in client.api("GET", "/api/v1/survey-campaigns?include_voided=1").json["items"]]
    assert "已作废" in client.get(f"/satisfaction/surveys/?year={world.year}&voided=1").get_data(as_text=True)


# ---------------------------------------------------------------- closing and the corrective action

def test_closing_below_target_opens_one_corrective_action(app, world, client):
    from actions.models import Action

    low = make_campaign(app, world.p1, distributed=10)
    ok = make_campaign(app, world.p2, distributed=10)
    respond(app, low, [5, 4, 3, 2])  # 50 %
    respond(app, ok, [5, 5, 5, 4])
    login(client, "clerk1")
    r = client.post(f"/satisfaction/surveys/{low}/close", {"version": "1"}, follow_redirects=True)
    assert r.status_code == 200 and "已启动纠正措施" in r.get_data(as_text=True)
    with app.app_context():
        action = db.session.execute(select(Action)).scalar_one()
        assert (action.kind, action.source_type, action.source_id, action.project_id) == (
            "corrective", "survey_campaign", low, world.p1)
        assert "50.0%" in action.title and "85%" in action.title
    # entering is refused while closed; reopen and close again: still one action
    r = client.post(f"/satisfaction/surveys/{low}/entry", {"overall": "5"})
    assert r.status_code == 409 and "已结束" in r.get_data(as_text=True)
    assert client.post(f"/satisfaction/surveys/{low}/reopen", {"version": "2"}).status_code == 302
    assert client.post(f"/satisfaction/surveys/{low}/close", {"version": "3"}).status_code == 302
    assert count(app, Action) == 1
    assert "data-testid=\"corrective-action\"" in client.get(f"/satisfaction/surveys/{low}").get_data(as_text=True)
    detail = client.api("GET", f"/api/v1/survey-campaigns/{low}").json
    assert [a["number"] for a in detail["corrective_actions"]] == [action_number(app)]
    client.logout()
    login(client, "boss")
    assert client.post(f"/satisfaction/surveys/{ok}/close", {"version": "1"}).status_code == 302
    assert count(app, Action) == 1  # 100 % satisfied: no action


def test_a_failing_below_target_receiver_undoes_the_close_and_the_action(app, world):
    from actions.models import Action
    from satisfaction.surveys.service import close_campaign, get_campaign
    from webapp.signals import campaign_below_target

    low = make_campaign(app, world.p1, distributed=10)
    respond(app, low, [5, 2])  # 50 %

    def refuse(sender, **extra):
        raise RuntimeError("cannot follow up")

    with app.app_context():
        audit_before = db.session.execute(select(func.count()).select_from(AuditEntry)).scalar()
        boss = _user("boss")
        # Next to the actions feature's receiver (which opens the action): whichever runs first, nothing stays.
        with campaign_below_target.connected_to(refuse), pytest.raises(RuntimeError):
            close_campaign(get_campaign(low, boss), actor=boss)
        db.session.rollback()  # what the caller (the request teardown) does with an unfinished transaction
    with app.app_context():
        assert db.session.get(SurveyCampaign, low).status == "open"
        assert db.session.execute(select(func.count()).select_from(Action)).scalar() == 0
        assert db.session.execute(select(func.count()).select_from(AuditEntry)).scalar() == audit_before


def action_number(app):
    from actions.models import Action

    with app.app_context():
        return db.session.execute(select(Action)).scalar_one().number


def test_close_with_stale_version_is_a_conflict(app, world, client):
    c = make_campaign(app, world.p1)
    login(client, "clerk1")
    assert client.post(f"/satisfaction/surveys/{c}/close", {"version": "7"}).status_code == 409
    with app.app_context():
        assert db.session.get(SurveyCampaign, c).status == "open"


# ---------------------------------------------------------------- XLSX import

def test_import_good_file_with_numbers_words_and_blanks(app, world, client):
    c = make_campaign(app, world.p1, distributed=10)
    data = xlsx([("1-101", 5, "满意", 4, "很好"), ("1-102", "非常满意", None, "一般", None),
                 (None, "3", 2, None, "电梯慢"), (None, None, None, None, None), ("2-201", 4.0, "非常不满意", 5, "")])
    login(client, "clerk1")
    r = upload(client, c, data)
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    r = rates_of(app, c)
    assert (r.returned, r.satisfied) == (4, 3)
    with app.app_context():
        rows = list(db.session.execute(select(SurveyResponse).order_by(SurveyResponse.id)).scalars())
        assert [x.overall for x in rows] == [5, 5, 3, 4] and {x.source for x in rows} == {"xlsx"}
        assert rows[0].ratings() == {world.cats["security"]: 4, world.cats["maintenance"]: 4}
        assert rows[1].ratings() == {world.cats["maintenance"]: 3}
        assert rows[3].ratings() == {world.cats["security"]: 1, world.cats["maintenance"]: 5}
        assert rows[2].comments == "电梯慢" and rows[0].room == "1-101"
        entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "survey_response.imported")
                                   ).scalar_one()
        assert entry.after["count"] == 4 and len(entry.after["sha256"]) == 64


def test_import_with_a_bad_row_imports_nothing_and_names_row_and_column(app, world, client):
    c = make_campaign(app, world.p1, distributed=10)
    data = xlsx([("1-101", 5, 4, 4, ""), ("1-102", 5, 4, 9, ""), ("1-103", None, 4, 4, ""),
                 ("1-104", 5, "好", 4, "")])
    login(client, "clerk1")
    r = upload(client, c, data)
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "第 3 行「维修」列：" in html and OFF_SCALE in html and "非常满意/满意/一般/不满意/非常不满意" in html
    assert "“9”" in html  # the cell as found
    assert "第 4 行「总体评价」列：总体评价必填" in html
    assert "第 5 行「安全」列：" in html and "“好”" in html
    assert "未导入任何数据" in html
    assert count(app, SurveyResponse) == 0 and count(app, SurveyAnswer) == 0


def test_import_rejects_malformed_files(app, world, client):
    c = make_campaign(app, world.p1, distributed=10)
    cases = [
        (b"this is not a spreadsheet", "这不是 XLSX 文件"),
        (b"PK\x03\x04garbage-zip", "这不是 XLSX 文件"),
        (b"", "文件是空的"),
        (xlsx([("1", 5)], header=("楼号", "总体评价")), "「楼号」列不是本次调查的题目"),
        (xlsx([("1-1", 5)], header=("房号", "评分")), "没有找到含「总体评价」列的标题行"),
        (xlsx([]), "标题行下面没有调查表数据"),
        (xlsx([(5, 5)], header=("总体评价", "总体评价")), "重复出现"),
        (xlsx([("1-1", 5, 5)], header=("房号", "总体评价", "环境（保洁、绿化）")), "不是本次调查的题目"),
    ]
    login(client, "clerk1")
    for payload, message in cases:
        r = upload(client, c, payload)
        assert r.status_code == 400, message
        assert message in r.get_data(as_text=True), message
    assert count(app, SurveyResponse) == 0


def test_import_refuses_more_forms_than_distributed_and_too_many_rows(app, world, client):
    c = make_campaign(app, world.p1, distributed=3)
    respond(app, c, [5])
    login(client, "clerk1")
    r = upload(client, c, xlsx([("", 5, 5, 5, "")] * 3))
    assert r.status_code == 400 and "回收数将为 4 份，超过发放的 3 份" in r.get_data(as_text=True)
    app.config["SURVEY_IMPORT_MAX_ROWS"] = 2
    r = upload(client, c, xlsx([("", 5, 5, 5, "")] * 3))
    assert r.status_code == 400 and "每次最多导入 2 份" in r.get_data(as_text=True)
    assert rates_of(app, c).returned == 1


def test_template_downloads_opens_and_round_trips(app, world, client):
    c = make_campaign(app, world.p1, distributed=10, categories=("security", "environment", "maintenance"))
    login(client, "clerk1")
    r = client.get(f"/satisfaction/surveys/{c}/import-template.xlsx")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in r.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(r.data))
    ws = wb.worksheets[0]
    header = [cell.value for cell in ws[1]]
    assert header == ["房号", "总体评价", "安全", "环境（保洁、绿化）", "维修", "意见建议"]
    assert "填写说明" in wb.sheetnames
    ws.append(["5-1-101", "满意", 5, 4, 3, "绿化不错"])
    buf = io.BytesIO()
    wb.save(buf)
    assert upload(client, c, buf.getvalue()).status_code == 302
    assert rates_of(app, c).returned == 1


# ---------------------------------------------------------------- exports

def test_exports_of_campaigns_and_forms(app, world, client):
    c = make_campaign(app, world.p1, distributed=10)
    respond(app, c, [5, 2], [{"security": 4}, {}])
    login(client, "clerk1")
    with app.test_request_context():
        from satisfaction.surveys.rates import totals_label

        mine = str(totals_label({world.p1}))  # clerk1 sees one project: not the company's total
    r = client.get(f"/satisfaction/surveys/export.csv?year={world.year}")
    text_ = r.data.decode("utf-8")
    assert r.status_code == 200 and text_.startswith("\ufeff") and "翠湖" in text_ and "全公司合计" not in text_
    assert "50.0%" in text_ and f"\r\n{mine}," in text_
    r = client.get(f"/satisfaction/surveys/export.xlsx?year={world.year}")
    ws = load_workbook(io.BytesIO(r.data)).active
    values = [[cell.value for cell in row] for row in ws.iter_rows()]
    assert any(row[0] == "P1" for row in values) and any(row[0] == mine for row in values)
    r = client.get(f"/satisfaction/surveys/{c}/responses.xlsx")
    ws = load_workbook(io.BytesIO(r.data)).active
    rows = [[cell.value for cell in row] for row in ws.iter_rows()]
    header = next(row for row in rows if row and row[0] == "编号")
    assert "安全" in header and "总体评价" in header
    r = client.get(f"/satisfaction/surveys/{c}/responses.csv")
    assert r.status_code == 200 and "纸质调查表" in r.data.decode("utf-8")


def test_names_starting_with_equals_stay_text_in_headers_titles_and_sheet_names(app, world, client, make_project):
    """A user-defined category (a column header) and a project (in the title and sheet name) named
    like a formula are written as text in every export and in the import template."""
    from satisfaction.categories import save_category

    evil = '=HYPERLINK("http://evil.example","点我")'
    p3 = make_project("P3", households=20, name="=SUM(1,2)")
    with app.app_context():
        save_category(None, {"code": "evil", "name": evil, "name_en": "=1+1", "sort_order": 99, "active": True})
    c = make_campaign(app, p3, distributed=10, categories=("evil", "security"))
    respond(app, c, [5], [{"evil": 4, "security": 5}])
    login(client, "boss")

    wb = load_workbook(io.BytesIO(client.get(f"/satisfaction/surveys/{c}/responses.xlsx").data))
    ws = wb.active
    assert not ws.title.startswith("=") and "SUM(1,2)" in ws.title
    cells = [cell for row in ws.iter_rows() for cell in row if cell.value is not None]
    assert [cell.coordinate for cell in cells if cell.data_type == "f"] == []
    assert ws["A1"].data_type == "s" and ws["A1"].value.startswith("'=SUM(1,2)")  # title: project name first
    header = next(cell for cell in cells if isinstance(cell.value, str) and "HYPERLINK" in cell.value)
    assert header.data_type == "s" and header.value == "'" + evil and header.row == 3
    assert ws.cell(row=4, column=header.column).value == "满意"  # categories export as their labels

    rows = list(csv.reader(io.StringIO(client.get(f"/satisfaction/surveys/{c}/responses.csv").data.decode("utf-8-sig"))))
    assert "'" + evil in rows[0] and evil not in rows[0]

    # The template's header is text too, and a filled-in template still imports into that column.
    wb = load_workbook(io.BytesIO(client.get(f"/satisfaction/surveys/{c}/import-template.xlsx").data))
    ws = wb.worksheets[0]
    assert [(cell.value, cell.data_type) for cell in ws[1]][2] == ("'" + evil, "s")
    assert wb["填写说明"]["A1"].data_type == "s" and wb["填写说明"]["A1"].value.startswith("'=SUM(1,2)")
    ws.append(["5-1-101", 5, 2, 5, ""])
    buf = io.BytesIO()
    wb.save(buf)
    assert upload(client, c, buf.getvalue()).status_code == 302
    with app.app_context():
        evil_id = get_category("evil").id
        ratings = db.session.execute(select(SurveyAnswer.rating).join(SurveyResponse).where(
            SurveyResponse.campaign_id == c, SurveyAnswer.category_id == evil_id)).scalars()
        assert sorted(ratings) == [2, 4]


# ---------------------------------------------------------------- API

def test_api_campaigns_and_responses(app, world, client):
    login(client, "clerk1")
    r = client.api("POST", "/api/v1/survey-campaigns", json={
        "project_id": world.p1, "year": world.year, "distributed": 4,
        "distributed_on": (world.today - timedelta(days=2)).isoformat(), "categories": ["security", "maintenance"]})
    assert r.status_code == 201, r.json
    cid = r.json["id"]
    assert r.json["households"] == 100 and [c["code"] for c in r.json["categories"]] == ["security", "maintenance"]
    r = client.api("POST", f"/api/v1/survey-campaigns/{cid}/responses",
                   json={"overall": 5, "ratings": {"security": 4, "maintenance": None}, "room": "8-1-101"})
    assert r.status_code == 201
    assert r.json["response"]["ratings"] == {"security": 4, "maintenance": None}
    assert r.json["campaign"]["rates"]["returned"] == 1 and r.json["campaign"]["rates"]["satisfaction_rate"] == 1.0
    r = client.api("POST", f"/api/v1/survey-campaigns/{cid}/responses", json={"overall": "一般", "source": "paper"})
    assert r.status_code == 201 and r.json["response"]["source"] == "paper"
    body = client.api("GET", f"/api/v1/survey-campaigns/{cid}").json
    assert body["rates"]["returned"] == 2 and body["rates"]["satisfaction_rate"] == 0.5
    assert body["rates"]["return_rate"] == 0.5 and body["rates"]["flags"]["return_low"] is True
    assert "5 非常满意 / 4 满意" in body["satisfied_definition"]
    assert [(x["value"], x["name"], x["satisfied"]) for x in body["rating_scale"]] == [
        (5, "非常满意", True), (4, "满意", True), (3, "一般", False), (2, "不满意", False), (1, "非常不满意", False)]
    items = client.api("GET", f"/api/v1/survey-campaigns/{cid}/responses").json["items"]
    assert [i["overall"] for i in items] == [3, 5]
    doc = client.api("GET", "/api/v1/openapi.json").json
    assert {"/survey-campaigns", "/survey-campaigns/{campaign_id}", "/survey-campaigns/{campaign_id}/responses"} <= set(
        doc["paths"])
    assert "SurveyCampaign" in doc["components"]["schemas"]


def test_api_campaign_list_queries_do_not_grow_with_the_campaigns(app, world, client):
    """The rated categories of every listed campaign come from one query, not one per campaign."""
    from tests.sql_count import counting_statements

    def add(start, n):
        for i in range(start, start + n):
            categories = ("security", "maintenance") if i % 2 else ("environment", "other", "security")
            respond(app, make_campaign(app, world.p1, distributed=5, period=f"第{i}轮", categories=categories), [5, 3])

    def listed():
        client.api("GET", "/api/v1/survey-campaigns")  # warms the per-process copies of account data
        with counting_statements(app) as statements:
            r = client.api("GET", "/api/v1/survey-campaigns")
        assert r.status_code == 200
        return r.json["items"], len(statements)

    login(client, "clerk1")
    add(0, 3)
    few, few_statements = listed()
    add(3, 17)
    many, many_statements = listed()
    assert (len(few), len(many)) == (3, 20)
    assert many_statements == few_statements
    by_period = {c["period"]: c for c in many}
    assert [c["code"] for c in by_period["第1轮"]["categories"]] == ["security", "maintenance"]
    assert [c["code"] for c in by_period["第2轮"]["categories"]] == ["environment", "other", "security"]
    assert by_period["第2轮"]["rates"]["returned"] == 2


def test_api_response_validation(app, world, client):
    c = make_campaign(app, world.p1, distributed=5)
    sec = str(world.cats["security"])
    cases = [
        ({"overall": 7}, "overall"),
        ({"ratings": {"security": 5}}, "overall"),
        ({"overall": 5, "ratings": {"security": 0}}, f"rating_{sec}"),
        ({"overall": 5, "ratings": {"parking": 5}}, "ratings"),
        ({"overall": 5, "ratings": ["security"]}, "ratings"),
        ({"overall": 5, "comments": "x" * 2001}, "comments"),
        ({"overall": 5, "source": "xlsx"}, "source"),
        ({"overall": True}, "overall"),
    ]
    login(client, "clerk1")
    for body, field in cases:
        r = client.api("POST", f"/api/v1/survey-campaigns/{c}/responses", json=body)
        assert r.status_code == 400, body
        assert field in r.json["errors"], (body, r.json)
    r = client.api("POST", f"/api/v1/survey-campaigns/{c}/responses", data="not json",
                   headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json["error"] == "bad_request"
    assert count(app, SurveyResponse) == 0


def test_api_campaign_validation(app, world, client):
    cases = [
        ({"distributed": 10}, "project_id", 400),
        ({"project_id": 987654}, None, 404),
        ({"project_id": "P2"}, None, 404),  # like an unknown project (issue 8 item 12: was 403)
        ({"project_id": "P1", "distributed": 500}, "distributed", 400),
        ({"project_id": "P1", "households": 0}, "households", 400),
        ({"project_id": "P1", "category_ids": ["nope"]}, "category_ids", 400),
        ({"project_id": "P1", "distributed": 5, "distributed_on": "2999-12-31"}, "distributed_on", 400),
        ({"project_id": "P1", "year": "twenty"}, "year", 400),
    ]
    login(client, "clerk1")
    for body, field, status in cases:
        body = {"year": world.year, "distributed_on": (world.today - timedelta(days=1)).isoformat(), **body}
        if body.get("project_id") in ("P1", "P2"):
            body["project_id"] = {"P1": world.p1, "P2": world.p2}[body["project_id"]]
        r = client.api("POST", "/api/v1/survey-campaigns", json=body)
        assert r.status_code == status, (body, r.json)
        if field:
            assert field in r.json["errors"], (body, r.json)
    assert count(app, SurveyCampaign) == 0


def test_api_token_and_reader_permissions(app, world, client, make_user):
    make_user("reader1", roles=("reader",))
    login(client, "reader1")
    assert client.api("GET", "/api/v1/survey-campaigns").status_code == 403
    assert client.get("/satisfaction/surveys/").status_code == 403
    client.logout()
    login(client, "mgr")  # reads all projects, may not enter forms
    c = make_campaign(app, world.p1)
    assert client.api("GET", f"/api/v1/survey-campaigns/{c}").status_code == 200
    assert client.api("POST", f"/api/v1/survey-campaigns/{c}/responses", json={"overall": 5}).status_code == 403


# ---------------------------------------------------------------- pages and demo

def test_pages_render_for_clerk_and_manager(app, world, client):
    c = make_campaign(app, world.p1, distributed=10)
    respond(app, c, [5, 4, 1])
    for who in ("clerk1", "mgr"):
        login(client, who)
        for url in ("/satisfaction/surveys/", f"/satisfaction/surveys/summary?year={world.year}",
                    f"/satisfaction/surveys/{c}", f"/satisfaction/surveys/{c}/responses"):
            r = client.get(url)
            assert r.status_code == 200, (who, url)
            assert "<script>" not in r.get_data(as_text=True) and "style=" not in r.get_data(as_text=True)
        client.logout()
    login(client, "clerk1")
    summary = client.get(f"/satisfaction/surveys/summary?year={world.year}").get_data(as_text=True)
    assert "66.7%" in summary and "翠湖" in summary
    assert "业主调查" in client.get("/satisfaction/").get_data(as_text=True)


def test_demo_surveys(app):
    from actions.models import Action

    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    assert runner.invoke(args=["demo", "load"]).exit_code == 0  # idempotent
    with app.app_context():
        from satisfaction.surveys.rates import rates_for

        campaigns = {c.project.code: c for c in db.session.execute(select(SurveyCampaign)).scalars()}
        assert sorted(campaigns) == ["P-JHC", "P-LJY", "P-YSW"]
        rates = rates_for(campaigns.values())
        ljy, ysw = rates[campaigns["P-LJY"].id], rates[campaigns["P-YSW"].id]
        assert ljy.satisfaction_rate == pytest.approx(0.92) and not ljy.flagged
        assert ysw.return_low and ysw.satisfaction_low and campaigns["P-YSW"].status == "closed"
        action = db.session.execute(select(Action).where(Action.source_type == "survey_campaign")).scalar_one()
        assert action.source_id == campaigns["P-YSW"].id
