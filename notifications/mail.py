"""E-mail copies of notifications, sent after the transaction that made them commits.

:func:`send_after_commit` remembers the new notifications on the session; its
``after_commit`` hook sends them once the outermost transaction has committed, and a
rollback forgets them. Nothing is sent unless ``MAIL_SERVER`` is set, and only to users
with an e-mail address. The request has committed by then: a mail server that is down or
refuses a message is logged, never raised, and the notification stays in the inbox with
``emailed_at`` NULL.
"""
from __future__ import annotations

import logging
import smtplib

from flask import current_app, has_app_context
from flask_babel import force_locale
from flask_mail import BadHeaderError, Connection, Message
from sqlalchemy import event, select, update

from accounts.models import User
from notifications.models import Notification
from webapp.db import utcnow
from webapp.extensions import db
from webapp.i18n import _

log = logging.getLogger(__name__)

_PENDING = "notifications.mail_pending"
_notifications, _users = Notification.__table__, User.__table__
#: What one message can fail with without the others failing too.
_SEND_ERRORS = (smtplib.SMTPException, OSError, BadHeaderError, ValueError)


def enabled() -> bool:
    """True when the app sends e-mail (``MAIL_SERVER`` is set)."""
    return bool(current_app.config.get("MAIL_SERVER"))


def listen(session) -> None:
    """Install the hooks on ``session`` (the app's scoped session); idempotent, as several apps share it."""
    for name, hook in (("after_commit", _after_commit), ("after_transaction_end", _after_transaction_end)):
        if not event.contains(session, name, hook):
            event.listen(session, name, hook)


def send_after_commit(session, ids) -> None:
    """Send the e-mail copies of the notifications ``ids`` once ``session``'s transaction commits."""
    if ids and enabled():
        session.info.setdefault(_PENDING, set()).update(ids)


def _after_commit(session) -> None:
    if session.in_nested_transaction():  # a savepoint released: the outer transaction may still roll back
        return
    ids = session.info.pop(_PENDING, None)
    if not ids or not has_app_context():
        return
    try:
        send(sorted(ids))
    except Exception:  # the caller's change is committed: never fail it for a mail
        log.exception("notification e-mails %s not sent", sorted(ids))


def _after_transaction_end(session, transaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended: rolled back, or sent already
        session.info.pop(_PENDING, None)


class _Connection(Connection):
    """Flask-Mail's SMTP connection with a timeout: a mail server that hangs must not hang the request."""

    def configure_host(self):
        config = self.mail
        factory = smtplib.SMTP_SSL if config.use_ssl else smtplib.SMTP
        host = factory(config.server, config.port, timeout=current_app.config["MAIL_TIMEOUT"])
        try:
            if config.use_tls:
                host.starttls()
            if config.username and config.password:
                host.login(config.username, config.password)
        except BaseException:
            host.close()
            raise
        return host


def send(ids) -> int:
    """Send the e-mail copy of each committed notification of ``ids`` that has none yet and whose user has an
    address; sets ``emailed_at``; returns how many were sent. Failures are logged, and leave ``emailed_at`` NULL."""
    if not enabled():
        return 0
    n, u = _notifications, _users
    with db.engine.begin() as conn:
        # Claimed first, so that no other process sends the same copy.
        claimed = list(conn.execute(
            update(n).where(n.c.id.in_(ids), n.c.emailed_at.is_(None),
                            n.c.user_id.in_(select(u.c.id).where(u.c.email != "", u.c.active.is_(True))))
            .values(emailed_at=utcnow()).returning(n.c.id)).scalars())
        if not claimed:
            return 0
        rows = conn.execute(select(n.c.id, n.c.subject, n.c.body, u.c.email, u.c.display_name, u.c.locale)
                            .join(u, u.c.id == n.c.user_id).where(n.c.id.in_(claimed)).order_by(n.c.id)).all()
    sent = set()
    try:
        with _Connection(current_app.extensions["mail"]) as smtp:
            for row in rows:
                try:
                    smtp.send(_message(row))
                    sent.add(row.id)
                except _SEND_ERRORS:
                    log.warning("notification %s: e-mail to %s refused", row.id, row.email, exc_info=True)
    except _SEND_ERRORS:
        log.warning("notification e-mails: cannot talk to the mail server %s", current_app.config["MAIL_SERVER"],
                    exc_info=True)
    failed = [row.id for row in rows if row.id not in sent]
    if failed:
        with db.engine.begin() as conn:
            conn.execute(update(n).where(n.c.id.in_(failed)).values(emailed_at=None))
    return len(sent)


def _message(row) -> Message:
    """The e-mail of one notification, its fixed lines in the recipient's language."""
    config = current_app.config
    with force_locale(row.locale or config["DEFAULT_LOCALE"]):
        base = (config.get("MAIL_BASE_URL") or "").rstrip("/")
        # /inbox/<id> (notifications.views.open) marks it read and goes on to its page.
        url = base + "/inbox/" + str(row.id)
        link = (_("Open it in ProcDesk: %(url)s", url=url) if base
                else _("Open your ProcDesk inbox to read it."))
        footer = _("ProcDesk sent you this e-mail because it put this message in your inbox.")
    text = "\n\n".join(part for part in (row.body.strip(), link, f"-- \n{footer}") if part)
    return Message(subject=row.subject, recipients=[(row.display_name, row.email)], body=text + "\n",
                   sender=config["MAIL_DEFAULT_SENDER"])
