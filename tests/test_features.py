"""Features declare themselves: the core builds an app from the ``FEATURES`` list and nothing else."""
from __future__ import annotations

import sys
import textwrap
import uuid

import pytest
from sqlalchemy import text

from accounts.permissions import default_roles
from accounts.services import ensure_default_roles
from tests.conftest import Client, close_app, make_app
from webapp import signals
from webapp.config import FEATURES
from webapp.extensions import db

#: What each seeded role may do. Written out so that moving a permission between features cannot
#: silently change what a role grants.
EXPECTED_GRANTS = {
    "admin": {"audit.read", "users.manage", "records.read", "records.write", "records.all_projects",
              "records.void", "records.configure", "procedures.read", "procedures.publish",
              "procedures.ack_report", "reviews.participate", "reviews.manage", "management.review", "actions.manage"},
    "controller": {"procedures.read", "procedures.publish", "procedures.ack_report", "reviews.participate",
                   "reviews.manage", "audit.read"},
    "manager": {"procedures.read", "procedures.ack_report", "reviews.participate", "reviews.manage",
                "records.read", "records.all_projects", "records.void", "records.configure", "audit.read",
                "management.review", "actions.manage"},
    "participant": {"procedures.read", "reviews.participate"},
    "clerk": {"procedures.read", "records.read", "records.write"},
    "reader": {"procedures.read"},
}


@pytest.fixture
def app_with(tmp_path, database_url):
    """``app_with(features, folder=None)``: an app with only those features, disposed of afterwards."""
    built = []

    def factory(features, folder=None):
        app = make_app(folder or tmp_path, database_url, FEATURES=features)
        built.append(app)
        with app.app_context():
            db.create_all()
            ensure_default_roles()
            db.session.commit()
        return app

    yield factory
    for app in built:
        close_app(app)


def _login_admin(app):
    from accounts.services import UserData, create_user

    with app.app_context():
        create_user(UserData(login="boss", display_name="Boss", password="correct horse battery",
                             role_codes=("admin",)))
        db.session.commit()
    client = Client(app)
    assert client.login("boss", "correct horse battery").status_code == 302
    return client


def test_seeded_roles_grant_what_they_always_granted(app):
    assert {code: set(perms) for code, (_zh, _en, perms) in default_roles(app).items()} == EXPECTED_GRANTS


@pytest.fixture
def extra_feature(tmp_path):
    """A feature package written to disk: a blueprint, a nav entry, a permission, a CLI group, a listener."""
    name = f"extra_{uuid.uuid4().hex[:8]}"
    package = tmp_path / "pkgs" / name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(f'''
        from webapp.features import Feature, NavEntry
        from webapp.permissions import Permission

        GADGETS_READ = Permission("gadgets.read", "Read gadgets", roles=("reader",))
        FEATURE = Feature(
            name="{name}",
            blueprints=("{name}.views",),
            cli=("{name}.views:gadgets_cli",),
            nav=(NavEntry("gadgets.index", "Gadgets", GADGETS_READ, "/gadgets", order=60),),
            permissions=(GADGETS_READ,),
            listeners=("{name}.views",),
        )
    '''))
    (package / "views.py").write_text(textwrap.dedent(f'''
        from flask import Blueprint
        from flask.cli import AppGroup

        from webapp import signals
        from webapp.permissions import permission_required
        from {name} import GADGETS_READ

        bp = Blueprint("gadgets", __name__, url_prefix="/gadgets")
        gadgets_cli = AppGroup("gadgets")
        heard = []

        @bp.get("/")
        @permission_required(GADGETS_READ)
        def index():
            return "gadgets here"

        @signals.review_requested.connect
        def note(sender, **extra):
            heard.append((sender, extra["procedure_code"]))
    '''))
    sys.path.insert(0, str(package.parent))
    yield name
    sys.path.remove(str(package.parent))
    for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[module]


def test_a_new_feature_is_one_package_and_one_line(app_with, extra_feature):
    app = app_with((*FEATURES, extra_feature))
    client = _login_admin(app)

    home = client.get("/").get_data(as_text=True)
    assert 'data-nav="gadgets.index"' in home
    assert client.get("/gadgets/").get_data(as_text=True) == "gadgets here"
    assert "gadgets.read" in default_roles(app)["reader"][2]
    assert "gadgets" in app.cli.commands
    assert "gadgets.read" in client.get("/admin/roles/new").get_data(as_text=True)

    heard = sys.modules[f"{extra_feature}.views"].heard
    signals.review_requested.send("QP-1", procedure_code="QP-1", reason="", source_type="test", source_id=1,
                                  actor=None)
    assert heard == [("QP-1", "QP-1")]


def test_the_core_runs_without_the_record_features(app_with):
    app = app_with(("audit", "accounts", "api", "records", "procedures"))
    client = _login_admin(app)

    home = client.get("/").get_data(as_text=True)
    assert 'data-nav="procedures.index"' in home
    assert 'data-nav="satisfaction.index"' not in home and 'data-nav="actions.index"' not in home
    assert client.get("/procedures/").status_code == 200
    assert client.get("/satisfaction/").status_code == 404
    paths = client.api("GET", "/api/v1/openapi.json").json["paths"]
    assert "/procedures" in paths
    assert not any(p.startswith(("/complaints", "/surveys", "/actions")) for p in paths)


def test_each_app_has_its_own_api_document(tmp_path, app_with, app):
    small = app_with(("audit", "accounts", "api"), tmp_path / "small")
    with small.test_request_context("/"):
        from api.openapi import document

        assert set(document()["paths"]) == {"/me", "/openapi.json"}
    with app.test_request_context("/"):
        assert len(document()["paths"]) > 10


def test_sqlite_connections_get_the_pragmas(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite only")
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_a_package_must_declare_its_own_name(tmp_path, extra_feature):
    from webapp.features import load

    sys.modules.pop(extra_feature, None)
    init = tmp_path / "pkgs" / extra_feature / "__init__.py"
    init.write_text(init.read_text().replace(f'name="{extra_feature}"', 'name="someone_else"'))
    with pytest.raises(RuntimeError, match="declares feature 'someone_else'"):
        load([extra_feature])


def test_action_sources_belong_to_the_app_that_has_the_feature(app, app_with):
    from actions.sources import source_for

    without = app_with(("audit", "accounts", "api", "records", "procedures", "actions"))
    with without.app_context():
        assert source_for("complaint") is None
        client = _login_admin(without)
        assert client.get("/actions/").status_code == 200
    with app.app_context():
        assert source_for("complaint").model.__name__ == "Complaint"
