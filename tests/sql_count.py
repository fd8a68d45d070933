"""Counting the SQL statements sent to an app's database (for N+1 query tests)."""
from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event

from webapp.extensions import db


@contextmanager
def counting_statements(app):
    """``with counting_statements(app) as statements:`` collects every statement the app's engine
    sends to the database inside the block (``before_cursor_execute``). Make the request once
    before counting: account data is read once per process and then kept (accounts.cache)."""
    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)
