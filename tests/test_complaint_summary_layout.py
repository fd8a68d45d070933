"""The monthly complaint summary's layout (rates first, counts below) and its follow-up lines (procedure
4.4.3): one line per complaint of the month on the page, the print view and the XLSX, reconciled with the
rates. The month is the hand-made March of tests/test_complaint_summary.py."""
from __future__ import annotations

import io
import re
from datetime import date

import pytest
from flask_babel import force_locale
from openpyxl import load_workbook

from satisfaction.complaints import service
from satisfaction.complaints.summary import follow_up_lines, monthly_summary
from tests.factories_complaints import FOLLOW_DISSATISFIED, RESOLVE, local, make_entry, project, walk
from tests.test_complaint_summary import MARCH, NOW, month  # noqa: F401  (the fixture: every test here uses it)

pytestmark = pytest.mark.usefixtures("month")

P1_LINES = [  # number, local received date, category, feedback, follow-up date, verdict, reopened
    ("TS-P1-2025-0001", date(2025, 3, 2), "maintenance", "电话告知处理结果", date(2025, 3, 4), "satisfied", 0),
    ("TS-P1-2025-0002", date(2025, 3, 5), "security", "电话告知处理结果", date(2025, 3, 7), "satisfied", 1),
    ("TS-P1-2025-0003", date(2025, 3, 10), "environment", "电话告知处理结果", date(2025, 3, 15), "neutral", 0),
    ("TS-P1-2025-0004", date(2025, 3, 20), "security", "", None, None, 0),
    ("TS-P1-2025-0005", date(2025, 3, 31), "maintenance", "", None, None, 0),
]
SUMMARY = "/satisfaction/complaints/summary"


def _local_date(value):
    from satisfaction.complaints.service import zone

    return value.astimezone(zone()).date() if value else None


def _rows(html: str, testid: str) -> list[str]:
    table = html.split(f'data-testid="{testid}"')[1].split("</table>")[0]
    return re.findall(r"<tr data-number=.*?</tr>", table, re.S)


def test_one_line_per_complaint_of_the_month_reconciles_with_the_rates(app):
    with app.app_context():
        projects = [project("P1"), project("P2")]
        lines, truncated = follow_up_lines(MARCH, projects)
        assert not truncated
        # Voided, praise, suggestions and April's complaint are not lines; P1 first, oldest first.
        got = [(x.number, _local_date(x.received_at), x.category.code, x.feedback_given, _local_date(x.followed_up_at),
                x.satisfaction if x.followed_up else None, x.reopened) for x in lines if x.project.code == "P1"]
        assert got == P1_LINES
        assert [x.project.code for x in lines] == ["P1"] * 5 + ["P2"]
        assert [x.awaiting_follow_up for x in lines] == [False] * 6
        totals = monthly_summary(MARCH, projects=projects, now=NOW).totals
        assert len(lines) == totals.complaints
        # Every follow-up the handling-satisfaction rate counts is on a line: the one that stands, plus
        # one per dissatisfied follow-up that reopened the complaint.
        assert sum(x.reopened + x.followed_up for x in lines) == totals.follow_ups == 5
        assert sum(x.followed_up and x.satisfaction == "satisfied" for x in lines) == totals.satisfied == 3
        assert sum(x.followed_up for x in lines) == totals.followed_up
        first, more = follow_up_lines(MARCH, projects, limit=2)
        assert [x.number for x in first] == ["TS-P1-2025-0001", "TS-P1-2025-0002"] and more


