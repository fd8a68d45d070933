"""The owner survey's rating scale is the company's: a checked setting, copied onto each campaign.

The default is QP-CS-001's own four levels; a change of the setting applies to campaigns created
afterwards and never rewrites the forms (or rates) of earlier ones; entry, import, the template,
exports and the API use the campaign's scale; migration 0015 gives existing campaigns the 1–5 scale
they were run with, so their figures stay exactly the same.
"""
from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from sqlalchemy import select

from audit.models import AuditEntry
from satisfaction.categories import ensure_default_categories, get_category
from satisfaction.surveys.models import SurveyCampaign, SurveyResponse
from tests.conftest import close_app, make_app
from tests.test_surveys import count, login, make_campaign, rates_of, respond, upload, xlsx
from webapp.exceptions import ValidationError
from webapp.extensions import db
from webapp.i18n import _  # noqa: E402

DEMO_PROCEDURE = Path(__file__).resolve().parents[1] / "procedures" / "demo_content" / "QP-CS-001.A2.md"
DEFAULT = [(4, "非常满意", True), (3, "满意", True), (2, "基本满意", False), (1, "不满意", False)]


def three_levels(satisfied_middle=True):
    return [{"value": 3, "name": "满意", "name_en": "Satisfied", "satisfied": True},
            {"value": 2, "name": "基本满意", "name_en": "Fairly satisfied", "satisfied": satisfied_middle},
            {"value": 1, "name": "不满意", "name_en": "Dissatisfied", "satisfied": False}]


@pytest.fixture
def company(app, make_project, make_user):
    """P1 (100 households); clerk1 works on P1; boss is an administrator. The scale is the default."""
    p1 = make_project("P1", households=100, name="翠湖")
    make_user("clerk1", roles=("clerk",), projects=("P1",))
    make_user("boss", roles=("admin",))
    with app.app_context():
        ensure_default_categories()
        db.session.commit()
        cats = {c: get_category(c).id for c in ("security", "maintenance")}
    return SimpleNamespace(p1=p1, cats=cats)


def set_scale(app, levels, reason="new forms"):
    from accounts.models import User
    from satisfaction.settings import update_settings

    with app.app_context():
        boss = db.session.execute(select(User).where(User.login == "boss")).scalar_one()
        return update_settings({"rating_scale": levels}, actor=boss, reason=reason)


def scale_of(app, campaign_id):
    with app.app_context():
        return [(lv.value, lv.name, lv.satisfied) for lv in db.session.get(SurveyCampaign, campaign_id).scale.levels]


# ---------------------------------------------------------------- the default and the setting

def test_the_default_scale_is_the_one_the_procedure_describes(app):
    """QP-CS-001 4.1.2 names the four levels; 2.2.3 counts 非常满意 and 满意 as satisfied."""
    text = DEMO_PROCEDURE.read_text(encoding="utf-8")
    levels = re.search(r"评价分为(.+?)四级", text).group(1).split("、")
    satisfied = re.findall(r"“(.+?)”", re.search(r"满意问卷：.*?选择(.+?)的有效问卷", text).group(1))
    with app.app_context():
        from satisfaction.settings import rating_scale

        scale = rating_scale()
    assert [lv.name for lv in scale.levels] == levels == ["非常满意", "满意", "基本满意", "不满意"]
    assert [lv.name for lv in scale.levels if lv.satisfied] == satisfied == ["非常满意", "满意"]
    assert [(lv.value, lv.name, lv.satisfied) for lv in scale.levels] == DEFAULT


