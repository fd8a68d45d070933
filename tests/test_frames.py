"""Cached page frames (webapp/frames.py) and the per-request principal (accounts/principal.py).

The procedure pages join a cached frame with per-request values; these tests prove the
joined page is what a full render gives: the right CSRF token and URL, the user's own
navigation and name, escaped titles, flash messages — and that changes to a user reach
their next request.
"""
from __future__ import annotations

import re

import flask
import pytest

from accounts.models import Role, User
from accounts.permissions import USERS_MANAGE
from accounts.principal import Principal
from audit.permissions import AUDIT_READ
from records.permissions import RECORDS_WRITE
from support.caching import LockedLRU
from tests.conftest import Client
from tests.factories_procedures import commit_version
from webapp.extensions import db

PAGE = "/procedures/QP-CS-001"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def _text(r) -> str:
    return r.get_data(as_text=True)


def _frame_cache(app):
    return app.extensions.get("webapp.frames")


@pytest.fixture
def procedure(app):
    commit_version(app, "QP-CS-001", title="客户满意度<控制>程序")
    return "QP-CS-001"


def test_framed_page_matches_a_full_render(app, logged_in, procedure):
    reader = logged_in("reader")
    first = _text(reader.get(PAGE))
    assert len(_frame_cache(app)) >= 1
    second = _text(reader.get(PAGE))  # from the cached frame
    app.jinja_env.auto_reload = True  # frames are bypassed: a plain render
    try:
        plain = _text(reader.get(PAGE))
    finally:
        app.jinja_env.auto_reload = False
    strip = lambda html: re.sub(r'(content|value)="[A-Za-z0-9._-]{40,}"', "TOKEN", html)  # noqa: E731
    assert strip(first) == strip(second) == strip(plain)
    assert "\ue000" not in second and "\ue001" not in second  # no slot marker is left in a page
    assert "<title>QP-CS-001 客户满意度&lt;控制&gt;程序 · " in second  # the title slot is escaped


def test_each_request_gets_its_own_csrf_token_and_url(app, logged_in, procedure):
    reader = logged_in("reader")
    page = _text(reader.get(PAGE + "?x=1"))
    assert 'name="next" value="/procedures/QP-CS-001?x=1"' in page
    page = _text(reader.get(PAGE + "?x=%22%3E%3Cscript%3E"))
    assert "<script>" not in page.split("<main")[0]
    assert 'value="/procedures/QP-CS-001?x=%22%3E%3Cscript%3E"' in page
    token = CSRF_META.search(_text(reader.get(PAGE))).group(1)
    # The token in the cached frame's place is this session's: the logout form works.
    r = reader.post("/logout", {"csrf_token": token})
    assert r.status_code == 302 and reader.get("/").status_code == 302


def test_another_session_never_sees_a_cached_token(app, client, make_user, procedure):
    make_user("alice")
    other = Client(app)
    client.login("alice")
    other.login("alice")
    mine = CSRF_META.search(_text(client.get(PAGE))).group(1)
    theirs = CSRF_META.search(_text(other.get(PAGE))).group(1)
    assert mine != theirs
    assert other.post("/logout", {"csrf_token": mine}).status_code == 400  # not valid in that session
    assert other.post("/logout", {"csrf_token": theirs}).status_code == 302


def test_relogin_gets_a_new_etag_so_the_old_token_is_not_reused(app, client, make_user, procedure):
    """A 304 after logging in again would show the page with the old session's CSRF token."""
    make_user("alice")
    client.login("alice")
    etag = client.get(PAGE).headers["ETag"]
    assert client.get(PAGE, headers={"If-None-Match": etag}).status_code == 304
    client.logout()
    client.login("alice")
    fresh = client.get(PAGE, headers={"If-None-Match": etag})
    assert fresh.status_code == 200 and fresh.headers["ETag"] != etag
    token = CSRF_META.search(_text(fresh)).group(1)
    assert client.post("/logout", {"csrf_token": token}).status_code == 302


def test_frames_follow_permissions_names_and_language(app, client, make_user, procedure):
    make_user("rita", roles=("reader",), display_name="Rita Reader")
    make_user("ada", roles=("admin",), display_name="Ada Admin")
    client.login("rita")
    page = _text(client.get(PAGE))
    assert "Rita Reader" in page and 'data-nav="admin.users"' not in page
    client.logout()
    client.login("ada")
    page = _text(client.get(PAGE))
    assert "Ada Admin" in page and 'data-nav="admin.users"' in page and "Rita" not in page
    english = _text(client.get(PAGE + "?lang=en"))
    assert ">Log out<" in english
    with app.app_context():
        user = db.session.execute(db.select(User).where(User.login == "ada")).scalar_one()
        user.display_name = "Ada Lovelace"
        db.session.commit()
    assert "Ada Lovelace" in _text(client.get(PAGE))  # the next request, no restart


def test_users_with_the_same_permissions_share_a_frame_but_see_their_own_name(app, client, make_user, procedure):
    make_user("bob", display_name="<b>Bob</b>")
    make_user("carol", display_name="Carol")
    client.login("bob")
    assert "&lt;b&gt;Bob&lt;/b&gt;" in _text(client.get(PAGE))
    frames = len(_frame_cache(app))
    client.logout()
    client.login("carol")
    page = _text(client.get(PAGE))
    assert "Carol" in page and "Bob" not in page
    assert len(_frame_cache(app)) == frames  # no new frame for another reader


