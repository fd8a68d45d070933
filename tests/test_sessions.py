"""Sessions end server-side (issue 8, item 9): logout, a password change and disabling end every session
and remember-me cookie of the user, in every worker; remember-me cookies are unique per login, short-lived
(REMEMBER_DAYS) and SameSite=Lax. Everything goes through the real login form with real cookies."""
from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
from flask_login.config import COOKIE_NAME as REMEMBER

from accounts.models import User
from tests.conftest import PASSWORD, Client, make_app
from webapp.extensions import db


def _login(client: Client, login="alice", *, remember=False):
    client.get("/login")
    data = {"login": login, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    r = client.post("/login", data)
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    client.get("/")  # this session's CSRF token, for the posts that follow
    return r


def _cookie(client: Client, name: str) -> str | None:
    cookie = client.http.get_cookie(name)
    return cookie.value if cookie is not None else None


def _replay(app, **cookies) -> Client:
    """A fresh browser (an attacker's) holding only the given cookies."""
    thief = Client(app)
    for name, value in cookies.items():
        thief.http.set_cookie(name, value)
    return thief


def _session(app, client):
    return _cookie(client, app.config["SESSION_COOKIE_NAME"])


def _set_cookie_header(response, name):
    found = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "=")]
    assert len(found) == 1, response.headers.getlist("Set-Cookie")
    return found[0]


def _logged_in(client: Client) -> bool:
    r = client.get("/profile")
    assert r.status_code in (200, 302)
    return r.status_code == 200


# --- logout -----------------------------------------------------------------------------------

def test_a_session_cookie_captured_before_logout_is_dead_after_it(app, client, make_user):
    make_user("alice")
    _login(client)
    stolen = _session(app, client)
    assert _logged_in(_replay(app, **{app.config["SESSION_COOKIE_NAME"]: stolen}))  # the theft works before
    assert client.logout().status_code == 302
    thief = _replay(app, **{app.config["SESSION_COOKIE_NAME"]: stolen})
    r = thief.get("/profile")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    r = thief.api("GET", "/api/v1/me")
    assert r.status_code == 401 and r.json["error"] == "unauthorized"


def test_a_remember_cookie_captured_before_logout_no_longer_logs_in(app, client, make_user):
    make_user("alice")
    _login(client, remember=True)
    stolen = _cookie(client, REMEMBER)
    assert stolen
    assert _logged_in(_replay(app, **{REMEMBER: stolen}))  # remember-me alone logs in before the logout
    r = client.logout()
    assert "01 Jan 1970" in _set_cookie_header(r, REMEMBER)  # the browser is told to drop it too
    assert _cookie(client, REMEMBER) is None
    assert not _logged_in(client)
    thief = _replay(app, **{REMEMBER: stolen})
    assert not _logged_in(thief)
    assert thief.api("GET", "/api/v1/me").status_code == 401


def test_logout_ends_the_users_sessions_on_every_device(app, client, make_user):
    make_user("alice")
    make_user("bob")
    laptop, phone, bob = Client(app), Client(app), Client(app)
    _login(laptop)
    _login(phone, remember=True)
    _login(bob, "bob")
    assert _logged_in(phone)
    laptop.logout()
    assert "您已在所有设备上退出登录" in laptop.get("/login").get_data(as_text=True)
    assert not _logged_in(phone)
    assert _logged_in(bob)  # other users are not touched
    _login(laptop)  # and logging in again works
    assert _logged_in(laptop)


def test_logout_in_one_worker_ends_the_session_in_another(app, second_app, make_user):
    from tests.sql_count import counting_statements

    make_user("alice")
    worker_a = Client(app)
    _login(worker_a)
    worker_b = _replay(second_app, **{app.config["SESSION_COOKIE_NAME"]: _session(app, worker_a)})
    assert worker_b.get("/procedures/").status_code == 200  # worker B now holds a copy of alice
    with counting_statements(second_app) as statements:
        assert worker_b.get("/procedures/").status_code == 200
    # A warm page read still reads no account data from the database: the nonce check uses the copy.
    assert not [s for s in statements if "users" in s or "roles" in s], statements
    assert worker_a.logout().status_code == 302
    r = worker_b.get("/procedures/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


# --- remember-me cookie -----------------------------------------------------------------------

def test_two_logins_give_different_cookies(app, make_user):
    make_user("alice")
    first, second = Client(app), Client(app)
    _login(first, remember=True)
    _login(second, remember=True)
    assert _cookie(first, REMEMBER) != _cookie(second, REMEMBER)
    assert _session(app, first) != _session(app, second)
    assert _logged_in(first) and _logged_in(second)  # logging in does not end the other login


def test_remember_cookie_attributes(app, make_user):
    make_user("alice")
    client = Client(app)
    client.get("/login")
    r = client.post("/login", {"login": "alice", "password": PASSWORD, "remember": "y"})
    header = _set_cookie_header(r, REMEMBER)
    attrs = {part.strip().split("=")[0].lower(): part.strip() for part in header.split(";")}
    assert attrs["samesite"] == "SameSite=Lax"
    assert "httponly" in attrs
    assert "secure" not in attrs  # not in testing; see the production test below
    expires = parsedate_to_datetime(attrs["expires"].split("=", 1)[1])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=14))) < timedelta(minutes=5)


