"""The satisfaction dashboard: known answers (rates, Wilson intervals, readings), households once per
project and year, "my projects", chart data == tables == CSV == XLSX, drill-down, the month cache."""
from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from openpyxl import load_workbook

from satisfaction.categories import ensure_default_categories, get_category
from tests.factories_complaints import (
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

SATISFIED, DISSATISFIED = 4, 1  # satisfied and not on the legacy 1–5 scale and on the company's four levels


def _survey(code, year, households, distributed, satisfied, returned, *, period="", maintenance=False):
    """A campaign with ``returned`` forms, ``satisfied`` of them satisfied; security rated like the overall
    rating on every form, maintenance too when asked."""
    from satisfaction.surveys.importing import bulk_insert
    from satisfaction.surveys.service import create_campaign

    boss = user("boss")
    campaign = create_campaign({"project_id": project(code).id, "year": year, "period": period,
                                "households": households, "distributed": distributed,
                                "distributed_on": date(year, 6, 1), "category_ids": ["security", "maintenance"]},
                               actor=boss)
    cats = [get_category("security").id] + ([get_category("maintenance").id] if maintenance else [])
    rows = []
    for i in range(returned):
        rating = SATISFIED if i < satisfied else DISSATISFIED
        rows.append({"overall": rating, "ratings": {c: rating for c in cats}, "room": "", "comments": ""})
    bulk_insert(campaign.id, rows, source="paper", batch=None, actor=boss)
    db.session.commit()
    return campaign.id


@pytest.fixture
def known(app, make_project):
    """Last year: P1 173/200, P2 168/200, P3 150/200, P4 26/28 (the README's four examples); P1 also the
    year before (90/100). Complaints of last year in P1 and P3 (worked out in the comments)."""
    with app.app_context():
        from webapp.dates import local_today

        year = local_today().year - 1
    for code, households in (("P1", 250), ("P2", 250), ("P3", 250), ("P4", 40)):
        make_project(code, households=households, name=f"项目{code}")
    with app.app_context():
        ensure_default_categories()
        db.session.commit()
        fast_user("boss", "manager")
        fast_user("clerk", "clerk", ("P1", "P2"))
        campaigns = {
            "P1": _survey("P1", year, 250, 220, 173, 200), "P2": _survey("P2", year, 250, 210, 168, 200),
            "P3": _survey("P3", year, 250, 230, 150, 200), "P4": _survey("P4", year, 40, 30, 26, 28, maintenance=True),
        }
        _survey("P1", year - 1, 250, 100, 90, 100)
        # January, P1: one maintenance complaint on time throughout and satisfied; one late on both
        # deadlines (50 h > 48 h, 200 h > 168 h), neutral at the follow-up.
        c1 = make_entry("P1", "boss", local(year, 1, 10, 9), category="maintenance")
        walk(c1, "boss", [("acknowledge", 1, {}), ("start", 1, {}), ("resolve", 20, RESOLVE),
                          ("follow_up", 24, FOLLOW_SATISFIED)], c1.received_at)
        c2 = make_entry("P1", "boss", local(year, 1, 20, 9), category="maintenance")
        walk(c2, "boss", [("acknowledge", 50, {}), ("start", 1, {}), ("resolve", 149, RESOLVE),
                          ("follow_up", 24, FOLLOW_NEUTRAL)], c2.received_at)
        # February, P1: security, on time, satisfied.
        c3 = make_entry("P1", "boss", local(year, 2, 3, 9), category="security")
        walk(c3, "boss", [("acknowledge", 1, {}), ("start", 1, {}), ("resolve", 10, RESOLVE),
                          ("follow_up", 5, FOLLOW_SATISFIED)], c3.received_at)
        # March, P3 (not the clerk's): environment, nothing done, both deadlines long past.
        make_entry("P3", "boss", local(year, 3, 5, 9), category="environment")
        # Praise is no complaint.
        make_entry("P1", "boss", local(year, 2, 5, 9), kind="praise", category="security")
        db.session.commit()
    return SimpleNamespace(app=app, year=year, campaigns=campaigns)


def _login(client, who):
    assert client.login(who).status_code == 302
    client.get("/")
    return client


def _json(client, **args):
    r = client.api("GET", "/api/v1/satisfaction/dashboard", query_string=args)
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.json


def _csv(client, key, **args):
    r = client.get(f"/satisfaction/dashboard/{key}.csv", query_string=args)
    assert r.status_code == 200 and r.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))


def pct(value) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


def _rows(j, title):
    return {row["title"]: row for row in j["surveys"]["rows"]}[title]