def test_flash_messages_show_on_framed_pages(app, logged_in, procedure):
    def flashing():  # any view that flashes a message, with markup in it, then sends the reader on
        flask.flash("一条<提示>", "info")
        return flask.redirect(PAGE)

    app.add_url_rule("/test-flash", "test_flash", flashing)  # before the app's first request
    reader = logged_in("reader")
    reader.get(PAGE)
    assert reader.get("/test-flash").status_code == 302
    page = _text(reader.get(PAGE))
    assert "一条&lt;提示&gt;" in page
    assert "一条" not in _text(reader.get(PAGE))  # shown once


def test_a_display_name_cannot_forge_a_slot(app, client, make_user, procedure):
    # Markers carry a per-process secret nonce; a name built like one (any nonce) stays text.
    forged = "\ue000" + "0" * 12 + ":frame_csrf\ue001"
    make_user("mallory", display_name=f"M {forged}")
    client.login("mallory")
    client.get(PAGE)
    page = _text(client.get(PAGE))
    assert f"M {forged}" in page
    assert page.count("\ue000") == page.count("\ue001") == 1  # the name's own, no marker left unfilled


class _RecordingFrames(LockedLRU):
    """The frame cache, noting every frame stored and whose request made it."""

    def __init__(self):
        super().__init__(512, max_cost=16_000_000)
        self.stored: list[tuple[str, tuple]] = []

    def put(self, key, value, cost: int = 1) -> None:
        from flask_login import current_user

        self.stored.append((current_user.login, value))
        super().put(key, value, cost)


def test_cached_frames_hold_nothing_of_the_user_they_were_rendered_for(app, make_user, procedure):
    """Whatever the cache stores is the same for everyone with the same permissions and language: no
    name, login, e-mail, CSRF token or session; the navigation follows the permissions only."""
    commit_version(app, "QP-CS-001", "A/1", summary="第二版")
    frames = app.extensions["webapp.frames"] = _RecordingFrames()
    people = {"alice7": ("Alice Adams", ("reader",), "zh_Hans"), "carol7": ("Carol Chen", ("reader",), "en"),
              "bobby7": ("Bobby Brown", ("admin",), "zh_Hans")}
    private: dict[str, set[str]] = {}
    for login, (name, roles, locale) in people.items():
        make_user(login, roles=roles, display_name=name, locale=locale)
        with app.app_context():
            user = db.session.execute(db.select(User).where(User.login == login)).scalar_one()
            user.email = f"{login}@example.com"
            db.session.commit()
        client = Client(app)
        assert client.login(login).status_code == 302
        seen = {login, name, f"{login}@example.com", client.http.get_cookie("procdesk_session").value}
        for url in (PAGE, f"{PAGE}/history", f"{PAGE}/compare?from=A/0&to=A/1"):
            page = _text(client.get(url))
            assert name in page  # the page itself shows the name: the slot was filled
            seen.add(CSRF_META.search(page).group(1))
        private[login] = seen
    assert {login for login, _parts in frames.stored} == set(people)  # each one made frames of their own
    for login, parts in frames.stored:
        frame = "".join(parts[::2])  # the cached literal text (the slots are names between them)
        for values in private.values():
            for value in values:
                assert value not in frame, f"a frame made for {login} holds {value!r}"
        admin_nav = 'data-nav="admin.users"' in frame
        assert admin_nav == (login == "bobby7"), f"a frame made for {login}: admin navigation {admin_nav}"
    languages = {login: "Log out" in "".join(parts[::2]) for login, parts in frames.stored}
    assert languages == {"alice7": False, "carol7": True, "bobby7": False}


# --------------------------------------------------------------------------
# principal
# --------------------------------------------------------------------------

def test_current_user_is_a_read_only_principal(app, logged_in):
    client = logged_in("clerk")
    with app.test_request_context():
        from accounts.principal import load_principal

        user = db.session.execute(db.select(User).where(User.login == "clerk")).scalar_one()
        principal = load_principal(user.id, user.session_nonce)
        assert isinstance(principal, Principal)
        assert principal.can(RECORDS_WRITE) and principal.has_role("clerk") and not principal.can(USERS_MANAGE)
        assert principal.account is user  # the same ORM object of this session
        assert principal == user
        with pytest.raises(AttributeError):
            principal.display_name = "x"
        assert load_principal(user.id, "wrong-nonce") is None
        assert load_principal(10_000, "x") is None
    assert client.get("/api/v1/me").get_json()["login"] == "clerk"


def test_role_and_permission_changes_reach_the_next_request(app, logged_in):
    client = logged_in("reader")
    assert client.get("/audit/").status_code == 403
    with app.app_context():
        role = db.session.execute(db.select(Role).where(Role.code == "reader")).scalar_one()
        role.permissions = [*role.permissions, AUDIT_READ]
        db.session.commit()
    assert client.get("/audit/").status_code == 200
    with app.app_context():
        user = db.session.execute(db.select(User).where(User.login == "reader")).scalar_one()
        user.active = False
        db.session.commit()
    assert client.get("/audit/").status_code == 302  # logged out at once


def test_user_without_roles_can_log_in_and_sees_only_home(app, client, make_user):
    make_user("nobody", roles=())
    assert client.login("nobody").status_code == 302
    assert client.get("/").status_code == 200
    assert client.get("/procedures/").status_code == 403


def test_project_scope_comes_from_the_principal(app, logged_in, make_project):
    make_project("P1")
    make_project("P2")
    logged_in("clerk", projects=("P1",))
    with app.test_request_context():
        from accounts.principal import load_principal

        user = db.session.execute(db.select(User).where(User.login == "clerk")).scalar_one()
        principal = load_principal(user.id, user.session_nonce)
        assert principal.member_project_ids() == {p.id for p in user.projects}