BAD_SCALES = [
    ([{"value": 1, "name": "满意", "satisfied": True}], "2 to 10 levels"),
    ([{"value": i, "name": f"档{chr(0x4e00 + i)}", "satisfied": i > 5} for i in range(11)], "2 to 10 levels"),
    ("4 非常满意", "2 to 10 levels"),
    ([{"value": 2, "name": "满意", "satisfied": True}, {"value": 2, "name": "不满意", "satisfied": False}],
     "its own value"),
    ([{"value": 2, "name": "满意", "satisfied": True}, {"value": 1, "name": " 满 意 ", "satisfied": False}],
     "same label"),
    ([{"value": 2, "name": "好", "name_en": "OK", "satisfied": True},
      {"value": 1, "name": "ok", "satisfied": False}], "same label"),
    ([{"value": 2, "name": "满意", "satisfied": True}, {"value": 1, "name": "尚可", "satisfied": True}],
     "at least one must not"),
    ([{"value": 2, "name": "满意", "satisfied": False}, {"value": 1, "name": "不满意", "satisfied": False}],
     "at least one must not"),
    ([{"value": 3, "name": "一般", "satisfied": False}, {"value": 2, "name": "满意", "satisfied": True},
      {"value": 1, "name": "不满意", "satisfied": False}], "top ones"),
    ([{"value": 100, "name": "满意", "satisfied": True}, {"value": 1, "name": "不满意", "satisfied": False}],
     "0 to 99"),
    ([{"value": True, "name": "满意", "satisfied": True}, {"value": 1, "name": "不满意", "satisfied": False}],
     "0 to 99"),
    ([{"value": 2, "name": "", "satisfied": True}, {"value": 1, "name": "不满意", "satisfied": False}],
     "Chinese label is required"),
    ([{"value": 2, "name": "5", "satisfied": True}, {"value": 1, "name": "不满意", "satisfied": False}],
     "bare number"),
    ([{"value": 2, "name": "满意,很好", "satisfied": True}, {"value": 1, "name": "不满意", "satisfied": False}],
     "commas"),
    ([{"value": 2, "name": "满意" * 7, "satisfied": True}, {"value": 1, "name": "不满意", "satisfied": False}],
     "at most 12"),
    ([{"value": 2, "name": "满意", "satisfied": "yes"}, {"value": 1, "name": "不满意", "satisfied": False}],
     "counts as satisfied"),
]


@pytest.mark.parametrize(("levels", "message"), BAD_SCALES)
def test_a_bad_scale_is_refused_whole(app, company, levels, message):
    with pytest.raises(ValidationError) as caught:
        set_scale(app, levels)
    assert any(message in str(m) for m in caught.value.errors["rating_scale"]), caught.value.errors
    with app.app_context():
        from satisfaction.settings import rating_scale

        assert [(lv.value, lv.name, lv.satisfied) for lv in rating_scale().levels] == DEFAULT


def test_a_good_scale_is_stored_clean_and_audited(app, company):
    levels = three_levels()
    levels[0]["value"] = " 3 "  # as typed on the settings page
    assert set_scale(app, levels, reason="三级回访表") == ["rating_scale"]
    with app.app_context():
        from satisfaction.settings import get_setting

        assert get_setting("rating_scale")[0] == {"value": 3, "name": "满意", "name_en": "Satisfied",
                                                  "satisfied": True}
        entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "setting.changed")).scalar_one()
        assert entry.object_id == "rating_scale" and entry.reason == "三级回访表"
        assert [x["name"] for x in entry.before["value"]] == ["非常满意", "满意", "基本满意", "不满意"]
    assert set_scale(app, three_levels()) == []  # the same again: nothing changes, nothing is logged


def test_the_settings_page_edits_the_scale(app, company, client):
    login(client, "clerk1")
    assert client.get("/satisfaction/settings").status_code == 403
    client.logout()
    login(client, "boss")
    page = client.get("/satisfaction/settings").get_data(as_text=True)
    assert 'name="levels-2-name"' in page and 'value="基本满意"' in page and 'name="levels-9-value"' in page
    form = {"distribution_target": "90", "return_target": "85", "satisfaction_target": "85",
            **{f"{s}_{k}": v for s in ("urgent", "major", "normal") for k, v in (("respond", "2"), ("resolve", "24"))},
            "reason": "五级表"}
    rows = [("5", "非常满意", "Very satisfied", True), ("4", "满意", "Satisfied", True), ("3", "一般", "", False),
            ("", "", "", False), ("2", "不满意", "", False), ("1", "非常不满意", "", False)]
    for i, (value, name, name_en, satisfied) in enumerate(rows):
        form.update({f"levels-{i}-value": value, f"levels-{i}-name": name, f"levels-{i}-name_en": name_en})
        if satisfied:
            form[f"levels-{i}-satisfied"] = "y"
    r = client.post("/satisfaction/settings", form)
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    with app.app_context():
        from satisfaction.settings import rating_scale

        assert [(lv.value, lv.name, lv.satisfied) for lv in rating_scale().levels] == [
            (5, "非常满意", True), (4, "满意", True), (3, "一般", False), (2, "不满意", False), (1, "非常不满意", False)]
    assert "5 非常满意 / 4 满意" in client.get("/satisfaction/").get_data(as_text=True)
    form["levels-0-satisfied"] = ""
    form["levels-2-satisfied"] = "y"  # 一般 satisfied, 满意 not: not the top ones
    r = client.post("/satisfaction/settings", form)
    assert r.status_code == 400 and 'data-testid="scale-errors"' in r.get_data(as_text=True)