# ---------------------------------------------------------------- known answers


@pytest.mark.parametrize(("code", "value", "low", "high", "label", "small"), [
    ("P1", "86.5%", "81.1%", "90.6%", "met_uncertain", False),
    ("P2", "84.0%", "78.3%", "88.4%", "below_noise", False),
    ("P3", "75.0%", "68.6%", "80.5%", "below", False),
    ("P4", "92.9%", "77.4%", "98.0%", "met_uncertain", True),
])
def test_the_four_known_answers(known, client, code, value, low, high, label, small):
    _login(client, "boss")
    s = _rows(_json(client, year=known.year), f"{code} 项目{code}")["satisfaction"]
    assert (pct(s["value"]), pct(s["low"]), pct(s["high"]), s["label"], s["small_sample"]) == (
        value, low, high, label, small)
    assert s["below_target"] is (code in ("P2", "P3"))  # the procedure's rule: a corrective action
    # the project's own dashboard says the same, with the reading in words
    page = client.get("/satisfaction/dashboard", query_string={"year": known.year, "project": code})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and value in html and f"reading-{label}" in html
    assert ('data-testid="kpi-small"' in html) is small


def test_company_totals_categories_and_trend(known, client):
    _login(client, "boss")
    j = _json(client, year=known.year)
    t = j["surveys"]["totals"]
    assert (t["households"], t["distributed"], t["returned"], t["satisfied"]) == (790, 690, 628, 517)
    assert (pct(t["distribution_rate"]), pct(t["return_rate"])) == ("87.3%", "91.0%")
    assert t["distribution_below_target"] and not t["return_below_target"]
    assert (t["satisfaction"]["label"], pct(t["satisfaction"]["value"])) == ("below_noise", "82.3%")
    assert j["scope"]["kind"] == "company" and j["scope"]["label"] == "全公司合计"
    cats = {c["code"]: c["satisfaction"] for c in j["surveys"]["categories"]}
    assert (cats["security"]["successes"], cats["security"]["n"]) == (517, 628)
    assert (cats["maintenance"]["successes"], cats["maintenance"]["n"], cats["maintenance"]["small_sample"]) == (
        26, 28, True)
    trend = {y["year"]: y for y in j["surveys"]["trend"]}
    assert set(trend) == {known.year - 1, known.year}
    assert (trend[known.year - 1]["satisfaction"]["successes"], trend[known.year - 1]["households"]) == (90, 250)
    assert trend[known.year]["satisfaction"] == t["satisfaction"]


def test_complaints_by_month_pareto_and_handling_rates(known, client):
    _login(client, "boss")
    c = _json(client, year=known.year)["complaints"]
    months = {m["month"]: m for m in c["months"]}
    assert len(months) == 12
    jan, feb, mar = (months[f"{known.year}-{m:02d}"] for m in (1, 2, 3))
    assert (jan["complaints"], jan["by_category"]["maintenance"]) == (2, 2)
    assert jan["on_time_response"] == {"on_time": 1, "due": 2, "rate": 0.5}
    assert jan["on_time_resolution"] == {"on_time": 1, "due": 2, "rate": 0.5}
    assert jan["handling_satisfaction"] == {"satisfied": 1, "follow_ups": 2, "rate": 0.5}
    assert (feb["complaints"], feb["by_category"]["security"], feb["on_time_response"]["rate"]) == (1, 1, 1.0)
    assert mar["on_time_response"] == {"on_time": 0, "due": 1, "rate": 0.0}
    assert mar["handling_satisfaction"] == {"satisfied": 0, "follow_ups": 0, "rate": None}
    assert c["totals"]["complaints"] == 4
    assert [(p["code"], p["complaints"], p["vital"]) for p in c["pareto"]][:4] == [
        ("maintenance", 2, True), ("security", 1, True), ("environment", 1, True), ("customer_service", 0, False)]
    assert [pct(p["cumulative"]) for p in c["pareto"][:3]] == ["50.0%", "75.0%", "100.0%"]


def test_definitions_are_the_monthly_summarys(known, client):
    """The dashboard's month equals the Monthly Complaint Summary of that month (the same query)."""
    _login(client, "boss")
    months = {m["month"]: m for m in _json(client, year=known.year)["complaints"]["months"]}
    r = client.api("GET", "/api/v1/complaint-summary", query_string={"month": f"{known.year}-01"})
    assert r.status_code == 200
    totals = r.json["totals"]
    jan = months[f"{known.year}-01"]
    for key in ("on_time_response", "on_time_resolution", "handling_satisfaction"):
        assert jan[key]["rate"] == totals[key]["rate"]
    assert jan["complaints"] == totals["complaints"]


