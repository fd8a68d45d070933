"""Login, rate limiting, roles and permissions, profile, admin pages."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from accounts.models import LoginAttempt, User
from accounts.permissions import ROLE_NAMES, USERS_MANAGE, default_roles
from audit.permissions import AUDIT_READ
from tests.conftest import Client, make_app
from webapp.extensions import db


def test_login_and_logout_through_the_form(client, make_user):
    make_user("alice", display_name="Alice Wang")
    r = client.login("alice")
    assert r.status_code == 302 and r.headers["Location"] == "/"
    assert "Alice Wang" in client.get("/").get_data(as_text=True)
    r = client.logout()
    assert r.status_code == 302
    assert client.get("/").status_code == 302  # logged out


def test_bad_credentials_give_one_generic_message(client, make_user):
    make_user("alice")
    wrong_password = client.login("alice", "nope-nope-nope")
    unknown_user = client.login("nobody", "nope-nope-nope")
    assert wrong_password.status_code == unknown_user.status_code == 401
    for r in (wrong_password, unknown_user):
        assert "登录名或密码错误" in r.get_data(as_text=True)


def test_disabled_user_cannot_log_in_and_is_logged_out(app, client, make_user):
    uid = make_user("alice")
    assert client.login("alice").status_code == 302
    with app.app_context():
        from accounts.services import UserData, update_user

        user = db.session.get(User, uid)
        update_user(user, UserData(login="alice", display_name="A", active=False, role_codes=("reader",)))
    assert client.get("/").status_code == 302  # session ended
    assert client.login("alice").status_code == 401


def test_login_is_throttled_per_login_and_address(app, client, make_user):
    """More in tests/test_login_throttle.py: growing delays, other addresses unaffected, proxies."""
    make_user("alice")
    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit):
        assert client.login("alice", "wrong-password").status_code == 401
    r = client.login("alice")  # from this address, even the right password waits now
    assert r.status_code == 429
    assert "请等待" in r.get_data(as_text=True) and int(r.headers["Retry-After"]) >= 1
    with app.app_context():
        assert db.session.execute(select(LoginAttempt).where(LoginAttempt.success.is_(True))).first() is None


def test_rate_limit_window_expires(app, client, make_user):
    from datetime import timedelta

    make_user("alice")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        client.login("alice", "wrong-password")
    with app.app_context():
        for attempt in db.session.execute(select(LoginAttempt)).scalars():
            attempt.at = attempt.at - timedelta(seconds=app.config["LOGIN_WINDOW_SECONDS"] + 1)
        db.session.commit()
    assert client.login("alice").status_code == 302


ROLE_PAGES = {
    # permission -> a page that needs it
    USERS_MANAGE: "/admin/users",
    AUDIT_READ: "/audit/",
}


@pytest.mark.parametrize("role", sorted(ROLE_NAMES))
def test_each_role_gets_exactly_its_permissions(role, app, logged_in):
    client = logged_in(role)
    granted = set(default_roles(app)[role][2])
    for permission, url in ROLE_PAGES.items():
        status = client.get(url).status_code
        assert status == (200 if permission in granted else 403), (role, url, status)
    me = client.api("GET", "/api/v1/me").json
    assert set(me["permissions"]) == granted
    assert me["roles"] == [role]


def test_navigation_follows_permissions(logged_in):
    html = logged_in("reader").get("/").get_data(as_text=True)
    assert 'data-nav="admin.users"' not in html and 'data-nav="audit.index"' not in html


def test_admin_navigation(logged_in):
    html = logged_in("admin").get("/").get_data(as_text=True)
    assert 'data-nav="admin.users"' in html and 'data-nav="audit.index"' in html


def test_admin_creates_and_edits_a_user(app, logged_in, make_project):
    make_project("P1")
    client = logged_in("admin")
    r = client.post("/admin/users/new", {
        "login": "bob", "display_name": "Bob", "email": "bob@example.com", "password": "long-enough-pw",
        "active": "y", "locale": "en", "department": "", "participant_category": "frontline",
        "roles": ["clerk", "participant"], "projects": ["P1"]})
    assert r.status_code == 302
    with app.app_context():
        bob = db.session.execute(select(User).where(User.login == "bob")).scalar_one()
        assert {r.code for r in bob.roles} == {"clerk", "participant"}
        assert [p.code for p in bob.projects] == ["P1"]
        assert bob.participant_category == "frontline"
        bob_id = bob.id
    r = client.post(f"/admin/users/{bob_id}", {"login": "bob", "display_name": "Bob Li", "roles": ["reader"],
                                               "department": "", "participant_category": "", "locale": ""})
    assert r.status_code == 302
    with app.app_context():
        bob = db.session.get(User, bob_id)
        assert bob.display_name == "Bob Li" and [r.code for r in bob.roles] == ["reader"] and not bob.active


@pytest.mark.parametrize("data,field_text", [
    ({"login": "Bad Login!", "password": "long-enough-pw"}, "小写字母"),
    ({"login": "carol", "password": "short"}, "至少"),
    ({"login": "admin", "password": "long-enough-pw"}, "已被使用"),
])
def test_admin_user_form_rejects_bad_input(app, logged_in, data, field_text):
    client = logged_in("admin")
    payload = {"display_name": "X", "roles": ["reader"], "department": "", "participant_category": "", "locale": ""}
    payload.update(data)
    r = client.post("/admin/users/new", payload)
    assert 400 <= r.status_code < 500
    assert field_text in r.get_data(as_text=True)


def test_admin_manages_departments_projects_roles(app, logged_in):
    client = logged_in("admin")
    assert client.post("/admin/departments/new", {"code": "CS", "name": "客户服务部", "name_en": "Customer Service",
                                                   "active": "y"}).status_code == 302
    assert client.post("/admin/projects/new", {"code": "P-A", "name": "翠湖", "households": "1200",
                                                "active": "y"}).status_code == 302
    r = client.post("/admin/projects/new", {"code": "P-A", "name": "重复", "households": "10"})
    assert r.status_code == 409 and "已被使用" in r.get_data(as_text=True)
    r = client.post("/admin/projects/new", {"code": "P-B", "name": "x", "households": "-3"})
    assert r.status_code == 400
    assert client.post("/admin/roles/new", {"code": "auditor", "name": "审核员",
                                             "permissions": [AUDIT_READ]}).status_code == 302
    page = client.get("/admin/projects").get_data(as_text=True)
    assert "翠湖" in page and "1,200" in page


def test_change_password_ends_other_sessions(app, client, make_user):
    make_user("alice")
    other = Client(app)
    other.login("alice")
    client.login("alice")
    client.get("/profile")
    r = client.post("/profile/password", {"pw-current_password": "correct-horse-9",
                                          "pw-new_password": "a-new-password-1"})
    assert r.status_code == 302
    assert client.get("/profile").status_code == 200  # this session survives
    assert other.get("/profile").status_code == 302  # the other one is gone
    client.logout()
    assert client.login("alice", "a-new-password-1").status_code == 302


def test_change_password_wrong_current(client, make_user):
    make_user("alice")
    client.login("alice")
    client.get("/profile")
    r = client.post("/profile/password", {"pw-current_password": "nope", "pw-new_password": "a-new-password-1"})
    assert r.status_code == 400 and "当前密码不正确" in r.get_data(as_text=True)


def test_times_are_stored_utc_and_shown_in_shanghai(app, client, make_user):
    from datetime import UTC, datetime

    uid = make_user("alice")
    client.login("alice")
    client.get("/profile")
    client.post("/profile/tokens", {"tk-name": "script"})
    with app.app_context():
        from accounts.models import ApiToken

        token = db.session.execute(select(ApiToken)).scalar_one()
        token.created_at = datetime(2026, 1, 1, 16, 30, tzinfo=UTC)
        db.session.commit()
        assert db.session.get(User, uid).created_at.tzinfo is not None
    assert "2026-01-02 00:30" in client.get("/profile").get_data(as_text=True)


def test_password_hash_profile_is_cheap_under_test_and_never_in_production(app, tmp_path, database_url):
    from webapp.config import PASSWORD_HASH_PROFILES

    assert app.config["PASSWORD_HASH"] == PASSWORD_HASH_PROFILES["testing"]
    production = make_app(tmp_path, database_url, ENV="production")
    assert production.config["PASSWORD_HASH"] == PASSWORD_HASH_PROFILES["standard"]  # TESTING alone is not enough
    with pytest.raises(ValueError, match="production"):
        make_app(tmp_path, database_url, ENV="production", PASSWORD_HASH_PROFILE="testing")
    with pytest.raises(ValueError, match="PASSWORD_HASH_PROFILE"):
        make_app(tmp_path, database_url, PASSWORD_HASH_PROFILE="none")


def test_a_cheap_hash_is_redone_with_the_real_profile_at_the_next_login(app, make_user, tmp_path, database_url):
    from argon2 import extract_parameters

    uid = make_user("alice")  # hashed by the test app's cheap profile
    real = make_app(tmp_path, database_url, PASSWORD_HASH_PROFILE="standard")

    def stored():
        with real.app_context():
            return db.session.get(User, uid).password_hash

    cheap = stored()
    assert extract_parameters(cheap).time_cost == 1
    assert Client(real).login("alice", "wrong-password").status_code == 401
    assert stored() == cheap  # only a correct password is rehashed
    assert Client(real).login("alice").status_code == 302
    rehashed = extract_parameters(stored())
    assert (rehashed.time_cost, rehashed.memory_cost, rehashed.parallelism) == (3, 64 * 1024, 4)
    first = stored()
    assert Client(real).login("alice").status_code == 302
    assert stored() == first  # parameters now match: left alone
    with real.app_context():
        db.session.remove()
        db.engine.dispose()
