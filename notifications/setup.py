"""How the notifications feature plugs into the app: Flask-Mail, the after-commit mail hook, the unread badge."""
from __future__ import annotations

import logging

from flask import Flask, g
from flask_login import current_user
from flask_mail import Mail
from sqlalchemy.exc import SQLAlchemyError

from notifications import mail, service
from webapp.extensions import db

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    if app.config.get("MAIL_SERVER") and not app.config.get("MAIL_DEFAULT_SENDER"):
        raise ValueError("MAIL_DEFAULT_SENDER must be set when MAIL_SERVER is")
    # Whether mail goes out is MAIL_SERVER's call alone (Flask-Mail would also hold it back when TESTING).
    app.config.setdefault("MAIL_SUPPRESS_SEND", False)
    Mail().init_app(app)
    mail.listen(db.session)
    app.context_processor(lambda: {"unread_notifications": unread_for_badge})


def unread_for_badge() -> int | None:
    """The current user's unread count for the page's badge: one query per request, only when a page of a
    logged-in user asks; None when it cannot be read (an error page while the database is down)."""
    if not current_user.is_authenticated:
        return None
    if "_unread_notifications" not in g:
        try:
            g._unread_notifications = service.unread_count(current_user)
        except SQLAlchemyError:
            log.warning("cannot count unread notifications", exc_info=True)
            db.session.rollback()
            g._unread_notifications = None
    return g._unread_notifications
