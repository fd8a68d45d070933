"""Read acknowledgements: the derived to-read list, confirming, the completion report and the API."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

import repo_store
from audit.models import AuditEntry
from procedures.acknowledgements import service as acknowledgements
from procedures.acknowledgements.models import ProcedureAcknowledgement
from procedures.publishing import service as publishing
from tests.factories_publishing import BODY, head, procedure_text, seed_procedure, user
from webapp.exceptions import Conflict, NotFound, ValidationError
from webapp.extensions import db
from webapp.store import get_store

CODE = "QP-CS-001"


@pytest.fixture
def world(app, make_department, make_user):
    """CS and ENG departments, two CS readers, one ENG reader, a controller; three procedures."""
    make_department("CS", "客户服务部")
    make_department("ENG", "工程部")
    make_user("controller", roles=("controller",), department="CS", display_name="文控 周敏")
    make_user("li", department="CS", display_name="客服 李强")
    make_user("wang", department="CS", display_name="客服 王丽")
    make_user("zhao", department="ENG", display_name="工程 赵伟")
    make_user("nodept", display_name="无部门")
    make_user("boss", roles=("manager",), display_name="总经理 陈志远")  # approves the new versions
    seed_procedure(app, CODE)
    seed_procedure(app, "QP-ENG-001", title="设备巡检规程", departments="[ENG]")
    seed_procedure(app, "QP-ADM-001", title="文件控制程序", departments="[CS, ENG]")
    return app


def _codes(app, login, today=None):
    with app.app_context():
        return [t.current.code for t in acknowledgements.to_read(user(login), today)]


def _publish(app, code=CODE, body=BODY + "\n4.3 投诉处理完毕后三日内回访。\n", effective=None, **kw):
    with app.app_context():
        return publishing.publish(code, procedure_text(code, body=body, **kw), summary="加回访条款",
                                  base=get_store().head(), author=user("controller"), approved_by=user("boss"),
                                  effective=effective)


def _confirm(app, login, code, version) -> int:
    with app.app_context():
        return acknowledgements.confirm(user(login), code, version).id


def test_to_read_is_derived_from_department_and_current_versions(world):
    assert _codes(world, "li") == ["QP-ADM-001", CODE]
    assert _codes(world, "zhao") == ["QP-ADM-001", "QP-ENG-001"]
    assert _codes(world, "nodept") == []
    _confirm(world, "li", CODE, "A/0")
    assert _codes(world, "li") == ["QP-ADM-001"]
    assert _codes(world, "wang") == ["QP-ADM-001", CODE]  # per user
    # A new version puts it back on the list, showing what changed since the confirmed one.
    _publish(world)
    with world.app_context():
        items = acknowledgements.to_read(user("li"))
        item = next(t for t in items if t.current.code == CODE)
        assert item.current.version == "A/1" and item.last_version == "A/0" and not item.is_first_read
        changes = str(item.changes_html())
        assert "rl-ins" in changes and "三日内回访" in changes


def test_changes_are_the_compare_pages_cached_redline(world, monkeypatch):
    """The redline since the confirmed version comes from catalog.compare (cached per blob pair)."""
    from procedures import catalog, redline

    _confirm(world, "li", CODE, "A/0")
    _publish(world)
    with world.app_context():
        item = next(t for t in acknowledgements.to_read(user("li")) if t.current.code == CODE)
        shown = catalog.compare(CODE, from_ref="A-0", to_ref="A-1")  # what the compare page shows

        def recomputed(*args, **kwargs):
            raise AssertionError("the redline was computed again instead of taken from the comparison cache")

        monkeypatch.setattr(redline, "redline", recomputed)
        assert item.changes_html() == shown.redline and "三日内回访" in str(shown.redline)


def test_changes_since_a_version_gone_from_main_show_the_whole_text(world):
    with world.app_context():
        current = acknowledgements.relevant("CS")[-1]
        assert current.code == CODE
        item = acknowledgements.ToRead(current=current, last_version="A/0", last_commit="0" * 40)
        changes = str(item.changes_html())
        assert "rl-ins" in changes and "rl-del" not in changes and "满意率低于 85%" in changes


def test_confirm_is_audited_and_idempotent(world):
    first = _confirm(world, "li", CODE, "A/0")
    again = _confirm(world, "li", CODE, "A/0")
    assert first == again
    with world.app_context():
        assert db.session.execute(select(func.count()).select_from(ProcedureAcknowledgement)).scalar() == 1
        entries = db.session.execute(select(AuditEntry).where(AuditEntry.action == "procedure.acknowledged")).scalars()
        entries = list(entries)
        assert len(entries) == 1 and entries[0].actor_login == "li"
        assert entries[0].after["version"] == "A/0" and entries[0].after["commit"]


def test_confirm_refuses_stale_unknown_and_withdrawn(world):
    _publish(world)
    with world.app_context():
        li = user("li")
        with pytest.raises(Conflict):
            acknowledgements.confirm(li, CODE, "A/0")  # no longer in force
        with pytest.raises(NotFound):
            acknowledgements.confirm(li, "QP-CS-404", "A/0")
        with pytest.raises(ValidationError) as info:
            acknowledgements.confirm(li, "bad code", "1.0")
        assert set(info.value.errors) == {"code", "version"}
        publishing.withdraw(CODE, reason="已合并", base=get_store().head(), user=user("controller"),
                            approved_by=user("boss"))
        with pytest.raises(Conflict):
            acknowledgements.confirm(li, CODE, "A/2")
    assert CODE not in _codes(world, "li")  # withdrawn procedures are not to be read


def test_upcoming_version_joins_the_list_on_its_date(world):
    _confirm(world, "li", CODE, "A/0")
    future = date.today() + timedelta(days=30)
    _publish(world, effective=future)
    assert CODE not in _codes(world, "li")  # A/1 is upcoming: A/0 (confirmed) is still in force
    assert CODE in _codes(world, "li", today=future)  # on its date it is current, and to be read


def test_a_commit_pushed_with_plain_git_is_to_be_read(world):
    _confirm(world, "li", CODE, "A/0")
    with world.app_context():
        store = get_store()
        text = procedure_text(version="A/1", body=BODY + "\n4.9 直接用 git 提交的条款。\n")
        store.commit({f"{CODE}.md": text}, summary="hotfix", base=store.head(),
                     author=repo_store.Signature("git user", "git@example.com"))
    assert CODE in _codes(world, "li")


def test_to_read_page_and_confirm(world, client):
    client.login("li")
    html = client.get("/acknowledgements/").get_data(as_text=True)
    assert html.count('data-testid="to-read-item"') == 2
    assert 'data-testid="full-text"' in html and "满意率低于 85%" in html  # first reading: the whole text
    r = client.post("/acknowledgements/confirm", {"code": CODE, "version": "A/0"})
    assert r.status_code == 303
    html = client.get("/acknowledgements/").get_data(as_text=True)
    assert html.count('data-testid="to-read-item"') == 1 and f'data-code="{CODE}"' not in html
    _publish(world)
    html = client.get("/acknowledgements/").get_data(as_text=True)
    assert 'data-testid="changes"' in html and "rl-ins" in html
    # A stale confirmation (the version moved on) is refused with an explanation, not recorded.
    r = client.post("/acknowledgements/confirm", {"code": CODE, "version": "A/0"}, follow_redirects=True)
    assert "A/1" in r.get_data(as_text=True)
    with world.app_context():
        assert db.session.execute(select(func.count()).select_from(ProcedureAcknowledgement)).scalar() == 1
    # CSRF is required.
    r = client.post("/acknowledgements/confirm", {"code": CODE, "version": "A/1"}, csrf=False)
    assert r.status_code == 400
    client.post("/acknowledgements/confirm", {"code": CODE, "version": "A/1"})
    client.post("/acknowledgements/confirm", {"code": "QP-ADM-001", "version": "A/0"})
    html = client.get("/acknowledgements/").get_data(as_text=True)
    assert 'data-testid="nothing-to-read"' in html


def test_to_read_page_without_department(world, client):
    client.login("nodept")
    html = client.get("/acknowledgements/").get_data(as_text=True)
    assert 'data-testid="no-department"' in html


def test_report_counts_per_procedure_and_department(world, client):
    _confirm(world, "li", CODE, "A/0")
    _confirm(world, "zhao", "QP-ADM-001", "A/0")
    with world.app_context():
        rows = {r.current.code: r for r in acknowledgements.report()}
        cs = rows[CODE].departments[0]
        # CS has controller, li and wang.
        assert (cs.department.code, cs.done, cs.total) == ("CS", 1, 3)
        assert sorted(u.login for u in cs.outstanding) == ["controller", "wang"]
        adm = {d.department.code: (d.done, d.total) for d in rows["QP-ADM-001"].departments}
        assert adm == {"CS": (0, 3), "ENG": (1, 1)}
        only_eng = acknowledgements.report("ENG")
        assert {r.current.code for r in only_eng} == {"QP-ADM-001", "QP-ENG-001"}
        assert all(d.department.code == "ENG" for r in only_eng for d in r.departments)
        assert {r.current.code for r in acknowledgements.report("ENG", incomplete_only=True)} == {"QP-ENG-001"}
    client.login("controller")
    r = client.get("/acknowledgements/report")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert f'data-code="{CODE}" data-department="CS"' in html and "1/3" in html and "客服 王丽" in html
    html = client.get("/acknowledgements/report?department=ENG&incomplete=1").get_data(as_text=True)
    assert "QP-ENG-001" in html and 'data-code="QP-ADM-001"' not in html


def test_report_needs_its_permission(world, client):
    client.login("li")
    assert client.get("/acknowledgements/report").status_code == 403
    assert client.get("/acknowledgements/").status_code == 200


def test_api(world, client):
    client.login("li")
    client.get("/")
    r = client.api("GET", "/api/v1/acknowledgements")
    assert r.status_code == 200 and r.json["count"] == 2
    item = next(i for i in r.json["items"] if i["code"] == CODE)
    assert item["version"] == "A/0" and item["last_acknowledged_version"] is None and item["revision"]
    r = client.api("POST", "/api/v1/acknowledgements", json={"code": CODE, "version": "A/0"})
    assert r.status_code == 201 and r.json["version"] == "A/0"
    assert client.api("POST", "/api/v1/acknowledgements", json={"code": CODE}).status_code == 400
    assert client.api("POST", "/api/v1/acknowledgements",
                      json={"code": "QP-CS-404", "version": "A/0"}).status_code == 404
    _publish(world)
    r = client.api("POST", "/api/v1/acknowledgements", json={"code": CODE, "version": "A/0"})
    assert r.status_code == 409
    r = client.api("GET", "/api/v1/acknowledgements")
    item = next(i for i in r.json["items"] if i["code"] == CODE)
    assert item["version"] == "A/1" and item["last_acknowledged_version"] == "A/0"
    assert head(world)


def test_nav_shows_to_read(world, client):
    client.login("li")
    html = client.get("/").get_data(as_text=True)
    assert 'data-nav="acknowledgements.to_read"' in html