def test_a_reopened_complaint_shows_the_dissatisfied_follow_up_and_being_handled_again(app, client):
    with app.app_context():
        c = make_entry("P2", "writer", local(2025, 3, 20, 9), channel="phone", category="maintenance")
        walk(c, "writer", [("acknowledge", 1, {}), ("start", 1, {}), ("resolve", 5, RESOLVE),
                           ("follow_up", 5, FOLLOW_DISSATISFIED)], c.received_at)
        line = next(x for x in follow_up_lines(MARCH, [project("P2")])[0] if x.number == c.number)
        assert (line.status, line.followed_up, line.satisfaction, line.reopened) == (
            "in_progress", False, "dissatisfied", 1)
        pid = project("P2").id
    client.login("boss")
    html = client.get(f"{SUMMARY}?month=2025-03&project={pid}").get_data(as_text=True)
    row = next(r for r in _rows(html, "follow-up-lines") if c.number in r)
    assert "c-verdict-reopened" in row and 'data-satisfaction=""' in row and "电话告知处理结果" in row


def test_rates_come_first_then_counts_then_follow_up_lines(app, client):
    client.login("boss")
    html = client.get(f"{SUMMARY}?month=2025-03").get_data(as_text=True)
    order = [html.index(f'data-testid="{t}"') for t in ("summary-rates", "rates-table", "summary-table",
                                                         "follow-up-lines")]
    assert order == sorted(order)
    # The four rate cards: the totals of both projects.
    cards = dict(re.findall(r'data-testid="rate-card" data-rate="(\w+)">.*?c-kpi-value">([^<]+)<', html, re.S))
    assert cards == {"on_time_response_rate": "66.7%", "on_time_resolution_rate": "50.0%",
                     "follow_up_rate": "100.0%", "handling_satisfaction_rate": "60.0%"}
    # Per project: the rates with their fractions; the counts table no longer carries the rates.
    rates = html.split('data-testid="rates-table"')[1].split("</table>")[0]
    p1 = rates.split('data-project="P1"')[1].split("</tr>")[0]
    assert re.findall(r'data-rate="\w+" title="([\d /]+)">([^<]+)<', p1) == [
        ("3 / 5", "60.0%"), ("2 / 5", "40.0%"), ("3 / 3", "100.0%"), ("2 / 4", "50.0%")]
    counts = html.split('data-testid="summary-table"')[1].split("</table>")[0]
    assert "%" not in counts and 'data-label="' in counts
    # Follow-up lines of both projects, with a project column and links to the entries.
    rows = _rows(html, "follow-up-lines")
    assert [re.search(r'data-number="([^"]+)"', r)[1] for r in rows] == [x[0] for x in P1_LINES] + [
        "TS-P2-2025-0001"]
    assert "翠湖" in rows[0] and 'href="/satisfaction/complaints/' in rows[0] and 'data-satisfaction="satisfied"' in rows[0]
    assert 'data-satisfaction="neutral"' in rows[2] and "c-verdict-pending" in rows[3]
    assert 'data-definition="follow_up_lines"' in html


def test_one_project_has_rate_cards_but_no_per_project_rates_table(app, client):
    client.login("boss")
    with app.app_context():
        pid = project("P1").id
    html = client.get(f"{SUMMARY}?month=2025-03&project={pid}").get_data(as_text=True)
    assert html.count('data-testid="rate-card"') == 4 and 'data-testid="rates-table"' not in html
    rows = _rows(html, "follow-up-lines")
    assert len(rows) == 5 and "翠湖" not in rows[0]  # no project column for one project
    empty = client.get(f"{SUMMARY}?month=2025-01&project={pid}").get_data(as_text=True)
    assert _rows(empty, "follow-up-lines") == [] and html.count('c-kpi-value">—<') == 0
    assert empty.count('c-kpi-value">—<') == 4


def test_print_view_has_the_form_table_and_the_follow_up_lines(app, client):
    client.login("boss")
    with app.app_context():
        pid = project("P1").id
    html = client.get(f"{SUMMARY}/print?month=2025-03&project={pid}").get_data(as_text=True)
    form = html.split('data-testid="summary-table"')[1].split("</table>")[0]
    assert "响应及时率" in form and "60.0%" in form  # the company form keeps its one table with the rates
    assert "投诉回访情况" in html and "对处理结果的满意度" in html
    rows = _rows(html, "follow-up-lines")
    assert len(rows) == 5 and all("<a " not in r for r in rows) and "满意" in rows[0]
    assert html.index("投诉回访情况") < html.index("投诉表扬明细") < html.index("制表人")


