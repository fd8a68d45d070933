"""The monthly complaint summary: exact figures on a hand-made month, voids, scope, XLSX, print, JSON."""
from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from satisfaction.caring.models import CaringService
from satisfaction.categories import ensure_default_categories
from satisfaction.complaints import service
from satisfaction.complaints.models import Complaint
from satisfaction.complaints.summary import monthly_summary
from tests.factories_complaints import (
    FOLLOW_DISSATISFIED,
    FOLLOW_NEUTRAL,
    FOLLOW_SATISFIED,
    RESOLVE,
    fast_user,
    local,
    make_entry,
    project,
    user,
    walk,
)
from webapp.extensions import db

MARCH = date(2025, 3, 1)
NOW = local(2025, 4, 10)


@pytest.fixture
def month(app, make_project):
    """March 2025 (Shanghai time) in two projects; the expected figures are worked out in the comments."""
    make_project("P1", name="翠湖")
    make_project("P2", name="金禾")
    with app.app_context():
        ensure_default_categories()
        fast_user("writer", "clerk", ("P1", "P2"))
        fast_user("clerk", "clerk", ("P1",))
        fast_user("boss", "manager")
        # C1 normal, maintenance, phone: on time throughout, satisfied, closed.
        c1 = make_entry("P1", "writer", local(2025, 3, 2, 9), channel="phone", category="maintenance")
        walk(c1, "writer", [("acknowledge", 1, {}), ("start", 1, {}), ("resolve", 22, RESOLVE),
                            ("follow_up", 24, FOLLOW_SATISFIED), ("close", 1, {})], c1.received_at)
        # C2 urgent, security, visit: late response (3 h > 2 h), late resolution, a dissatisfied follow-up
        # reopened it, resolved again (late), then followed up satisfied.
        c2 = make_entry("P1", "writer", local(2025, 3, 5, 10), channel="visit", category="security",
                        severity="urgent")
        walk(c2, "writer", [("acknowledge", 3, {}), ("start", 1, {}), ("resolve", 26, RESOLVE),
                            ("follow_up", 10, FOLLOW_DISSATISFIED), ("resolve", 10, RESOLVE),
                            ("follow_up", 10, FOLLOW_SATISFIED)], c2.received_at)
        # C3 normal, environment, letter: on time, follow-up neutral.
        c3 = make_entry("P1", "writer", local(2025, 3, 10, 8), channel="letter", category="environment")
        walk(c3, "writer", [("acknowledge", 10, {}), ("start", 1, {}), ("resolve", 89, RESOLVE),
                            ("follow_up", 24, FOLLOW_NEUTRAL)], c3.received_at)
        # C4 major, security, online: nothing done, both deadlines passed by NOW.
        make_entry("P1", "writer", local(2025, 3, 20, 8), channel="online", category="security", severity="major")
        # C5 normal, maintenance, phone, the last half hour of March: acknowledged on time; its resolution
        # deadline (7 April 23:30) has passed by NOW.
        c5 = make_entry("P1", "writer", local(2025, 3, 31, 23, 30), channel="phone", category="maintenance")
        walk(c5, "writer", [("acknowledge", 1, {})], c5.received_at)
        # April (local) although still 31 March in UTC: not in March.
        make_entry("P1", "writer", local(2025, 4, 1, 0, 10), channel="phone", category="maintenance")
        # Praise (letter) closed; suggestion (committee) just received.
        praise = make_entry("P1", "writer", local(2025, 3, 15, 9), kind="praise", channel="letter",
                            category="security")
        walk(praise, "writer", [("acknowledge", 1, {}), ("close", 1, {})], praise.received_at)
        make_entry("P1", "writer", local(2025, 3, 16, 9), kind="suggestion", channel="committee",
                   category="environment")
        # Voided: in no figure.
        c7 = make_entry("P1", "writer", local(2025, 3, 12, 9), channel="phone", category="other")
        service.void_entry(c7, reason="重复登记", actor=user("writer"), now=local(2025, 3, 12, 10))
        # P2: one complaint, all on time, satisfied, closed.
        p2 = make_entry("P2", "writer", local(2025, 3, 8, 10), channel="visit", category="customer_service")
        walk(p2, "writer", [("acknowledge", 1, {}), ("start", 1, {}), ("resolve", 10, RESOLVE),
                            ("follow_up", 5, FOLLOW_SATISFIED), ("close", 1, {})], p2.received_at)
        # Caring services: two in P1 in March, one in P2; April and voided ones do not count.
        staff = user("writer").id
        for code, day, voided in (("P1", date(2025, 3, 3), False), ("P1", date(2025, 3, 31), False),
                                  ("P1", date(2025, 4, 1), False), ("P1", date(2025, 3, 10), True),
                                  ("P2", date(2025, 3, 15), False)):
            db.session.add(CaringService(project_id=project(code).id, served_on=day, staff_id=staff,
                                         household="1栋101", service="代收快递", minutes=10,
                                         voided_at=NOW if voided else None, void_reason="录错" if voided else ""))
        db.session.commit()
    return app


