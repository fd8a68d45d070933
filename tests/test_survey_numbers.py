"""Survey form numbers run per campaign (issue 12, part 5): 1, 2, 3 … in each campaign whatever the path a
form comes in by (the entry page, the API, an XLSX import), unique under concurrent entry, never reused after
a void; migration 0018 numbers the forms already on file and loses none."""
from __future__ import annotations

import threading
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from satisfaction.surveys.models import SurveyFormSequence, SurveyResponse
from tests.conftest import make_app
from tests.test_surveys import _user, login, make_campaign, respond, upload, xlsx
from webapp.extensions import db


@pytest.fixture
def surveys(app, make_project, make_user):
    """Projects P1 and P2 (ids), an administrator ``boss``; the forms are rated on a 1–5 scale."""
    from satisfaction.categories import ensure_default_categories
    from satisfaction.settings import update_settings
    from satisfaction.surveys.scale import legacy_levels

    found = SimpleNamespace(p1=make_project("P1", households=100), p2=make_project("P2", households=50))
    make_user("boss", roles=("admin",))
    with app.app_context():
        ensure_default_categories()
        db.session.commit()
        update_settings({"rating_scale": legacy_levels(4)}, reason="a 1–5 form")
    return found


def numbers(app, campaign_id) -> list[int]:
    with app.app_context():
        return list(db.session.execute(select(SurveyResponse.number).where(SurveyResponse.campaign_id == campaign_id)
                                       .order_by(SurveyResponse.id)).scalars())


def test_each_campaign_numbers_its_own_forms_from_one(app, surveys, client):
    a = make_campaign(app, surveys.p1, distributed=20)
    b = make_campaign(app, surveys.p2, distributed=20)
    respond(app, a, [5, 4])
    respond(app, b, [3])
    respond(app, a, [4])
    login(client, "boss")
    # the entry page
    r = client.post(f"/satisfaction/surveys/{b}/entry", {"overall": "5", "room": "1-101"})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    # the API says the number
    r = client.api("POST", f"/api/v1/survey-campaigns/{a}/responses", json={"overall": 5})
    assert r.status_code == 201 and r.json["response"]["number"] == 4
    # an import continues the series in the file's order
    assert upload(client, b, xlsx([("1-201", 5, 4, 4, ""), ("1-202", 4, 4, 4, ""), ("1-203", 3, 3, 3, "")])
                  ).status_code == 302
    assert numbers(app, a) == [1, 2, 3, 4]
    assert numbers(app, b) == [1, 2, 3, 4, 5]
    listed = client.api("GET", f"/api/v1/survey-campaigns/{b}/responses").json["items"]
    assert [item["number"] for item in listed] == [5, 4, 3, 2, 1]
    # the page and the export show the number, not the row id
    page = client.get(f"/satisfaction/surveys/{b}/responses").get_data(as_text=True)
    assert '<td class="num">5</td>' in page
    export = client.get(f"/satisfaction/surveys/{b}/responses.csv").data.decode("utf-8-sig").splitlines()
    assert [line.split(",")[0] for line in export[1:]] == ["1", "2", "3", "4", "5"]


def test_a_voided_form_keeps_its_number_and_it_is_not_given_again(app, surveys, client):
    c = make_campaign(app, surveys.p1, distributed=20)
    ids = respond(app, c, [5, 4, 3])
    login(client, "boss")
    r = client.post(f"/satisfaction/surveys/{c}/responses/{ids[-1]}/void", {"reason": "录重了"})
    assert r.status_code == 302
    respond(app, c, [4])
    assert numbers(app, c) == [1, 2, 3, 4]


def test_the_number_is_unique_in_its_campaign_in_the_database(app, surveys):
    c = make_campaign(app, surveys.p1, distributed=20)
    respond(app, c, [5])
    with app.app_context(), pytest.raises(sa.exc.IntegrityError):
        db.session.execute(sa.insert(SurveyResponse).values(campaign_id=c, number=1, room="", overall=4,
                                                            comments="", source="paper", void_reason=""))
        db.session.flush()


