"""Satisfaction reference data: categories, settings, project scope."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from audit.models import AuditEntry
from satisfaction.models import ServiceCategory
from webapp.extensions import db


@pytest.fixture
def categories(app):
    with app.app_context():
        from satisfaction.categories import ensure_default_categories

        ensure_default_categories()
        db.session.commit()


def test_default_categories_are_seeded_and_translated(categories, logged_in):
    client = logged_in("clerk")
    html = client.get("/satisfaction/categories").get_data(as_text=True)
    for name in ("安全", "环境", "维修", "客服", "其他"):
        assert name in html
    client.post("/language", {"lang": "en"})
    html = client.get("/satisfaction/categories").get_data(as_text=True)
    assert "Maintenance and repairs" in html


def test_category_configuration_needs_permission(categories, logged_in):
    client = logged_in("clerk")
    assert client.get("/satisfaction/categories/new").status_code == 403
    r = client.post("/satisfaction/categories/new", {"code": "parking", "name": "停车"})
    assert r.status_code == 403


def test_manager_adds_and_deactivates_a_category(app, categories, logged_in):
    client = logged_in("manager")
    r = client.post("/satisfaction/categories/new", {"code": "parking", "name": "停车管理", "name_en": "Parking",
                                                     "sort_order": "60", "active": "y"})
    assert r.status_code == 302
    with app.app_context():
        cat = db.session.execute(select(ServiceCategory).where(ServiceCategory.code == "parking")).scalar_one()
        cat_id = cat.id
    r = client.post(f"/satisfaction/categories/{cat_id}", {"code": "parking", "name": "停车管理", "sort_order": "60"})
    assert r.status_code == 302
    with app.app_context():
        assert db.session.get(ServiceCategory, cat_id).active is False
        assert db.session.execute(select(AuditEntry).where(AuditEntry.action == "category.updated")).scalar_one()
    r = client.post("/satisfaction/categories/new", {"code": "parking", "name": "重复"})
    assert r.status_code == 409 and "已被使用" in r.get_data(as_text=True)
    r = client.post("/satisfaction/categories/new", {"code": "bad code!", "name": "x"})
    assert r.status_code == 400


SETTINGS_FORM = {
    "distribution_target": "90", "return_target": "85", "satisfaction_target": "85",
    "urgent_respond": "2", "urgent_resolve": "24", "major_respond": "2", "major_resolve": "24",
    "normal_respond": "48", "normal_resolve": "168", "reason": "年度评审",
    # The default rating scale, as the page shows it (tests/test_rating_scale.py tests the scale itself).
    **{f"levels-{i}-{key}": value for i, level in enumerate([
        ("4", "非常满意", "Very satisfied", "y"), ("3", "满意", "Satisfied", "y"),
        ("2", "基本满意", "Fairly satisfied", ""), ("1", "不满意", "Dissatisfied", "")])
       for key, value in zip(("value", "name", "name_en", "satisfied"), level, strict=True) if value},
}


def test_settings_change_is_validated_and_audited(app, logged_in):
    client = logged_in("manager")
    assert client.get("/satisfaction/settings").status_code == 200
    r = client.post("/satisfaction/settings", {**SETTINGS_FORM, "levels-2-satisfied": "y", "normal_respond": "24"})
    assert r.status_code == 302
    with app.app_context():
        from satisfaction.settings import get_setting

        assert [level["satisfied"] for level in get_setting("rating_scale")] == [True, True, True, False]
        assert get_setting("deadlines")["normal"] == {"respond_hours": 24, "resolve_hours": 168}
        entries = db.session.execute(select(AuditEntry).where(AuditEntry.action == "setting.changed")).scalars().all()
        assert {e.object_id for e in entries} == {"rating_scale", "deadlines"}
        assert all(e.reason == "年度评审" for e in entries)


@pytest.mark.parametrize("field,value", [
    ("levels-3-satisfied", "y"), ("levels-1-value", "4"), ("distribution_target", "120"), ("return_target", "0"),
    ("urgent_respond", "30"),  # respond later than resolve (24)
    ("reason", ""),
])
def test_bad_settings_are_refused_and_nothing_changes(app, logged_in, field, value):
    client = logged_in("manager")
    client.get("/satisfaction/settings")
    r = client.post("/satisfaction/settings", {**SETTINGS_FORM, "levels-2-satisfied": "y", field: value})
    assert r.status_code == 400
    with app.app_context():
        from satisfaction.settings import DEFAULTS, all_settings

        assert all_settings() == DEFAULTS


def test_scope_helpers(app, make_project, make_user):
    from accounts.models import User
    from records.scope import check_project, visible_projects
    from webapp.exceptions import NotFound

    p1, p2 = make_project("P1"), make_project("P2")
    clerk_id = make_user("clerk1", roles=("clerk",), projects=("P1",))
    boss_id = make_user("boss", roles=("manager",))
    with app.app_context():
        clerk, boss = db.session.get(User, clerk_id), db.session.get(User, boss_id)
        assert [p.code for p in visible_projects(clerk)] == ["P1"]
        assert [p.code for p in visible_projects(boss)] == ["P1", "P2"]
        assert check_project(p1, clerk).code == "P1"
        # Another project is answered like one that does not exist (issue 8 item 12: was PermissionDenied).
        with pytest.raises(NotFound) as theirs:
            check_project(p2, clerk)
        with pytest.raises(NotFound) as unknown:
            check_project(987654, clerk)
        assert str(theirs.value) == str(unknown.value)


def test_satisfaction_home_lists_only_my_projects(logged_in, make_project):
    make_project("P1", name="翠湖")
    make_project("P2", name="金禾")
    client = logged_in("clerk", projects=("P1",))
    html = client.get("/satisfaction/").get_data(as_text=True)
    assert "翠湖" in html and "金禾" not in html
    assert "90%" in html and "85%" in html
