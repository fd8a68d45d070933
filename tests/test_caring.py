"""Caring services: fast entry, validation (nothing saved on bad input), scope, monthly counts, exports, API."""
from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from satisfaction.caring.models import CaringService
from webapp.extensions import db


@pytest.fixture
def setup(app, make_project, make_user):
    ids = {"P1": make_project("P1", name="一号项目"), "P2": make_project("P2", name="二号项目")}
    ids["clerk"] = make_user("clerk", roles=("clerk",), projects=("P1",), display_name="刘芳")
    return ids


@pytest.fixture
def staff(setup, make_user):
    """Two more staff members: one on P1, one on P2 (password hashing is slow: only where needed)."""
    setup["helper"] = make_user("helper", roles=("clerk",), projects=("P1",), display_name="李强")
    setup["outsider"] = make_user("outsider", roles=("clerk",), projects=("P2",), display_name="王五")
    return setup


def _today(app) -> date:
    with app.app_context():
        from webapp.dates import local_today

        return local_today()


def _count(app) -> int:
    with app.app_context():
        return db.session.execute(select(func.count(CaringService.id))).scalar()


def _form(ids, **over):
    data = {"project_id": ids["P1"], "served_on": "2026-01-05", "staff_id": ids["clerk"], "household": "3栋2单元501",
            "service": "代收快递", "minutes": "15", "owner_comment": "谢谢"}
    data.update(over)
    return data


def test_clerk_records_a_service_and_the_next_form_keeps_project_date_and_staff(app, client, setup):
    client.login("clerk")
    page = client.get("/satisfaction/caring/new").get_data(as_text=True)
    assert 'list="caring-kinds"' in page and "代收快递" in page  # suggestions (zh)
    r = client.post("/satisfaction/caring/new", _form(setup, served_on=_today(app).isoformat()))
    assert r.status_code == 302
    follow = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "已保存" in follow or "3栋2单元501" in follow
    assert f'value="{_today(app).isoformat()}"' in follow
    with app.app_context():
        rec = db.session.execute(select(CaringService)).scalar_one()
        assert (rec.household, rec.service, rec.minutes, rec.staff_id) == ("3栋2单元501", "代收快递", 15, setup["clerk"])
        from audit.models import AuditEntry

        entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "caring.created")).scalar_one()
        assert entry.object_id == str(rec.id) and entry.after["minutes"] == 15


BAD_INPUT = [
    ({"served_on": "2999-01-01"}, "served_on"),
    ({"served_on": "not-a-date"}, "served_on"),
    ({"minutes": "0"}, "minutes"),
    ({"minutes": "1441"}, "minutes"),
    ({"minutes": "abc"}, "minutes"),
    ({"minutes": "2.5"}, "minutes"),
    ({"household": ""}, "household"),
    ({"service": "x" * 121}, "service"),
    ({"staff_id": "999999"}, "staff_id"),
]


def test_bad_input_is_a_400_at_the_field_and_nothing_is_saved(app, client, setup):
    client.login("clerk")
    client.get("/satisfaction/caring/new")
    for over, field in BAD_INPUT:
        r = client.post("/satisfaction/caring/new", _form(setup, **over))
        assert r.status_code == 400, over
        html = r.get_data(as_text=True)
        errors = html.split(f'id="{field}"')[1].split('<div class="field')[0]
        assert 'class="error"' in errors, over
    assert _count(app) == 0


def test_future_date_message_is_translated(app, client, setup):
    client.login("clerk")
    client.get("/satisfaction/caring/new")
    tomorrow = (_today(app) + timedelta(days=1)).isoformat()
    html = client.post("/satisfaction/caring/new", _form(setup, served_on=tomorrow)).get_data(as_text=True)
    assert "日期不能晚于今天" in html


def test_another_projects_record_is_404_and_not_saved(app, client, setup):
    client.login("clerk")
    client.get("/satisfaction/caring/new")
    r = client.post("/satisfaction/caring/new", _form(setup, project_id=setup["P2"]))
    # P2 is not among the clerk's choices: the form refuses it; the service would say 404 (was 403).
    assert r.status_code in (400, 404)
    r = client.api("POST", "/api/v1/caring-services", json={"project": "P2", "served_on": "2026-01-05",
                                                            "household": "1-1-101", "service": "代缴费用",
                                                            "minutes": 20})
    assert r.status_code == 404 and r.json["error"] == "not_found"
    assert _count(app) == 0


