"""Factory, configuration, health, headers and the global login requirement."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import make_app
from webapp import create_app
from webapp.config import from_environment, normalise_database_url


def test_defaults_use_sqlite_and_store_under_instance(tmp_path, monkeypatch):
    for key in ("DATABASE_URL", "REPO_STORE_PATH", "SECRET_KEY", "DEFAULT_LOCALE", "ENV"):
        monkeypatch.delenv(key, raising=False)
    app = create_app({"INSTANCE_PATH": str(tmp_path / "inst")})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'inst' / 'procdesk.db'}"
    assert app.config["REPO_STORE_PATH"] == str(tmp_path / "inst" / "store.git")
    assert (tmp_path / "inst" / "store.git" / "HEAD").exists()  # a bare repository
    assert app.config["DEFAULT_LOCALE"] == "zh_Hans"
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SECURE"] is False  # development over plain http


def test_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = create_app({"INSTANCE_PATH": str(tmp_path)}).config["SECRET_KEY"]
    second = create_app({"INSTANCE_PATH": str(tmp_path)}).config["SECRET_KEY"]
    assert first == second and len(first) == 64
    assert oct((tmp_path / "secret_key").stat().st_mode)[-3:] == "600"


def test_environment_overrides_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db/x")
    monkeypatch.setenv("REPO_STORE_PATH", str(tmp_path / "shared.git"))
    monkeypatch.setenv("DEFAULT_LOCALE", "en")
    monkeypatch.setenv("SECRET_KEY", "from-env")
    monkeypatch.setenv("ENV", "production")
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db/x"
    assert app.config["REPO_STORE_PATH"] == str(tmp_path / "shared.git")
    assert app.config["DEFAULT_LOCALE"] == "en"
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["SESSION_COOKIE_SECURE"] is True  # production cookies are Secure


def test_instance_config_file_is_read(tmp_path, monkeypatch):
    monkeypatch.delenv("TIMEZONE", raising=False)
    (tmp_path / "config.py").write_text('TIMEZONE = "Asia/Hong_Kong"\n')
    assert create_app({"INSTANCE_PATH": str(tmp_path)}).config["TIMEZONE"] == "Asia/Hong_Kong"


def test_environment_parsing():
    found = from_environment({"LOGIN_MAX_FAILURES": "3", "SESSION_COOKIE_SECURE": "yes", "OTHER": "x"})
    assert found == {"LOGIN_MAX_FAILURES": 3, "SESSION_COOKIE_SECURE": True}
    assert normalise_database_url("postgres://a/b") == "postgresql+psycopg://a/b"
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_importing_modules_builds_no_app():
    code = ("import flask, webapp, accounts.views, procedures, repo_store, audit.service, api;"
            "print(len(flask.Flask.__subclasses__()), flask.current_app.__bool__() if False else 'ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "ok" in out.stdout


def test_healthz_reports_database_and_store(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json == {"status": "ok", "database": "ok", "store": "ok"}


def test_healthz_degraded_when_store_missing(app, client):
    import shutil

    shutil.rmtree(app.config["REPO_STORE_PATH"])
    r = client.get("/healthz")
    assert r.status_code == 503 and r.json["store"] == "unreachable"


def test_security_headers(client):
    r = client.get("/login")
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_pages_have_no_inline_script(logged_in):
    client = logged_in("admin")
    for url in ("/", "/admin/users", "/audit/", "/profile"):
        html = client.get(url).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url
        assert " onclick=" not in html and " onsubmit=" not in html


PUBLIC = {"accounts.login", "static", "core.healthz", "core.favicon"}


def _sample_url(rule):
    values = {}
    for arg in rule.arguments:
        conv = rule._converters[arg]
        name = type(conv).__name__
        if name == "IntegerConverter":
            values[arg] = 1
        elif name == "AnyConverter":
            values[arg] = next(iter(conv.items)) if hasattr(conv, "items") else "x"
        else:
            values[arg] = "QP-CS-001" if "code" in arg else "x"
    return rule.build(values, append_unknown=False)[1]


def test_every_route_requires_login(app):
    """Walk the URL map: everything except login, static and health sends anonymous users away."""
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC:
            continue
        url = _sample_url(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            r = client.open(url, method=method)
            if url.startswith("/api/"):
                assert r.status_code == 401, (method, url, r.status_code)
                assert r.json["error"] == "unauthorized"
            elif method == "GET":
                assert r.status_code == 302 and "/login" in r.headers["Location"], (method, url, r.status_code)
            else:
                # With a valid CSRF token, so only the login requirement can send it away.
                r = client.open(url, method=method, data={"csrf_token": token})
                assert r.status_code == 302 and "/login" in r.headers["Location"], (method, url, r.status_code)
            checked += 1
    assert checked >= 15


def test_login_redirect_keeps_target_but_never_leaves_the_site(client, make_user):
    make_user("alice")
    r = client.get("/audit/?page=2")
    assert r.status_code == 302 and "next=" in r.headers["Location"]
    for evil in ("https://evil.example/x", "//evil.example", "/\\evil.example", "javascript:alert(1)"):
        client.get("/login")
        r = client.post("/login?next=" + evil, {"login": "alice", "password": "correct-horse-9"})
        assert r.status_code == 302 and r.headers["Location"] == "/", evil
        client.logout()
    client.get("/login")
    r = client.post("/login?next=/profile", {"login": "alice", "password": "correct-horse-9"})
    assert r.headers["Location"] == "/profile"


def test_csrf_is_required_for_form_posts(client, make_user):
    make_user("alice")
    r = client.post("/login", {"login": "alice", "password": "correct-horse-9"}, csrf=False)
    assert r.status_code == 400
    assert "CSRF" in r.get_data(as_text=True)
    client.login("alice")
    r = client.post("/logout", {"csrf_token": "forged"})
    assert r.status_code == 400
    assert client.get("/").status_code == 200  # still logged in


@pytest.mark.parametrize("status,url", [(404, "/no-such-page")])
def test_error_pages_are_translated(logged_in, status, url):
    client = logged_in("reader")
    r = client.get(url)
    assert r.status_code == status
    assert "不存在" in r.get_data(as_text=True)
    r = client.get(url + "?lang=en")
    assert "does not exist" in r.get_data(as_text=True)


def test_unexpected_errors_give_a_translated_500(tmp_path, database_url):
    from accounts.services import UserData, create_user, ensure_default_roles
    from tests.conftest import PASSWORD, Client
    from webapp.extensions import db

    app = make_app(tmp_path, database_url, TESTING=False)

    @app.get("/boom")
    def boom():
        raise RuntimeError("kaboom")

    with app.app_context():
        db.create_all()
        ensure_default_roles()
        create_user(UserData(login="alice", display_name="A", password=PASSWORD, role_codes=("reader",)))
    client = Client(app)
    client.login("alice")
    r = client.get("/boom")
    assert r.status_code == 500
    body = r.get_data(as_text=True)
    assert "kaboom" not in body and "意外错误" in body
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


# Pages every logged-in user may use on themselves; everything else declares a permission.
SELF_SERVICE = {"static", "core.home", "core.healthz", "core.favicon", "accounts.set_language", "accounts.login", "accounts.logout",
                "accounts.profile", "accounts.change_password", "accounts.create_token", "accounts.revoke_token",
                "api.openapi", "api.me", "notifications.index", "notifications.mark_read", "notifications.follow"}


def test_every_other_view_declares_a_permission(app):
    undeclared = {rule.endpoint for rule in app.url_map.iter_rules()
                  if not getattr(app.view_functions[rule.endpoint], "required_permission", None)}
    assert undeclared == SELF_SERVICE


@pytest.mark.parametrize("url", ["/audit/?page=99999999999999999999", "/audit/?to=9999-12-31&from=0001-01-01",
                                 "/audit/?page=2&_external=1&_anchor=x"])
def test_out_of_range_query_values_are_not_errors(logged_in, url):
    client = logged_in("admin")
    r = client.get(url)
    assert r.status_code == 200
    links = re.findall(r'href="([^"]*)"', r.get_data(as_text=True))
    assert not [link for link in links if "_anchor" in link or link.startswith("http")]


def test_out_of_range_ids_give_a_4xx(logged_in):
    client = logged_in("admin")
    r = client.get("/admin/users/99999999999999999999")
    assert 400 <= r.status_code < 500