def test_concurrent_entry_gives_every_form_its_own_number(app, surveys):
    c = make_campaign(app, surveys.p1, distributed=100)
    errors: list[Exception] = []
    barrier = threading.Barrier(4)

    def worker():
        try:
            with app.app_context():
                barrier.wait(10)
                from satisfaction.surveys.service import create_response, get_campaign

                actor = _user("boss")
                for _ in range(5):
                    create_response(get_campaign(c, actor), {"overall": 5}, actor=actor)
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sorted(numbers(app, c)) == list(range(1, 21))
    with app.app_context():
        assert db.session.get(SurveyFormSequence, f"campaign-{c}").last_value == 20


# ---------------------------------------------------------------------------------------------
# migration 0018


def _old_forms(conn) -> None:
    """Two campaigns' forms as ProcDesk stored them before 0018 (row ids interleaved, one voided)."""
    now = datetime(2025, 6, 1, tzinfo=UTC)
    conn.execute(sa.text("INSERT INTO projects (id, code, name, name_en, address, households, active) "
                         "VALUES (1, 'P1', '翠湖', 'Cuihu', '', 100, :t), (2, 'P2', '金禾', 'Jinhe', '', 80, :t)"),
                 {"t": True})
    for cid, pid in ((1, 1), (2, 2)):
        conn.execute(sa.text(
            "INSERT INTO survey_campaigns (id, project_id, year, period, slot, households, distributed, category_ids, "
            "status, created_at, updated_at, version, void_reason, rating_scale) VALUES (:id, :p, 2025, '', :slot, "
            "100, 60, '[]', 'open', :now, :now, 1, '', '[]')"), {"id": cid, "p": pid, "slot": f"{pid}:2025:", "now": now})
    for rid, cid in enumerate([1, 2, 1, 1, 2, 1, 2], start=1):
        conn.execute(sa.text(
            "INSERT INTO survey_responses (id, campaign_id, room, overall, comments, source, entered_at, void_reason, "
            "voided_at) VALUES (:id, :c, :room, 4, '', 'paper', :now, '', :voided)"),
            {"id": rid, "c": cid, "room": f"r{rid}", "now": now, "voided": now if rid == 4 else None})


def test_migration_numbers_the_forms_on_file_per_campaign_and_keeps_them_all(tmp_path, database_url):
    from flask_migrate import downgrade, upgrade

    app = make_app(tmp_path, database_url)
    try:
        with app.app_context():
            upgrade(revision="0017_dashboard_index")
            with db.engine.begin() as conn:
                _old_forms(conn)
            upgrade(revision="0018_survey_form_numbers")
            with db.engine.connect() as conn:
                rows = conn.execute(sa.text("SELECT id, campaign_id, number, room FROM survey_responses ORDER BY id")).all()
                counters = dict(conn.execute(sa.text("SELECT scope, last_value FROM survey_form_sequences")).all())
            assert [tuple(r) for r in rows] == [(1, 1, 1, "r1"), (2, 2, 1, "r2"), (3, 1, 2, "r3"), (4, 1, 3, "r4"),
                                                (5, 2, 2, "r5"), (6, 1, 4, "r6"), (7, 2, 3, "r7")]
            assert counters == {"campaign-1": 4, "campaign-2": 3}
            # The next form of a campaign continues its series.
            from records.numbering import next_value

            assert next_value(SurveyFormSequence, "campaign-2") == 4
            db.session.rollback()
            downgrade(revision="0017_dashboard_index")
            with db.engine.connect() as conn:
                assert conn.execute(sa.text("SELECT count(*) FROM survey_responses")).scalar() == 7
                assert "number" not in {c["name"] for c in sa.inspect(conn).get_columns("survey_responses")}
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