def _seed(app, ids):
    """Services in known months: P1 Jan ×3 (clerk 2, helper 1), P1 Feb ×1, P2 Jan ×2 (outsider), a voided one."""
    from accounts.models import User
    from satisfaction.caring import service as caring

    with app.app_context():
        manager_like = db.session.get(User, ids["clerk"])
        # scope checks use the actor: seed as a user who sees both projects
        from accounts.services import UserData, create_user

        boss = create_user(UserData(login="boss", display_name="Boss", password="correct-horse-9",
                                    role_codes=("manager", "clerk")))
        rows = [("P1", "2025-01-03", "clerk", 10), ("P1", "2025-01-20", "clerk", 30), ("P1", "2025-01-31", "helper", 45),
                ("P1", "2025-02-01", "clerk", 60), ("P2", "2025-01-15", "outsider", 20), ("P2", "2025-01-16", "outsider", 25),
                ("P1", "2024-12-31", "clerk", 99)]
        made = []
        for code, day, who, minutes in rows:
            made.append(caring.create_service({"project_id": ids[code], "served_on": day, "staff_id": ids[who],
                                               "household": "1-1-101", "service": "代收快递", "minutes": minutes},
                                              actor=boss))
        caring.create_service({"project_id": ids["P1"], "served_on": "2025-01-10", "staff_id": ids["clerk"],
                               "household": "9-9-909", "service": "作废的", "minutes": 500}, actor=boss)
        voided = db.session.execute(select(CaringService).where(CaringService.household == "9-9-909")).scalar_one()
        caring.void_service(voided, reason="录入错误", actor=boss)
        assert manager_like is not None
        return [m.id for m in made]


def test_monthly_counts_are_exact_and_exclude_voided_and_other_years(app, staff):
    from accounts.models import User
    from satisfaction.caring import service as caring

    _seed(app, staff)
    with app.test_request_context():
        boss = db.session.execute(select(User).where(User.login == "boss")).scalar_one()
        counts = caring.monthly_counts(2025, user=boss)
        by_project = {r["sort"]: r for r in counts["projects"]}
        assert by_project["P1"]["months"] == {1: (3, 85), 2: (1, 60)}
        assert (by_project["P1"]["count"], by_project["P1"]["minutes"]) == (4, 145)
        assert by_project["P2"]["months"] == {1: (2, 45)}
        by_staff = {r["label"]: r for r in counts["staff"]}
        assert by_staff["刘芳"]["months"] == {1: (2, 40), 2: (1, 60)}
        assert by_staff["李强"]["months"] == {1: (1, 45)}
        assert by_staff["王五"]["count"] == 2
        assert counts["totals"]["months"] == {1: (5, 130), 2: (1, 60)} and counts["totals"]["count"] == 6
        # a clerk sees only their project
        clerk = db.session.get(User, staff["clerk"])
        mine = caring.monthly_counts(2025, user=clerk)
        assert [r["sort"] for r in mine["projects"]] == ["P1"] and "王五" not in {r["label"] for r in mine["staff"]}
        assert caring.monthly_counts(2024, user=boss)["totals"]["count"] == 1


def test_monthly_page_and_xlsx_export(app, client, staff):
    _seed(app, staff)
    client.login("boss")
    html = client.get("/satisfaction/caring/monthly?year=2025").get_data(as_text=True)
    assert 'data-testid="caring-by-project"' in html and "刘芳" in html
    r = client.get("/satisfaction/caring/monthly.xlsx?year=2025")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    ws = load_workbook(io.BytesIO(r.data)).active
    values = [[c.value for c in row] for row in ws.iter_rows()]
    p1 = next(row for row in values if row[0] and "一号项目" in str(row[0]))
    assert p1[1:3] == [3, 1] and p1[13:15] == [4, 145]
    assert values[-1][13:15] == [6, 190]  # totals row: count, minutes


