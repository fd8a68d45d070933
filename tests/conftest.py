"""Test fixtures: every test builds its own app, git store and database.

The database is a fresh SQLite file, or — when ``TEST_DATABASE_URL`` names a PostgreSQL
server — a fresh schema in it, dropped afterwards, so parallel runs never see each
other's rows. Users log in through the real login form with real CSRF tokens. Every answer to
``/api/v1/...`` a test client gets must be declared by the OpenAPI document (tests/openapi_check.py).
"""
from __future__ import annotations

import contextlib
import os
import re
import uuid

import jinja2
import pytest
import sqlalchemy as sa

from tests.openapi_check import CheckedClient
from webapp import create_app
from webapp.extensions import db
from webapp.store import get_store

PASSWORD = "correct-horse-9"
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"|name="csrf_token" type="hidden" value="([^"]+)"')


def pytest_configure(config):
    from webapp.i18n_tool import compile_all

    compile_all()  # the .mo files are build products, not in git


@contextlib.contextmanager
def fresh_database(tmp_path):
    """(url, engine options) of a database no other test uses: SQLite file, or a throwaway PostgreSQL schema."""
    if not TEST_DATABASE_URL:
        yield f"sqlite:///{tmp_path / 'test.db'}", {}
        return
    from webapp.config import normalise_database_url

    url = normalise_database_url(TEST_DATABASE_URL)
    schema = "t_" + uuid.uuid4().hex[:16]
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield url, {"connect_args": {"options": f"-csearch_path={schema}"}, "pool_pre_ping": True}
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def database_url(tmp_path):
    """A database of this test's own (see :func:`fresh_database`)."""
    with fresh_database(tmp_path) as found:
        yield found


def make_app(tmp_path, database_url, **overrides):
    url, engine_options = database_url
    config = {
        "TESTING": True,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
        "REPO_STORE_PATH": str(tmp_path / "store.git"),
        "SECRET_KEY": "test-secret",
        "ENV": "testing",
    }
    config.update(overrides)
    app = create_app(config)
    app.test_client_class = CheckedClient  # every API answer a test sees is checked against the OpenAPI document
    app.jinja_env.bytecode_cache = _COMPILED_TEMPLATES
    return app


class _SharedBytecode(jinja2.BytecodeCache):
    """Compiled templates kept for every test app of the process: each new app would otherwise compile
    every page it renders again (~0.1 s a test). Jinja checks the source's checksum, so edits still show."""

    def __init__(self):
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket):
        self.compiled[bucket.key] = bucket.bytecode_to_string()


_COMPILED_TEMPLATES = _SharedBytecode()


def _share_url_builders() -> None:
    """Compiled URL builders kept for every test app of the process, like the templates above.

    Werkzeug generates and compiles two Python functions per URL rule for every new app (about 60 ms of
    the 85 ms a test app takes to build, ~900 times a run). Their code depends only on the rule's parsed
    form (``_trace``), its defaults and ``append_unknown``; the function is bound to each rule afterwards,
    so rules of different apps can share it.
    """
    from werkzeug.routing.rules import Rule

    compile_builder = Rule._compile_builder
    compiled: dict = {}

    def shared(self, append_unknown=True):
        defaults = tuple(sorted((k, type(self._converters.get(k)).__name__, repr(v))
                                for k, v in (self.defaults or {}).items()))
        key = (tuple(self._trace), defaults, append_unknown)
        if key not in compiled:
            compiled[key] = compile_builder(self, append_unknown)
        return compiled[key]

    Rule._compile_builder = shared


_share_url_builders()


def built_app(tmp_path, database_url, **overrides):
    """A test app whose tables and default roles are created here."""
    app = make_app(tmp_path, database_url, **overrides)
    with app.app_context():
        db.create_all()
        from accounts.services import ensure_default_roles

        ensure_default_roles()
        db.session.commit()
    return app


def close_app(app) -> None:
    """Close what a test app holds open: database connections and the store's git helper processes
    (left to the garbage collector, they end with ResourceWarnings in whichever test runs then)."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
        get_store().close()


@pytest.fixture(scope="session")
def schema_template(tmp_path_factory):
    """An SQLite database with every table and the default roles, made once per worker: each test's
    app starts from its own copy (:func:`app_on_copy`). None on PostgreSQL."""
    if TEST_DATABASE_URL:
        return None
    root = tmp_path_factory.mktemp("schema_template")
    close_app(built_app(root, (f"sqlite:///{root / 'test.db'}", {})))
    return root / "test.db"


def copy_database(source, tmp_path) -> None:
    """``tmp_path``'s own database (test.db, where :func:`fresh_database` puts it) as a copy of ``source``;
    the backup API copies a consistent database whatever its journal (WAL) holds."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(source)) as src, \
            contextlib.closing(sqlite3.connect(tmp_path / "test.db")) as target:
        src.backup(target)


def app_on_copy(tmp_path, database_url, schema_template):
    """The test's app on its own database: a copy of the schema template, or (PostgreSQL) tables made here."""
    if schema_template is None:
        return built_app(tmp_path, database_url)
    copy_database(schema_template, tmp_path)
    return make_app(tmp_path, database_url)


@pytest.fixture
def app(tmp_path, database_url, schema_template):
    app = app_on_copy(tmp_path, database_url, schema_template)
    yield app
    close_app(app)


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory):
    """A folder holding what ``flask demo load`` makes — database, git store and instance folder (the
    audit key that seals the log) — loaded once per worker, for :func:`copy_demo`. None on PostgreSQL,
    where each test loads the demo itself."""
    if TEST_DATABASE_URL:
        return None
    root = tmp_path_factory.mktemp("demo_template")
    app = built_app(root, (f"sqlite:///{root / 'test.db'}", {}))
    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    close_app(app)
    return root