# ---------------------------------------------------------------- each campaign keeps its scale

def test_changing_the_setting_never_rewrites_an_earlier_campaign(app, company, client):
    old = make_campaign(app, company.p1, distributed=10)
    respond(app, old, [4, 3, 2, 2], [{"security": 4}, {"security": "基本满意"}, {"security": 2}, {}])
    before = rates_of(app, old)
    assert (before.returned, before.satisfied) == (4, 2)
    set_scale(app, three_levels(satisfied_middle=True))  # 基本满意 now counts as satisfied, on a 3-level form
    after = rates_of(app, old)
    assert (after.returned, after.satisfied, after.satisfaction_rate) == (4, 2, before.satisfaction_rate)
    assert scale_of(app, old) == DEFAULT
    new = make_campaign(app, company.p1, distributed=10, period="复查")
    assert scale_of(app, new) == [(3, "满意", True), (2, "基本满意", True), (1, "不满意", False)]
    respond(app, new, [3, 2, 1, "基本满意"])
    assert (rates_of(app, new).returned, rates_of(app, new).satisfied) == (4, 3)
    login(client, "clerk1")
    # The old campaign's forms still take 4 (off the new scale) and its pages show its own labels.
    assert client.post(f"/satisfaction/surveys/{old}/entry", {"overall": "4"}).status_code == 302
    assert client.post(f"/satisfaction/surveys/{new}/entry", {"overall": "4"}).status_code == 400
    detail = client.get(f"/satisfaction/surveys/{old}").get_data(as_text=True)
    assert "4 非常满意 / 3 满意" in detail and 'data-testid="satisfaction-rate">60.0%' in detail  # 3 of 5
    with app.app_context():
        from satisfaction.surveys.rates import category_rates, rating_histogram, year_summary

        old_c, new_c = db.session.get(SurveyCampaign, old), db.session.get(SurveyCampaign, new)
        [sec] = category_rates([old_c], [company.cats["security"]])
        assert (sec.answered, sec.satisfied) == (3, 1)
        summary = year_summary(old_c.year, None)
        assert (summary.totals.returned, summary.totals.satisfied) == (9, 6)  # 3 of 5 + 3 of 4
        # two scales: the definition speaks of each survey's own scale
        assert summary.definition == _("Satisfied = an overall rating its survey's own scale counts as satisfied")
        lines = {x.label: (x.value, x.forms) for x in rating_histogram([old_c, new_c])}
        assert lines == {"非常满意": (4, 2), "满意": (3, 2), "基本满意": (2, 4), "不满意": (1, 1)}
    body = client.api("GET", f"/api/v1/survey-campaigns/{old}").json
    assert [x["value"] for x in body["rating_scale"]] == [4, 3, 2, 1] and body["rates"]["satisfied"] == 3
    assert body["overall_ratings"] == {"4": 2, "3": 1, "2": 2, "1": 0}


def test_closing_below_target_names_the_campaigns_own_satisfied_levels(app, company):
    from actions.models import Action
    from satisfaction.surveys.service import close_campaign, get_campaign

    c = make_campaign(app, company.p1, distributed=4)
    respond(app, c, [4, 2, 2, 1])
    set_scale(app, three_levels())
    with app.app_context():
        from accounts.models import User

        boss = db.session.execute(select(User).where(User.login == "boss")).scalar_one()
        close_campaign(get_campaign(c, boss), actor=boss)
        action = db.session.execute(select(Action)).scalar_one()
        assert "4 非常满意 / 3 满意" in action.description  # its own scale, not the setting's three levels


# ---------------------------------------------------------------- entry, import, template, exports