def test_list_filters_and_csv_xlsx_exports_read_back(app, client, staff):
    _seed(app, staff)
    client.login("clerk")
    html = client.get("/satisfaction/caring/?year=2025&month=1").get_data(as_text=True)
    assert html.count("代收快递") == 3 and "王五" not in html.split('data-testid="caring-list"')[1]
    voided = client.get("/satisfaction/caring/?voided=only").get_data(as_text=True)
    assert "9-9-909" in voided
    r = client.get("/satisfaction/caring/export.csv?year=2025")
    assert r.status_code == 200 and r.data.startswith("\ufeff".encode())
    lines = r.data.decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 1 + 4 and lines[0].startswith("日期")
    r = client.get("/satisfaction/caring/export.xlsx?year=2025&month=1")
    ws = load_workbook(io.BytesIO(r.data)).active
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=3)]
    data_rows = [row for row in rows if row[3] == "代收快递"]
    assert len(data_rows) == 3 and sorted(row[5] for row in data_rows) == [10, 30, 45]


def test_void_needs_permission_and_a_reason(app, client, staff, make_user):
    ids = _seed(app, staff)
    client.login("clerk")
    client.get(f"/satisfaction/caring/{ids[0]}")
    assert client.post(f"/satisfaction/caring/{ids[0]}/void", {"reason": "x"}).status_code == 403
    make_user("mgr", roles=("manager",))
    client.logout()
    client.login("mgr")
    client.get(f"/satisfaction/caring/{ids[0]}")
    assert client.post(f"/satisfaction/caring/{ids[0]}/void", {"reason": ""}).status_code == 400
    assert client.post(f"/satisfaction/caring/{ids[0]}/void", {"reason": "重复录入"}).status_code == 302
    with app.app_context():
        rec = db.session.get(CaringService, ids[0])
        assert rec.voided and rec.void_reason == "重复录入"
    assert client.post(f"/satisfaction/caring/{ids[0]}/void", {"reason": "again"}).status_code == 409
    # A bad reason on an already voided record: the state is the answer (its page has no void form).
    assert client.post(f"/satisfaction/caring/{ids[0]}/void", {"reason": "x" * 100_000}).status_code == 409


def test_other_projects_record_is_hidden(app, client, staff):
    ids = _seed(app, staff)
    client.login("clerk")
    assert client.get(f"/satisfaction/caring/{ids[4]}").status_code == 404  # P2's record (was 403)


def test_api_create_list_and_validation(app, client, staff):
    client.login("clerk")
    client.get("/")
    body = {"project": "P1", "served_on": "2025-03-02", "household": "5-1-302", "service": "陪同就医", "minutes": 90,
            "staff": "helper"}
    r = client.api("POST", "/api/v1/caring-services", json=body)
    assert r.status_code == 201, r.json
    assert r.json["staff"]["login"] == "helper" and r.json["minutes"] == 90
    for bad, field in (({"minutes": 0}, "minutes"), ({"minutes": True}, "minutes"), ({"served_on": "2999-01-01"}, "served_on"),
                       ({"staff": "nobody"}, "staff"), ({"staff": "outsider"}, "staff_id"),  # P2 staff: not the clerk's
                       ({"household": ""}, "household")):
        r = client.api("POST", "/api/v1/caring-services", json={**body, **bad})
        assert r.status_code == 400 and field in r.json["errors"], (bad, r.json)
    assert client.api("POST", "/api/v1/caring-services", json={**body, "project": "NOPE"}).status_code == 404
    r = client.api("GET", "/api/v1/caring-services?year=2025&month=3")
    assert [i["household"] for i in r.json["items"]] == ["5-1-302"]
    assert client.api("GET", "/api/v1/caring-services?month=3").status_code == 400
    r = client.api("GET", "/api/v1/caring-services/monthly?year=2025")
    assert r.json["totals"]["count"] == 1 and r.json["projects"][0]["months"]["3"] == {"count": 1, "minutes": 90}
    assert _count(app) == 1


def test_reader_cannot_enter(app, logged_in):
    client = logged_in("reader")
    assert client.get("/satisfaction/caring/").status_code == 403
    assert client.api("POST", "/api/v1/caring-services", json={}).status_code == 403
