"""The inbox: tell users something, count what they have not read, list it, mark it read.

Other features call :func:`notify` inside their own transaction (it never commits): the
notifications land with the change that caused them, or not at all. The e-mail copies go
out after that transaction commits (:mod:`notifications.mail`), so a rolled-back change
mails nobody.
"""
from __future__ import annotations

from collections.abc import Iterable

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from notifications import mail
from notifications.models import Notification
from webapp.db import utcnow
from webapp.exceptions import NotFound
from webapp.extensions import db
from webapp.i18n import _l
from webapp.pagination import MAX_PAGE, Page
from webapp.security import safe_next_url

PER_PAGE = 30
_table = Notification.__table__
_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def is_local_path(url: str) -> bool:
    """True for a path of this site (``/…``), never for another host (``//host``, ``https://…``)."""
    return bool(url) and safe_next_url(url, "") == url


def notify(users: Iterable, *, kind: str, subject, body, url: str, dedupe_key: str | None = None) -> int:
    """Put a notification in the inbox of each active user of ``users``; returns how many were added.

    Adds to ``db.session`` in the caller's transaction and does not commit. ``subject`` and
    ``body`` are text, or lazy strings (``_l``) that are then rendered in each recipient's
    language. ``url`` must be a path of this site (``/reviews/12``); ``ValueError`` otherwise.
    With a ``dedupe_key``, a user who already has a notification with that key gets no second
    one — also when two processes notify at the same moment (``INSERT … ON CONFLICT DO
    NOTHING`` on the unique (user, key)). The e-mail copies are sent after the commit.
    """
    if not is_local_path(url) or len(url) > _table.c.url.type.length:
        raise ValueError(f"notification url must be a local path of at most 500 characters: {url!r}")
    default_locale = current_app.config["DEFAULT_LOCALE"]
    now = utcnow()
    rows, seen = [], set()
    for user in users:
        if user.id is None:
            db.session.flush()  # a user created in this transaction
        if user.id in seen or not user.active:
            continue
        seen.add(user.id)
        with force_locale(user.locale or default_locale):
            rows.append({"user_id": user.id, "kind": kind, "url": url, "created_at": now, "dedupe_key": dedupe_key,
                         # One line (a mail header), clipped to the column.
                         "subject": " ".join(str(subject).split())[:_table.c.subject.type.length],
                         "body": str(body)})
    if not rows:
        return 0
    insert = _INSERTS[db.session.get_bind().dialect.name](_table).values(rows)
    stmt = insert.on_conflict_do_nothing(index_elements=["user_id", "dedupe_key"]).returning(_table.c.id)
    added = list(db.session.execute(stmt).scalars())
    mail.send_after_commit(db.session, added)
    return len(added)


def unread_count(user) -> int:
    """How many notifications ``user`` has not read (one indexed COUNT)."""
    return db.session.execute(select(func.count()).select_from(_table)
                              .where(_table.c.user_id == user.id, _table.c.read_at.is_(None))).scalar_one()


def inbox(user, *, unread_only: bool = False, page: int = 1, per_page: int = PER_PAGE) -> Page:
    """Page ``page`` of ``user``'s notifications: unread first, newest first within each."""
    number = min(max(1, page), MAX_PAGE)
    stmt = select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    stmt = (stmt.order_by(Notification.read_at.is_not(None), Notification.id.desc())
            .limit(per_page + 1).offset((number - 1) * per_page))
    rows = list(db.session.execute(stmt).scalars())
    return Page(rows[:per_page], number, per_page, len(rows) > per_page)


def mark_read(user, ids) -> int:
    """Mark ``user``'s notifications ``ids`` (or ``"all"``) read and commit; returns how many changed.
    Ids of other users' notifications are ignored."""
    stmt = update(_table).where(_table.c.user_id == user.id, _table.c.read_at.is_(None))
    if ids != "all":
        ids = {int(i) for i in ids}
        if not ids:
            return 0
        stmt = stmt.where(_table.c.id.in_(ids))
    changed = db.session.execute(stmt.values(read_at=utcnow())).rowcount
    db.session.commit()
    return changed


def open_notification(user, notification_id: int) -> str:
    """Mark one of ``user``'s notifications read (commits) and return the path it points to."""
    found = db.session.execute(select(Notification).where(Notification.id == notification_id,
                                                          Notification.user_id == user.id)).scalar_one_or_none()
    if found is None:
        raise NotFound(_l("This notification does not exist or is not yours."))
    url = found.url
    if found.read_at is None:
        found.read_at = utcnow()
        db.session.commit()
    return url