def test_entry_form_shows_the_campaigns_labels_and_takes_its_values(app, company, client):
    c = make_campaign(app, company.p1, distributed=5)
    login(client, "clerk1")
    page = client.get(f"/satisfaction/surveys/{c}/entry").get_data(as_text=True)
    legend = re.search(r'data-testid="scale-legend">(.*?)</p>', page, re.S).group(1)
    assert re.findall(r"<b>(\d+)</b> (\S+)</span>", legend) == [("4", "非常满意"), ("3", "满意"), ("2", "基本满意"),
                                                               ("1", "不满意")]
    assert 'data-values="4,3,2,1"' in page and 'pattern="4|3|2|1"' in page and 'maxlength="1"' in page
    assert "4/3/2/1" in page  # the message for a key off the scale
    r = client.post(f"/satisfaction/surveys/{c}/entry", {"overall": "5"})
    text = r.get_data(as_text=True)
    assert r.status_code == 400 and "4/3/2/1" in text and "非常满意/满意/基本满意/不满意" in text
    sec = company.cats["security"]
    r = client.post(f"/satisfaction/surveys/{c}/entry", {"overall": "2", f"r_{sec}": "3"})
    assert r.status_code == 302
    page = client.get(f"/satisfaction/surveys/{c}/entry").get_data(as_text=True)
    assert "2 基本满意" in page  # the last forms entered, with their label
    assert client.get(f"/satisfaction/surveys/{c}/responses").get_data(as_text=True).count("2 基本满意") == 1
    r = client.api("POST", f"/api/v1/survey-campaigns/{c}/responses", json={"overall": "Fairly satisfied"})
    assert r.status_code == 201 and r.json["response"]["overall_label"] == "基本满意"
    assert r.json["response"]["overall"] == 2


def test_import_takes_the_procedures_words_and_names_row_and_column_otherwise(app, company, client):
    c = make_campaign(app, company.p1, distributed=10)
    login(client, "clerk1")
    good = xlsx([("1-101", "基本满意", "满意", 4, ""), ("1-102", "非常满意", None, "不满意", "好"),
                 ("1-103", 3, "基本 满意", None, ""), ("1-104", "fairly satisfied", 1.0, "2", "")])
    r = upload(client, c, good)
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    with app.app_context():
        rows = list(db.session.execute(select(SurveyResponse).order_by(SurveyResponse.id)).scalars())
        assert [x.overall for x in rows] == [2, 4, 3, 2]
        assert rows[0].ratings() == {company.cats["security"]: 3, company.cats["maintenance"]: 4}
    assert (rates_of(app, c).returned, rates_of(app, c).satisfied) == (4, 2)
    bad = xlsx([("2-101", "一般", 4, 4, ""), ("2-102", 5, "满意", 4, ""), ("2-103", "满意", 0, "很满意", "")])
    r = upload(client, c, bad)
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    for row, column, cell in ((2, "总体评价", "一般"), (3, "总体评价", "5"), (4, "安全", "0"), (4, "维修", "很满意")):
        assert re.search(rf"第 {row} 行「{column}」列：[^<]*4/3/2/1[^<]*非常满意/满意/基本满意/不满意[^<]*“{cell}”", html), \
            (row, column)
    assert count(app, SurveyResponse) == 4


def test_template_offers_the_campaigns_levels_and_round_trips(app, company, client):
    c = make_campaign(app, company.p1, distributed=10)
    login(client, "clerk1")
    assert "4 非常满意, 3 满意, 2 基本满意, 1 不满意" in client.get(f"/satisfaction/surveys/{c}/import").get_data(
        as_text=True)
    wb = load_workbook(io.BytesIO(client.get(f"/satisfaction/surveys/{c}/import-template.xlsx").data))
    ws = wb.worksheets[0]
    [check] = ws.data_validations.dataValidation
    assert check.formula1 == '"非常满意,满意,基本满意,不满意,4,3,2,1"'
    help_text = "\n".join(str(cell.value) for cell in wb["填写说明"]["A"])
    assert "4 = 非常满意，3 = 满意，2 = 基本满意，1 = 不满意" in help_text and "计为满意的评价：非常满意、满意" in help_text
    ws.append(["5-1-101", "基本满意", "满意", "非常满意", ""])
    buf = io.BytesIO()
    wb.save(buf)
    assert upload(client, c, buf.getvalue()).status_code == 302
    assert (rates_of(app, c).returned, rates_of(app, c).satisfied) == (1, 0)


