"""Per-process copies of account data (accounts/cache.py) across workers and hosts.

Two app instances on one database and one git store stand for two gunicorn workers (or
two hosts): a change made through one must reach the other's very next request.
"""
from __future__ import annotations

from sqlalchemy import text

from accounts import cache
from accounts.models import Department, Role, User
from audit.permissions import AUDIT_READ
from tests.conftest import Client
from tests.factories_procedures import commit_version
from webapp.extensions import db
from webapp.store import get_store


def _user(login):
    return db.session.execute(db.select(User).where(User.login == login)).scalar_one()


def test_disabling_a_user_in_one_worker_logs_them_out_in_another(app, second_app, make_user):
    make_user("alice")
    worker_b = Client(second_app)
    assert worker_b.login("alice").status_code == 302
    assert worker_b.get("/").status_code == 200  # worker B now holds a copy of alice
    admin_a = Client(app)
    make_user("boss", roles=("admin",))
    admin_a.login("boss")
    admin_a.get("/admin/users")
    with app.app_context():
        uid = _user("alice").id
    r = admin_a.post(f"/admin/users/{uid}", {"login": "alice", "display_name": "Alice", "roles": ["reader"],
                                             "department": "", "participant_category": "",
                                             "locale": "zh_Hans"})  # "active" unchecked
    assert r.status_code == 302
    assert worker_b.get("/").status_code == 302  # logged out on the next request


def test_role_permission_change_reaches_another_worker(app, second_app, make_user):
    make_user("rita")
    worker_b = Client(second_app)
    worker_b.login("rita")
    assert worker_b.get("/audit/").status_code == 403
    with app.app_context():
        role = db.session.execute(db.select(Role).where(Role.code == "reader")).scalar_one()
        role.permissions = [*role.permissions, AUDIT_READ]
        db.session.commit()
    assert worker_b.get("/audit/").status_code == 200


def test_department_rename_shows_at_once_in_another_worker(app, second_app, make_user, make_department):
    make_department("CS", "客户服务部")
    commit_version(app, "QP-CS-001", departments=("CS",))
    make_user("rita")
    worker_b = Client(second_app)
    worker_b.login("rita")
    first = worker_b.get("/procedures/QP-CS-001")
    assert "客户服务部" in first.get_data(as_text=True)
    etag = first.headers["ETag"]
    with app.app_context():
        dept = db.session.execute(db.select(Department).where(Department.code == "CS")).scalar_one()
        dept.name = "客户关系部"
        db.session.commit()
    page = worker_b.get("/procedures/QP-CS-001", headers={"If-None-Match": etag})
    assert page.status_code == 200  # the browser's copy names the old department: not a 304
    assert "客户关系部" in page.get_data(as_text=True) and "客户服务部" not in page.get_data(as_text=True)


def test_logging_in_does_not_invalidate_every_copy(app, make_user):
    make_user("alice")
    with app.app_context():
        before = get_store().stamp(cache.STAMP)
    client = Client(app)
    assert client.login("alice").status_code == 302  # writes last_login_at and a login attempt
    with app.app_context():
        assert get_store().stamp(cache.STAMP) == before


def test_changes_made_outside_the_app_are_seen_after_max_age(app, make_user, monkeypatch):
    """SQL by hand moves no stamp: copies expire after MAX_AGE seconds anyway."""
    make_user("alice")
    client = Client(app)
    client.login("alice")
    assert client.get("/").status_code == 200
    with app.app_context():
        db.session.execute(text("UPDATE users SET active = :no WHERE login = 'alice'"), {"no": False})
        db.session.commit()
    assert client.get("/").status_code == 200  # the copy is still within MAX_AGE
    monkeypatch.setattr(cache, "MAX_AGE", 0.0)
    assert client.get("/").status_code == 302


def test_a_rolled_back_change_may_announce_but_never_hides_one(app, make_user):
    make_user("alice")
    with app.app_context():
        before = get_store().stamp(cache.STAMP)
        _user("alice").display_name = "Not saved"
        db.session.flush()
        db.session.rollback()
        _user("alice").display_name = "Saved"
        db.session.commit()
        assert get_store().stamp(cache.STAMP) != before


def test_cached_values_are_per_app(app, second_app):
    with app.test_request_context():
        assert cache.cached(("k",), lambda: "one") == "one"
        assert cache.cached(("k",), lambda: "other") == "one"
    with second_app.test_request_context():
        assert cache.cached(("k",), lambda: "two") == "two"


def test_an_unreadable_stamp_falls_back_to_the_database(app, make_user, monkeypatch):
    from repo_store import GitStore, StoreError

    make_user("alice")
    client = Client(app)
    client.login("alice")

    def broken(self, name):
        raise StoreError("stamp unreadable")

    monkeypatch.setattr(GitStore, "stamp", broken)
    monkeypatch.setattr(GitStore, "bump_stamp", broken)
    assert client.get("/").status_code == 200
    with app.app_context():
        _user("alice").active = False
        db.session.commit()  # committed although the stamp cannot move
        assert _user("alice").active is False
    assert client.get("/").status_code == 302  # read from the database: logged out
