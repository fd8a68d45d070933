"""Alembic migrations run on SQLite and PostgreSQL and match the models exactly."""
from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from tests.conftest import make_app
from webapp.extensions import db


def test_upgrade_from_empty_matches_models(tmp_path, database_url):
    app = make_app(tmp_path, database_url)
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        tables = set(sa.inspect(db.engine).get_table_names())
        assert {"users", "roles", "audit_entries", "api_tokens", "projects", "departments"} <= tables
        downgrade(revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
        db.engine.dispose()


def test_demo_runs_on_migrated_database(tmp_path, database_url):
    app = make_app(tmp_path, database_url)
    with app.app_context():
        upgrade()
    r = app.test_cli_runner().invoke(args=["demo", "load", "--if-empty"])
    assert r.exit_code == 0, r.output
    r = app.test_cli_runner().invoke(args=["demo", "load", "--if-empty"])
    assert "not loaded" in r.output
    with app.app_context():
        db.engine.dispose()