def test_exports_carry_the_labels(app, company, client):
    c = make_campaign(app, company.p1, distributed=10)
    respond(app, c, [4, 2], [{"security": 3}, {"maintenance": 1}])
    login(client, "clerk1")
    rows = list(csv.reader(io.StringIO(client.get(f"/satisfaction/surveys/{c}/responses.csv").data.decode("utf-8-sig"))))
    header = rows[0]
    by_no = {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    first, second = sorted(by_no.values(), key=lambda row: int(row["编号"]))
    assert (first["总体评价"], first["安全"], second["维修"]) == ("4", "满意", "不满意")
    assert [first[h] for h in header[3:5]] == ["非常满意", "✓"] and [second[h] for h in header[3:5]] == ["基本满意", ""]
    ws = load_workbook(io.BytesIO(client.get(f"/satisfaction/surveys/{c}/responses.xlsx").data)).active
    values = [cell.value for row in ws.iter_rows() for cell in row]
    assert "基本满意" in values and "不满意" in values and any("4 非常满意 / 3 满意" in str(v) for v in values)
    with app.app_context():
        year = db.session.get(SurveyCampaign, c).year
    text = client.get(f"/satisfaction/surveys/export.csv?year={year}").data.decode("utf-8")
    assert "4 非常满意 ✓, 3 满意 ✓, 2 基本满意, 1 不满意" in text


def test_complaint_follow_up_keeps_its_own_three_levels(app):
    """The follow-up asks 满意 / 基本满意 / 不满意 (QP-CS-001 4.4.5): its own fixed scale, not the survey's."""
    from satisfaction.complaints.models import HANDLING_SATISFACTION
    from satisfaction.complaints.service import SATISFACTION_LABELS

    assert HANDLING_SATISFACTION == ("satisfied", "neutral", "dissatisfied")
    with app.test_request_context():
        assert str(SATISFACTION_LABELS["neutral"]) in ("基本满意", "Fairly satisfied")


def test_demo_surveys_use_the_default_scale(app):
    assert app.test_cli_runner().invoke(args=["demo", "load"]).exit_code == 0
    with app.app_context():
        from satisfaction.surveys.rates import rates_for

        campaigns = list(db.session.execute(select(SurveyCampaign)).scalars())
        assert campaigns and all([(lv.value, lv.name, lv.satisfied) for lv in c.scale.levels] == DEFAULT
                                 for c in campaigns)
        values = set(db.session.execute(select(SurveyResponse.overall).distinct()).scalars())
        assert values == {4, 3, 2, 1}
        rates = {c.project.code: r for c in campaigns for cid, r in rates_for(campaigns).items() if cid == c.id}
        assert rates["P-LJY"].satisfaction_rate == pytest.approx(0.92)


# ---------------------------------------------------------------- migration 0015

FIGURES_SQL = """
SELECT c.id, count(r.id), sum(CASE WHEN r.overall >= :min THEN 1 ELSE 0 END)
FROM survey_campaigns c LEFT JOIN survey_responses r ON r.campaign_id = c.id AND r.voided_at IS NULL
GROUP BY c.id ORDER BY c.id
"""
CATEGORY_SQL = """
SELECT a.category_id, count(*), sum(CASE WHEN a.rating >= :min THEN 1 ELSE 0 END)
FROM survey_answers a JOIN survey_responses r ON r.id = a.response_id AND r.voided_at IS NULL
GROUP BY a.category_id ORDER BY a.category_id
"""


def _table(name, *columns):
    return sa.table(name, *(sa.column(c, t) for c, t in columns))


def _old_rows(conn, min_rating):
    """Campaigns and forms as ProcDesk wrote them before 0015 (and the threshold setting in force)."""
    from webapp.db import UTCDateTime

    now = datetime(2025, 6, 1, 8, tzinfo=UTC)
    text, num, flag, when, js = sa.String(), sa.Integer(), sa.Boolean(), UTCDateTime(), sa.JSON()
    conn.execute(_table("projects", ("id", num), ("code", text), ("name", text), ("name_en", text),
                        ("address", text), ("households", num), ("active", flag)).insert(),
                 [{"id": 1, "code": "P1", "name": "翠湖", "name_en": "Cuihu", "address": "", "households": 100,
                   "active": True}])
    conn.execute(_table("service_categories", ("id", num), ("code", text), ("name", text), ("name_en", text),
                        ("sort_order", num), ("active", flag)).insert(),
                 [{"id": 1, "code": "security", "name": "安全", "name_en": "Security", "sort_order": 1, "active": True}])
    conn.execute(_table("survey_campaigns", ("id", num), ("project_id", num), ("year", num), ("period", text),
                        ("slot", text), ("households", num), ("distributed", num), ("category_ids", js),
                        ("status", text), ("created_at", when), ("updated_at", when), ("version", num),
                        ("void_reason", text)).insert(),
                 [{"id": cid, "project_id": 1, "year": 2025, "period": period, "slot": f"1:2025:{period}",
                   "households": 100, "distributed": 60, "category_ids": [1], "status": "closed", "created_at": now,
                   "updated_at": now, "version": 1, "void_reason": ""} for cid, period in ((1, ""), (2, "复查"))])
    overall = [5, 5, 4, 4, 4, 3, 2, 1, 5, 4, 3, 3]
    conn.execute(_table("survey_responses", ("id", num), ("campaign_id", num), ("room", text), ("overall", num),
                        ("comments", text), ("source", text), ("entered_at", when), ("void_reason", text),
                        ("voided_at", when)).insert(),
                 [{"id": rid, "campaign_id": 1 if rid <= 8 else 2, "room": "", "overall": value, "comments": "",
                   "source": "paper", "entered_at": now, "void_reason": "", "voided_at": now if rid == 3 else None}
                  for rid, value in enumerate(overall, start=1)])
    conn.execute(_table("survey_answers", ("response_id", num), ("category_id", num), ("rating", num)).insert(),
                 [{"response_id": rid, "category_id": 1, "rating": max(1, value - rid % 2)}
                  for rid, value in enumerate(overall, start=1)])
    if min_rating is not None:
        conn.execute(_table("settings", ("key", text), ("value", js), ("updated_at", when)).insert(),
                     [{"key": "satisfied_min_rating", "value": min_rating, "updated_at": now}])


@pytest.mark.parametrize("min_rating", [None, 5, 3])
def test_migration_keeps_every_existing_figure(tmp_path, database_url, min_rating):
    from flask_migrate import downgrade, upgrade

    app = make_app(tmp_path, database_url)
    try:
        with app.app_context():
            upgrade(revision="0014_action_roles")
            with db.engine.begin() as conn:
                _old_rows(conn, min_rating)
                threshold = {"min": min_rating or 4}
                campaigns_before = [tuple(r) for r in conn.execute(sa.text(FIGURES_SQL), threshold)]
                categories_before = [tuple(r) for r in conn.execute(sa.text(CATEGORY_SQL), threshold)]
            upgrade(revision="0015_rating_scales")
            from satisfaction.settings import get_setting
            from satisfaction.surveys.rates import category_rates, rates_for

            campaigns = list(db.session.execute(select(SurveyCampaign).order_by(SurveyCampaign.id)).scalars())
            rates = rates_for(campaigns)
            assert [(c.id, rates[c.id].returned, rates[c.id].satisfied) for c in campaigns] == campaigns_before
            assert [(r.category.id, r.answered, r.satisfied) for r in category_rates(campaigns, [1])] == \
                categories_before
            satisfied = [lv.value for lv in campaigns[0].scale.levels if lv.satisfied]
            assert satisfied == list(range(5, (min_rating or 4) - 1, -1))
            # The installation keeps forming its next surveys on that same scale until someone changes it.
            assert [x["value"] for x in get_setting("rating_scale") if x["satisfied"]] == satisfied
            with db.engine.connect() as conn:
                keys = set(conn.execute(sa.text("SELECT key FROM settings")).scalars())
            assert keys == {"rating_scale"}
            db.session.remove()
            downgrade(revision="0014_action_roles")
            with db.engine.connect() as conn:
                back = conn.execute(sa.text("SELECT value FROM settings WHERE key = 'satisfied_min_rating'")).scalar()
                assert "rating_scale" not in {c["name"] for c in sa.inspect(conn).get_columns("survey_campaigns")}
            assert int(back) == (min_rating or 4)
    finally:
        close_app(app)


def test_a_new_installation_starts_on_the_procedures_scale(tmp_path, database_url):
    from flask_migrate import upgrade

    app = make_app(tmp_path, database_url)
    try:
        with app.app_context():
            upgrade(revision="0015_rating_scales")
            from satisfaction.settings import rating_scale

            assert [(lv.value, lv.name, lv.satisfied) for lv in rating_scale().levels] == DEFAULT
            db.session.remove()
    finally:
        close_app(app)
