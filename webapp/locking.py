"""Optimistic locking for records people edit concurrently (no lost update).

Rows carry a ``version`` counter (SQLAlchemy ``version_id_col``). A form or API call sends
the version it started from; :func:`check_version` refuses a stale one, and
:func:`write_or_conflict` turns the database's own detection of a concurrent write
(``StaleDataError``) into the same :class:`Conflict`.
"""
from __future__ import annotations

from sqlalchemy.orm.exc import StaleDataError

from webapp.exceptions import Conflict, ValidationError
from webapp.extensions import db
from webapp.i18n import _l

MISSING_VERSION = _l("The form is missing its version; reload the page.")


def check_version(obj, submitted, conflict_message, **details) -> None:
    """Raise Conflict when ``submitted`` (the version the user started from) is not ``obj.version``.

    ``None`` means the caller did not take part in locking (e.g. a system step).
    """
    if submitted is None:
        return
    try:
        submitted = int(submitted)
    except (TypeError, ValueError):
        raise ValidationError(MISSING_VERSION) from None
    if submitted != obj.version:
        raise Conflict(conflict_message, current_version=obj.version, **details)


def write_or_conflict(conflict_message, *, commit: bool = False) -> None:
    """Flush (or commit) now; a concurrent update of the same row becomes a Conflict."""
    try:
        db.session.commit() if commit else db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise Conflict(conflict_message) from None