def _cats(summary, figures):
    return {c.code: figures.by_category.get(c.id, 0) for c in summary.categories}


def test_figures_are_exact(month):
    with month.app_context():
        s = monthly_summary(MARCH, projects=[project("P1"), project("P2")], now=NOW)
        (p1, f1), (p2, f2) = s.rows
        assert (p1.code, p2.code) == ("P1", "P2")
        assert (f1.total, f1.complaints, f1.praise, f1.suggestions, f1.closed) == (7, 5, 1, 1, 1)
        assert _cats(s, f1) == {"security": 2, "environment": 1, "maintenance": 2, "customer_service": 0,
                                "other": 0}
        assert f1.by_channel == {"letter": 2, "visit": 1, "phone": 2, "online": 1, "committee": 1}
        assert (f1.respond_on_time, f1.respond_due) == (3, 5) and f1.on_time_response_rate == pytest.approx(0.6)
        assert (f1.resolve_on_time, f1.resolve_due) == (2, 5) and f1.on_time_resolution_rate == pytest.approx(0.4)
        assert (f1.followed_up, f1.resolved) == (3, 3) and f1.follow_up_rate == 1.0
        assert (f1.satisfied, f1.follow_ups) == (2, 4) and f1.handling_satisfaction_rate == 0.5
        assert f1.caring == 2
        assert (f2.total, f2.complaints, f2.closed, f2.caring) == (1, 1, 1, 1)
        assert (f2.on_time_response_rate, f2.on_time_resolution_rate, f2.follow_up_rate,
                f2.handling_satisfaction_rate) == (1.0, 1.0, 1.0, 1.0)
        t = s.totals
        assert (t.total, t.complaints, t.praise, t.suggestions, t.closed, t.caring) == (8, 6, 1, 1, 2, 3)
        assert (t.respond_on_time, t.respond_due, t.resolve_on_time, t.resolve_due) == (4, 6, 3, 6)
        assert (t.followed_up, t.resolved, t.satisfied, t.follow_ups) == (4, 4, 3, 5)
        assert _cats(s, t)["customer_service"] == 1
        # A project with nothing in the month still gets its row, with "—" rates (None).
        empty = monthly_summary(date(2025, 1, 1), projects=[project("P1")], now=NOW).rows[0][1]
        assert empty.total == 0 and empty.on_time_response_rate is None and empty.handling_satisfaction_rate is None


def test_voiding_an_entry_takes_it_out_of_the_figures(month):
    with month.app_context():
        c1 = db.session.execute(select(Complaint).where(Complaint.received_at == local(2025, 3, 2, 9))).scalar_one()
        service.void_entry(c1, reason="录入错误", actor=user("boss"), now=NOW)
        f1 = monthly_summary(MARCH, projects=[project("P1")], now=NOW).rows[0][1]
        assert (f1.total, f1.complaints, f1.closed, f1.respond_due, f1.follow_ups, f1.satisfied) == (6, 4, 0, 4, 3, 1)


def test_screen_view_with_footnotes_and_month_entries(month, client):
    client.login("boss")
    html = client.get("/satisfaction/complaints/summary?month=2025-03").get_data(as_text=True)
    assert 'data-project="P1"' in html and 'data-project="total"' in html
    assert "60.0%" in html and "40.0%" in html and "50.0%" in html
    for key in ("on_time_response_rate", "on_time_resolution_rate", "follow_up_rate", "handling_satisfaction_rate"):
        assert f'data-definition="{key}"' in html
    assert 'data-testid="month-entries"' not in html
    with month.app_context():
        pid = project("P1").id
    html = client.get(f"/satisfaction/complaints/summary?month=2025-03&project={pid}").get_data(as_text=True)
    # The month's entries come last (after the follow-up lines, which list the five complaints again).
    entries = html.split('data-testid="month-entries"')[1]
    assert entries.count("TS-P1-2025-") == 5 and "BY-P1-2025-0001" in entries
    assert 'data-project="total"' not in html  # one project: no totals row needed
    assert client.get("/satisfaction/complaints/summary?month=March").status_code == 400


def test_print_view_is_the_chinese_form(month, client):
    client.login("boss")
    client.post("/language", {"lang": "en", "next": "/"})
    with month.app_context():
        pid = project("P1").id
    html = client.get(f"/satisfaction/complaints/summary/print?month=2025-03&project={pid}").get_data(as_text=True)
    assert "<title>投诉情况月汇总表（翠湖 2025年3月）</title>" in html
    assert "响应及时率" in html and "制表人" in html and "<script src=" in html and "onclick" not in html
    assert "60.0%" in html