def test_remember_cookie_is_secure_in_production_and_its_duration_a_setting(tmp_path, database_url):
    prod = make_app(tmp_path, database_url, ENV="production", REMEMBER_DAYS=3)
    try:
        with prod.app_context():
            db.create_all()
            from accounts.services import UserData, create_user, ensure_default_roles

            ensure_default_roles()
            create_user(UserData(login="alice", display_name="Alice", password=PASSWORD, role_codes=("reader",)))
        assert prod.config["REMEMBER_COOKIE_SECURE"] is True
        client = Client(prod)
        client.get("/login", base_url="https://localhost")
        r = client.post("/login", {"login": "alice", "password": PASSWORD, "remember": "y"},
                        base_url="https://localhost", headers={"Referer": "https://localhost/login"})
        assert r.status_code == 302
        header = _set_cookie_header(r, REMEMBER)
        assert "Secure" in header and "SameSite=Lax" in header
        expires = parsedate_to_datetime(header.split("Expires=", 1)[1].split(";")[0])
        assert abs(expires - (datetime.now(UTC) + timedelta(days=3))) < timedelta(minutes=5)
    finally:
        with prod.app_context():
            db.session.remove()
            db.engine.dispose()


def test_a_remembered_login_ends_after_remember_days_even_if_the_cookie_is_kept(app, client, make_user,
                                                                                  monkeypatch):
    import accounts.principal as principal

    make_user("alice")
    _login(client, remember=True)
    kept = _cookie(client, REMEMBER)
    assert _logged_in(_replay(app, **{REMEMBER: kept}))

    class Later:
        @staticmethod
        def time():
            return time.time() + 14 * 86400 + 60

    monkeypatch.setattr(principal, "time", Later)  # 14 days and a minute later, on the server's clock
    assert not _logged_in(_replay(app, **{REMEMBER: kept}))


def test_login_ids_of_the_old_format_or_malformed_are_refused(app, make_user):
    from accounts.principal import new_login_id, principal_for_login_id

    uid = make_user("alice")
    with app.test_request_context():
        user = db.session.get(User, uid)
        day = timedelta(days=1)
        assert principal_for_login_id(new_login_id(uid, user.session_nonce), day).login == "alice"
        for bad in (f"{uid}.{user.session_nonce}",  # before issue 8: no issue time, no random part
                    f"{uid}.wrong-nonce.{int(time.time())}.abc", f"x.{user.session_nonce}.1.a", "", "9" * 5000,
                    f"{uid}.{user.session_nonce}.{'9' * 300}.a"):
            assert principal_for_login_id(bad, day) is None, bad


# --- password change and disabling ----------------------------------------------------------------

def test_password_change_ends_other_sessions_and_remember_cookies_but_keeps_this_one(app, make_user):
    make_user("alice")
    here, other = Client(app), Client(app)
    _login(here, remember=True)
    _login(other, remember=True)
    other_remember = _cookie(other, REMEMBER)
    old_here_remember = _cookie(here, REMEMBER)
    here.get("/profile")
    r = here.post("/profile/password", {"pw-current_password": PASSWORD, "pw-new_password": "a-new-password-1"})
    assert r.status_code == 302
    assert _logged_in(here)
    assert not _logged_in(other)
    assert not _logged_in(_replay(app, **{REMEMBER: other_remember}))
    assert not _logged_in(_replay(app, **{REMEMBER: old_here_remember}))
    new_here_remember = _cookie(here, REMEMBER)
    assert new_here_remember != old_here_remember  # this device stays remembered, with a new cookie
    assert _logged_in(_replay(app, **{REMEMBER: new_here_remember}))


def test_disabling_ends_sessions_and_remember_cookies(app, make_user, logged_in):
    uid = make_user("alice")
    alice = Client(app)
    _login(alice, remember=True)
    remember = _cookie(alice, REMEMBER)
    admin = logged_in("admin")
    admin.get("/admin/users")
    r = admin.post(f"/admin/users/{uid}", {"login": "alice", "display_name": "Alice", "roles": ["reader"],
                                           "department": "", "participant_category": "", "locale": ""})
    assert r.status_code == 302  # "active" unchecked
    assert not _logged_in(alice)
    assert not _logged_in(_replay(app, **{REMEMBER: remember}))
    with app.app_context():
        assert db.session.get(User, uid).active is False


# --- settings -----------------------------------------------------------------------------------

def test_session_settings_from_the_environment():
    from webapp.config import finalise, from_environment

    found = from_environment({"REMEMBER_DAYS": "7", "PROXY_FIX": "1", "LOGIN_ADDRESS_MAX_FAILURES": "30",
                              "LOGIN_DELAY_SECONDS": "3", "LOGIN_MEMORY_SECONDS": "3600"})
    assert found == {"REMEMBER_DAYS": 7, "PROXY_FIX": 1, "LOGIN_ADDRESS_MAX_FAILURES": 30, "LOGIN_DELAY_SECONDS": 3,
                     "LOGIN_MEMORY_SECONDS": 3600}
    config = {"DATABASE_URL": "sqlite://", "SECRET_KEY": "k", "ENV": "production", "DEFAULT_LOCALE": "zh_Hans",
              "TIMEZONE": "Asia/Shanghai", "PROXY_FIX": 0, **found}
    finalise(config, "/nonexistent")
    assert config["REMEMBER_COOKIE_DURATION"] == timedelta(days=7)
    assert config["REMEMBER_COOKIE_SECURE"] is True
    for bad in ({"REMEMBER_DAYS": 0}, {"PROXY_FIX": -1}):
        with pytest.raises(ValueError):
            finalise({**config, **bad}, "/nonexistent")
