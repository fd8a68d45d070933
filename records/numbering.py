"""Running numbers that stay unique when two workers save at the same moment (TS-…-0017, R-2026-014)."""
from __future__ import annotations

from sqlalchemy import insert, update

from webapp.extensions import db


def next_value(model, scope: str, count: int = 1) -> int:
    """The next value of the counter ``scope`` in ``model`` (a table with ``scope`` and ``last_value``).

    The counter row is created if missing (ignoring a concurrent creation), then incremented with one
    ``UPDATE … RETURNING``, which holds the row lock until the caller's transaction ends. With ``count``
    the counter moves on by that many at once and the last of them is returned: the caller's numbers are
    ``last - count + 1`` … ``last`` (a block for a bulk insert).
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        dialect_insert = None
    if dialect_insert is not None:
        db.session.execute(dialect_insert(model).values(scope=scope, last_value=0)
                           .on_conflict_do_nothing(index_elements=["scope"]))
    elif db.session.get(model, scope) is None:  # pragma: no cover
        db.session.execute(insert(model).values(scope=scope, last_value=0))
    return db.session.execute(
        update(model).where(model.scope == scope).values(last_value=model.last_value + count).returning(model.last_value),
        execution_options={"synchronize_session": False},
    ).scalar_one()