# ---------------------------------------------------------------- households once, my projects


def test_a_project_with_two_campaigns_in_a_year_counts_its_households_once(app, make_project, client):
    make_project("P-JHC", households=860, name="金禾城")
    with app.app_context():
        ensure_default_categories()
        db.session.commit()
        fast_user("boss", "manager")
        from webapp.dates import local_today

        year = local_today().year - 1
        _survey("P-JHC", year, 860, 400, 270, 300, period="上半年")
        _survey("P-JHC", year, 860, 420, 320, 350, period="下半年")
        from satisfaction.surveys.rates import year_summary

        summary = year_summary(year, None)
        assert (summary.projects[0].rates.households, summary.totals.households) == (860, 860)
        assert summary.totals.distributed == 820 and round(summary.totals.distribution_rate, 4) == 0.9535
    _login(client, "boss")
    j = _json(client, year=year)
    assert j["surveys"]["totals"]["households"] == 860
    assert [row["households"] for row in j["surveys"]["rows"]] == [860]
    assert j["surveys"]["trend"][0]["households"] == 860
    # the project's dashboard: one line per campaign (each its own households), the total once
    j = _json(client, year=year, project="P-JHC")
    assert [(r["title"], r["households"]) for r in j["surveys"]["rows"]] == [
        (f"{year} 上半年", 860), (f"{year} 下半年", 860)]
    assert j["surveys"]["totals"]["households"] == 860
    # the owner survey pages say so too
    summary_page = client.get("/satisfaction/surveys/summary", query_string={"year": year}).get_data(as_text=True)
    assert "1,720" not in summary_page and "860" in summary_page
    rows = list(csv.reader(io.StringIO(client.get("/satisfaction/surveys/export.csv", query_string={
        "year": year}).get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[-1][0] == "全公司合计" and rows[-1][4] == "860"


def test_a_clerk_sees_my_projects_not_the_company_total(known, client):
    _login(client, "clerk")
    j = _json(client, year=known.year)
    assert j["scope"]["kind"] == "mine" and j["scope"]["label"] != "全公司合计"
    assert sorted(r["project"]["code"] for r in j["surveys"]["rows"]) == ["P1", "P2"]
    t = j["surveys"]["totals"]
    assert (t["satisfied"], t["returned"], t["households"]) == (341, 400, 500)
    assert j["complaints"]["totals"]["complaints"] == 3  # P3's complaint is not theirs
    table = _csv(client, "projects", year=known.year)
    assert table[-1][0] == j["scope"]["label"] and "全公司合计" not in {row[0] for row in table}
    page = client.get("/satisfaction/dashboard", query_string={"year": known.year}).get_data(as_text=True)
    assert "全公司合计" not in page and j["scope"]["label"] in page
    summary = client.get("/satisfaction/surveys/summary", query_string={"year": known.year}).get_data(as_text=True)
    assert "全公司合计" not in summary and j["scope"]["label"] in summary
    survey_csv = client.get("/satisfaction/surveys/export.csv", query_string={"year": known.year})
    assert "全公司合计" not in survey_csv.get_data(as_text=True)
    # a project that is not theirs is unknown, on the page and in the API
    assert client.get("/satisfaction/dashboard", query_string={"project": "P3"}).status_code == 404
    assert client.api("GET", "/api/v1/satisfaction/dashboard", query_string={"project": "P3"}).status_code == 404


# ---------------------------------------------------------------- chart data == tables == downloads


def _survey_cells(f) -> list[str]:
    s = f["satisfaction"]
    return [str(f["households"]), str(f["distributed"]), pct(f["distribution_rate"]), str(f["returned"]),
            pct(f["return_rate"]), str(f["satisfied"]), pct(s["value"]), pct(s["low"]), pct(s["high"])]


@pytest.mark.parametrize("who", ["boss", "clerk"])
def test_chart_data_equals_the_tables(known, client, who):
    _login(client, who)
    args = {"year": known.year}
    j = _json(client, **args)
    projects = _csv(client, "projects", **args)
    assert [row[:10] for row in projects[1:]] == [[r["title"], *_survey_cells(r)] for r in j["surveys"]["rows"]] + [
        [j["scope"]["label"], *_survey_cells(j["surveys"]["totals"])]]
    labels = j["labels"]
    assert [row[10] for row in projects[1:-1]] == [labels[r["satisfaction"]["label"]] for r in j["surveys"]["rows"]]
    cats = _csv(client, "categories", **args)
    assert [row[:6] for row in cats[1:]] == [
        [c["name"], str(c["satisfaction"]["n"]), str(c["satisfaction"]["successes"]), pct(c["satisfaction"]["value"]),
         pct(c["satisfaction"]["low"]), pct(c["satisfaction"]["high"])] for c in j["surveys"]["categories"]]
    trend = _csv(client, "trend", **args)
    assert [row[:10] for row in trend[1:]] == [[str(y["year"]), *_survey_cells(y)] for y in j["surveys"]["trend"]]
    codes = [c["code"] for c in j["complaints"]["categories"]]
    monthly = _csv(client, "complaints", **args)
    assert monthly[0][1:-1] == [c["name"] for c in j["complaints"]["categories"]]
    assert monthly[1:-1] == [[m["month"], *[str(m["by_category"][c]) for c in codes], str(m["complaints"])]
                             for m in j["complaints"]["months"]]
    pareto = _csv(client, "pareto", **args)
    assert [row[:4] for row in pareto[1:]] == [[p["name"], str(p["complaints"]), pct(p["share"]), pct(p["cumulative"])]
                                               for p in j["complaints"]["pareto"]]
    handling = _csv(client, "handling", **args)

    def cells(m):
        return [str(m["on_time_response"]["on_time"]), str(m["on_time_response"]["due"]),
                pct(m["on_time_response"]["rate"]), str(m["on_time_resolution"]["on_time"]),
                str(m["on_time_resolution"]["due"]), pct(m["on_time_resolution"]["rate"]),
                str(m["handling_satisfaction"]["satisfied"]), str(m["handling_satisfaction"]["follow_ups"]),
                pct(m["handling_satisfaction"]["rate"])]

    assert handling[1:] == [[m["month"], *cells(m)] for m in j["complaints"]["months"]] + [
        [j["scope"]["label"], *cells(j["complaints"]["totals"])]]
    # the page shows the same table cells
    html = client.get("/satisfaction/dashboard", query_string=args).get_data(as_text=True)
    for r in j["surveys"]["rows"]:
        assert f"{r['title']}</a>" in html and pct(r["satisfaction"]["low"]) in html


def test_xlsx_downloads_read_back(known, client):
    _login(client, "boss")
    j = _json(client, year=known.year)
    r = client.get("/satisfaction/dashboard/projects.xlsx", query_string={"year": known.year})
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    ws = load_workbook(io.BytesIO(r.data)).active
    values = [row for row in ws.iter_rows(values_only=True) if str(row[0]).startswith("P")]
    assert [(row[0], row[4], row[6], row[7]) for row in values] == [
        (x["title"], x["returned"], x["satisfied"], pytest.approx(x["satisfaction"]["value"]))
        for x in j["surveys"]["rows"]]
    assert ws.cell(row=4, column=8).number_format == "0.0%"
    wb = load_workbook(io.BytesIO(client.get("/satisfaction/dashboard/workbook.xlsx",
                                             query_string={"year": known.year}).data))
    assert len(wb.sheetnames) == 6
    handling = wb.worksheets[5]
    rows = [row for row in handling.iter_rows(values_only=True) if row[0] == f"{known.year}-01"]
    assert rows[0][3] == pytest.approx(0.5) and rows[0][9] == pytest.approx(0.5)


# ---------------------------------------------------------------- page, drill-down, API rules


def test_page_drills_down_company_project_forms_and_complaints(known, client):
    _login(client, "boss")
    page = client.get("/satisfaction/dashboard", query_string={"year": known.year})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f"/satisfaction/dashboard?year={known.year}&amp;project=P1" in html
    assert "<script>" not in html and "<script src=" in html and "vendor/echarts/echarts.min.js" in html
    assert 'data-api="/api/v1/satisfaction/dashboard?year=' in html
    html = client.get("/satisfaction/dashboard", query_string={"year": known.year, "project": "P1"}).get_data(
        as_text=True)
    campaign = known.campaigns["P1"]
    assert f"/satisfaction/surveys/{campaign}/responses" in html
    p1 = None
    with known.app.app_context():
        p1 = project("P1").id
    links = {frozenset(m.split("&amp;")) for m in re.findall(r'href="/satisfaction/complaints/\?([^"]+)"', html)}
    assert frozenset({"kind=complaint", f"project={p1}", f"month={known.year}-01"}) in links, links
    assert "data-testid=\"drill-complaints\"" in html
    # the register link filters what the chart counted
    forms = client.get(f"/satisfaction/surveys/{campaign}/responses")
    assert forms.status_code == 200


def test_api_refuses_bad_arguments_and_needs_read_permission(known, client, make_user):
    _login(client, "boss")
    assert client.api("GET", "/api/v1/satisfaction/dashboard", query_string={"year": "abc"}).status_code == 400
    assert client.api("GET", "/api/v1/satisfaction/dashboard", query_string={"yaer": "2020"}).status_code == 400
    assert client.api("GET", "/api/v1/satisfaction/dashboard", query_string={"project": "NOPE"}).status_code == 404
    assert client.get("/satisfaction/dashboard/nonsense.csv").status_code == 404
    # a page with a bad year shows this year
    assert client.get("/satisfaction/dashboard", query_string={"year": "abc"}).status_code == 200
    client.logout()
    make_user("someone", roles=("reader",))
    _login(client, "someone")
    assert client.get("/satisfaction/dashboard").status_code == 403
    assert client.api("GET", "/api/v1/satisfaction/dashboard").status_code == 403


def test_an_empty_year_renders(app, client, make_user):
    make_user("boss2", roles=("manager",))
    _login(client, "boss2")
    assert client.get("/satisfaction/dashboard").status_code == 200
    j = _json(client)
    assert j["surveys"]["rows"] == [] and j["surveys"]["totals"]["satisfaction"]["value"] is None


# ---------------------------------------------------------------- the month cache


def test_cached_months_follow_every_change(known, client, monkeypatch):
    """Every project's month is kept per process while its fingerprint holds: a void, an edit that moves
    an entry to another month and a new entry each show at once."""
    from satisfaction.complaints import service

    _login(client, "boss")
    first = _json(client, year=known.year)["complaints"]["months"]
    assert first[0]["complaints"] == 2
    with known.app.app_context():
        from sqlalchemy import select

        from satisfaction.complaints.models import Complaint

        jan = db.session.execute(select(Complaint).where(Complaint.kind == "complaint").order_by(
            Complaint.received_at)).scalars().all()
        service.void_entry(jan[0], reason="重复", actor=user("boss"), now=jan[0].received_at + timedelta(days=400))
        moved = jan[1]
        data = {k: getattr(moved, k) for k in ("channel", "building", "room", "contact_name", "contact_phone",
                                               "description", "severity")}
        service.update_entry(moved, data | {"category": "maintenance", "received_at": local(known.year, 4, 2, 9)},
                             actor=user("boss"), expected_version=moved.version,
                             now=moved.received_at + timedelta(days=400))
        make_entry("P2", "boss", local(known.year, 5, 6, 9), category="other")
    months = _json(client, year=known.year)["complaints"]["months"]
    assert [m["complaints"] for m in months[:5]] == [0, 1, 1, 1, 1]
    # read directly (a few projects) or added up from every project's copy: the same figures
    monkeypatch.setattr("satisfaction.analysis.figures.DIRECT_PROJECTS", 0)
    client.logout()
    _login(client, "clerk")
    cached = _json(client, year=known.year)
    monkeypatch.setattr("satisfaction.analysis.figures.DIRECT_PROJECTS", 100)
    known.app.extensions.pop("satisfaction.analysis.snapshots")
    assert _json(client, year=known.year)["complaints"] == cached["complaints"]


def test_a_passing_deadline_changes_the_kept_figures(app, make_project, client, monkeypatch):
    """An open complaint becomes due when its response deadline passes, with no change to the data."""
    from webapp.db import utcnow

    make_project("P1")
    with app.app_context():
        ensure_default_categories()
        fast_user("boss", "manager")
        now = utcnow()
        make_entry("P1", "boss", now - timedelta(hours=1), now=now)  # normal: respond within 48 h
        from webapp.dates import local_today

        year = local_today().year
    _login(client, "boss")
    before = _json(client, year=year)["complaints"]["totals"]["on_time_response"]
    assert before == {"on_time": 0, "due": 0, "rate": None}
    monkeypatch.setattr("satisfaction.analysis.snapshot.utcnow", lambda: now + timedelta(hours=60))
    after = _json(client, year=year)["complaints"]["totals"]["on_time_response"]
    assert after == {"on_time": 0, "due": 1, "rate": 0.0}


def test_the_home_page_shows_the_key_figures_to_who_reads_records(app, logged_in):
    client = logged_in("clerk", projects=())
    html = client.get("/").get_data(as_text=True)
    assert 'data-testid="home-satisfaction"' in html and 'data-testid="kpi-satisfaction"' in html
    client.logout()
    reader = logged_in("reader", login="reader2")
    assert 'data-testid="home-satisfaction"' not in reader.get("/").get_data(as_text=True)