def copy_demo(template, tmp_path) -> bool:
    """Give ``tmp_path`` its own copy of the demo database, git store and instance folder (taken before
    the test's app is built on them); False when there is no template (PostgreSQL)."""
    if template is None:
        return False
    import shutil

    for folder in ("instance", "store.git"):
        shutil.copytree(template / folder, tmp_path / folder, symlinks=True)
    copy_database(template / "test.db", tmp_path)
    return True


@pytest.fixture
def second_app(app, tmp_path, database_url):
    """Another worker (or host): same database, same git store, its own per-process copies."""
    other = make_app(tmp_path, database_url)
    yield other
    close_app(other)


class Client:
    """A test client that logs in through the form and sends CSRF tokens like a browser."""

    def __init__(self, app):
        self.app = app
        self.http = app.test_client()
        self.csrf = None

    def _remember_csrf(self, response):
        if response.mimetype == "text/html":
            m = CSRF_RE.search(response.get_data(as_text=True))
            if m:
                self.csrf = m.group(1) or m.group(2)
        return response

    def get(self, url, **kw):
        return self._remember_csrf(self.http.get(url, **kw))

    def post(self, url, data=None, *, csrf=True, **kw):
        data = dict(data or {})
        if csrf and "csrf_token" not in data:
            if self.csrf is None:
                self.get("/login" if not self.logged_in else "/")
            data["csrf_token"] = self.csrf
        return self._remember_csrf(self.http.post(url, data=data, **kw))

    def api(self, method, url, *, json=None, token=None, csrf=True, **kw):
        headers = kw.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        elif csrf and method.upper() not in ("GET", "HEAD"):
            if self.csrf is None:
                self.get("/")
            headers["X-CSRFToken"] = self.csrf
        return self.http.open(url, method=method.upper(), json=json, headers=headers, **kw)

    @property
    def logged_in(self):
        return self.http.get_cookie(self.app.config["SESSION_COOKIE_NAME"]) is not None and self.csrf is not None

    def login(self, login, password=PASSWORD, follow=False):
        self.get("/login")
        return self.post("/login", {"login": login, "password": password}, follow_redirects=follow)

    def logout(self):
        return self.post("/logout")


@pytest.fixture
def client(app):
    return Client(app)


@pytest.fixture
def make_user(app):
    """Factory: ``make_user("alice", roles=("clerk",), projects=("P1",))`` → User (committed)."""
    from accounts.services import UserData, create_user

    def factory(login, *, roles=("reader",), projects=(), category=None, department=None, password=PASSWORD,
                display_name=None, locale=None):
        with app.app_context():
            user = create_user(UserData(login=login, display_name=display_name or login.title(), password=password,
                                        role_codes=tuple(roles), project_codes=tuple(projects),
                                        participant_category=category, department_code=department, locale=locale))
            return user.id

    return factory


@pytest.fixture
def make_project(app):
    from accounts.models import Project
    from accounts.services import save_reference

    def factory(code, *, households=500, name=None):
        with app.app_context():
            return save_reference(Project, None, {"code": code, "name": name or f"项目{code}", "name_en": code,
                                                  "address": "", "households": households, "active": True}).id

    return factory


@pytest.fixture
def make_department(app):
    from accounts.models import Department
    from accounts.services import save_reference

    def factory(code, name=None):
        with app.app_context():
            return save_reference(Department, None, {"code": code, "name": name or f"部门{code}",
                                                     "name_en": code, "active": True}).id

    return factory


@pytest.fixture
def logged_in(client, make_user):
    """``logged_in("clerk")`` creates a user with that role (same login) and logs the client in."""

    def factory(role="reader", login=None, **kw):
        login = login or role
        make_user(login, roles=(role,), **kw)
        response = client.login(login)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        client.get("/")
        return client

    return factory