def test_xlsx_has_the_follow_up_lines_sheet(app, client):
    client.login("boss")
    wb = load_workbook(io.BytesIO(client.get(f"{SUMMARY}.xlsx?month=2025-03").data))
    ws = wb["回访"]
    assert ws["A1"].value == "投诉回访情况（全部项目 2025年3月）"
    headers = [c.value for c in ws[2]]
    assert headers == ["编号", "受理时间", "项目", "服务类别", "向反映人反馈的处理结果", "回访时间", "对处理结果的满意度",
                       "重新处理次数"]
    rows = [r for r in ws.iter_rows(min_row=3, values_only=True) if r[0] and str(r[0]).startswith("TS-")]
    assert [r[0] for r in rows] == [x[0] for x in P1_LINES] + ["TS-P2-2025-0001"]
    first = dict(zip(headers, rows[0], strict=True))
    assert first["受理时间"].date() == date(2025, 3, 2) and first["回访时间"].date() == date(2025, 3, 4)
    assert (first["项目"], first["服务类别"], first["向反映人反馈的处理结果"], first["对处理结果的满意度"],
            first["重新处理次数"]) == ("翠湖", "维修", "电话告知处理结果", "满意", 0)
    assert ws.cell(row=3, column=2).number_format == "yyyy-mm-dd"
    with app.test_request_context(), force_locale("zh_Hans"):
        neutral = str(service.SATISFACTION_LABELS["neutral"])  # the follow-up's own word for it
    assert rows[1][6] == "满意" and rows[1][7] == 1 and rows[2][6] == neutral
    assert rows[3][4] in ("", None) and rows[3][5] is None and rows[3][6] != "满意"
    with app.app_context():
        pid = project("P2").id
    wb = load_workbook(io.BytesIO(client.get(f"{SUMMARY}.xlsx?month=2025-03&project={pid}").data))
    lines = wb["回访"]
    assert [c.value for c in lines[2]][:3] == ["编号", "受理时间", "服务类别"]  # one project: no project column
    assert lines["A3"].value == "TS-P2-2025-0001"


def test_a_clerk_sees_only_their_projects_lines(app, client):
    client.login("clerk")
    html = client.get(f"{SUMMARY}?month=2025-03").get_data(as_text=True)
    assert [re.search(r'data-number="([^"]+)"', r)[1] for r in _rows(html, "follow-up-lines")] == [
        x[0] for x in P1_LINES]
    wb = load_workbook(io.BytesIO(client.get(f"{SUMMARY}.xlsx?month=2025-03").data))
    assert "TS-P2-2025-0001" not in [r[0] for r in wb["回访"].iter_rows(min_row=3, values_only=True)]


def test_a_month_with_more_lines_than_the_limit_says_so(app, client, monkeypatch):
    from satisfaction.complaints import summary

    monkeypatch.setattr(summary, "LINES_LIMIT", 4)
    client.login("boss")
    html = client.get(f"{SUMMARY}?month=2025-03").get_data(as_text=True)
    assert len(_rows(html, "follow-up-lines")) == 4 and 'data-testid="lines-truncated"' in html
    assert re.search(r"4 of 6|6 件投诉，仅列出前 4 件", html)
    wb = load_workbook(io.BytesIO(client.get(f"{SUMMARY}.xlsx?month=2025-03").data))
    values = [r[0] for r in wb["回访"].iter_rows(min_row=3, values_only=True)]
    assert sum(str(v).startswith("TS-") for v in values) == 4 and any(re.search(r"4 of 6|6 件投诉，仅列出前 4 件", str(v)) for v in values)
    with app.app_context():
        pid = project("P1").id
    one = client.get(f"{SUMMARY}?month=2025-03&project={pid}").get_data(as_text=True)
    assert 'data-testid="lines-truncated"' in one  # 5 > 4 even for one project