def test_xlsx_export_reads_back_with_titles_headers_figures_and_totals(month, client):
    client.login("boss")
    r = client.get("/satisfaction/complaints/summary.xlsx?month=2025-03")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    assert "filename*=UTF-8''" in r.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(r.data))
    assert wb.sheetnames == ["汇总", "回访"]  # the follow-up lines: tests/test_complaint_summary_layout.py
    ws = wb["汇总"]
    assert ws["A1"].value == "投诉情况月汇总表（全部项目 2025年3月）"
    assert "月份：2025年3月" in ws["A2"].value
    headers = [c.value for c in ws[3]]
    assert headers[:3] == ["项目", "登记总数", "投诉"]
    assert {"维修", "安全", "来信", "来访", "电话", "网上", "业委会", "表扬", "建议", "投诉结案数", "响应及时率",
            "处理及时率", "回访率", "处理满意率", "亲情服务"} <= set(headers)
    assert ws.freeze_panes == "A4" and ws.column_dimensions["A"].width >= 8
    rows = {r[0]: dict(zip(headers, r, strict=False)) for r in ws.iter_rows(min_row=4, max_row=6, values_only=True)}
    p1, total = rows["P1 翠湖"], rows["合计"]
    assert (p1["登记总数"], p1["投诉"], p1["维修"], p1["安全"], p1["表扬"], p1["建议"], p1["投诉结案数"]) == (
        7, 5, 2, 2, 1, 1, 1)
    assert (p1["响应及时率"], p1["处理及时率"], p1["回访率"], p1["处理满意率"], p1["亲情服务"]) == (
        0.6, 0.4, 1.0, 0.5, 2)
    assert (total["登记总数"], total["投诉"], total["投诉结案数"], total["亲情服务"]) == (8, 6, 2, 3)
    assert total["响应及时率"] == pytest.approx(4 / 6) and total["处理满意率"] == pytest.approx(3 / 5)
    assert ws.cell(row=6, column=headers.index("响应及时率") + 1).number_format == "0.0%"
    assert ws.cell(row=6, column=1).font.bold
    # One project: the entries sheet comes with it.
    with month.app_context():
        pid = project("P1").id
    wb = load_workbook(io.BytesIO(client.get(f"/satisfaction/complaints/summary.xlsx?month=2025-03&project={pid}")
                                  .data))
    assert wb.sheetnames == ["汇总", "明细", "回访"] and wb["汇总"]["A1"].value == "投诉情况月汇总表（翠湖 2025年3月）"
    detail = list(wb["明细"].iter_rows(min_row=2, values_only=True))
    assert detail[0][:3] == ("编号", "受理时间", "类型") and len(detail) == 1 + 7
    assert detail[1][0] == "TS-P1-2025-0001" and detail[1][1].strftime("%Y-%m-%d %H:%M") == "2025-03-02 09:00"


def test_json_api(month, client):
    client.login("boss")
    r = client.api("GET", "/api/v1/complaint-summary?project=P1&month=2025-03")
    assert r.status_code == 200
    row = r.json["rows"][0]
    assert row["project"]["code"] == "P1" and row["complaints"] == 5 and row["by_channel"]["committee"] == 1
    assert row["on_time_response"] == {"on_time": 3, "due": 5, "rate": 0.6}
    assert row["handling_satisfaction"] == {"satisfied": 2, "follow_ups": 4, "rate": 0.5}
    assert row["caring_services"] == 2 and set(r.json["definitions"]) >= {"follow_up_rate", "caring"}
    assert client.api("GET", "/api/v1/complaint-summary?month=2025-3x").status_code == 400
    # An unknown project is a 404, like another project's (issue 8 item 12: was 400, which told them apart).
    assert client.api("GET", "/api/v1/complaint-summary?project=NOPE").status_code == 404
    everything = client.api("GET", "/api/v1/complaint-summary?month=2025-03").json
    assert [r["project"]["code"] for r in everything["rows"]] == ["P1", "P2"] and everything["totals"]["entries"] == 8


def test_a_clerk_sees_only_their_projects(month, client):
    client.login("clerk")
    r = client.api("GET", "/api/v1/complaint-summary?month=2025-03")
    assert [row["project"]["code"] for row in r.json["rows"]] == ["P1"] and r.json["totals"]["entries"] == 7
    html = client.get("/satisfaction/complaints/summary?month=2025-03").get_data(as_text=True)
    assert 'data-project="P2"' not in html


def test_demo_register_has_every_case_and_loads_once(app):
    r = app.test_cli_runner().invoke(args=["demo", "load"])
    assert r.exit_code == 0, r.output
    with app.app_context():
        from webapp.db import utcnow

        entries = list(db.session.execute(select(Complaint)).scalars())
        assert 35 <= len(entries) <= 45
        now = utcnow()
        assert {e.status for e in entries if e.kind == "complaint"} >= {
            "received", "acknowledged", "in_progress", "resolved", "followed_up", "closed"}
        assert any(e.severity == "urgent" and e.overdue(now) for e in entries)
        assert {"praise", "suggestion"} <= {e.kind for e in entries}
        assert any(e.reopen_count and e.status == "in_progress" for e in entries)
        major = [e for e in entries if e.review_procedure_code]
        assert len(major) == 1 and major[0].severity == "major"
        months = {e.received_at.astimezone(service.zone()).strftime("%Y-%m") for e in entries}
        assert 3 <= len(months) <= 4
        count = len(entries)
    r = app.test_cli_runner().invoke(args=["demo", "load"])
    assert r.exit_code == 0
    with app.app_context():
        assert len(list(db.session.execute(select(Complaint.id)).scalars())) == count
