"""Command-line tools and demo data."""
from __future__ import annotations

from sqlalchemy import func, select

from accounts.models import Department, Project, User
from webapp.demo import DEMO_PASSWORD
from webapp.extensions import db

DEMO_LOGINS = ["admin", "controller", "manager", "depthead", "frontline", "custrep", "clerk", "staff"]


def test_users_create_and_token(app):
    runner = app.test_cli_runner()
    r = runner.invoke(args=["users", "create", "dora", "--name", "Dora", "--role", "clerk",
                            "--password", "a-strong-password"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(args=["users", "token", "dora"])
    assert r.exit_code == 0
    token = r.output.strip()
    assert token.startswith("pd_")
    resp = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert resp.json["login"] == "dora" and resp.json["roles"] == ["clerk"]


def test_users_create_rejects_bad_input(app):
    runner = app.test_cli_runner()
    r = runner.invoke(args=["users", "create", "dora", "--name", "D", "--role", "nope", "--password", "a-strong-password"])
    assert r.exit_code != 0 and "roles" in r.output
    r = runner.invoke(args=["users", "token", "ghost"])
    assert r.exit_code != 0


def test_demo_load_is_idempotent_and_logins_work(app, client):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    # Every demo version has its own audit entry and the log is anchored: verify is clean, with no warnings.
    verified = runner.invoke(args=["audit", "verify"])
    assert verified.exit_code == 0 and "warning" not in verified.output, verified.output
    with app.app_context():
        assert sorted(db.session.execute(select(User.login)).scalars()) == sorted(DEMO_LOGINS)
        assert db.session.execute(select(func.count()).select_from(Project)).scalar() == 3
        assert db.session.execute(select(func.count()).select_from(Department)).scalar() >= 4
        cats = dict(db.session.execute(select(User.login, User.participant_category)).all())
        assert cats["manager"] == "management" and cats["depthead"] == "dept_head"
        assert cats["frontline"] == "frontline" and cats["custrep"] == "customer_rep"
    for login in DEMO_LOGINS:
        assert client.login(login, DEMO_PASSWORD).status_code == 302, login
        client.logout()


def test_demo_load_refused_in_production(tmp_path, database_url):
    from tests.conftest import make_app

    app = make_app(tmp_path, database_url, ENV="production")
    r = app.test_cli_runner().invoke(args=["demo", "load"])
    assert r.exit_code != 0 and "production" in r.output
