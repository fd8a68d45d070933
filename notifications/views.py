"""The inbox: list, open (marks read, goes to the page it is about), mark read."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from notifications import service
from webapp.i18n import ngettext
from webapp.security import safe_next_url

bp = Blueprint("notifications", __name__, url_prefix="/inbox")


@bp.get("")
def index():
    unread_only = request.args.get("unread") == "1"
    page = service.inbox(current_user, unread_only=unread_only, page=request.args.get("page", 1, type=int))
    return render_template("notifications/inbox.html", page=page, unread_only=unread_only)


@bp.post("/read")
def mark_read():
    """Mark the posted ``id``s read, or all with ``all=1``."""
    ids = "all" if request.form.get("all") == "1" else request.form.getlist("id", type=int)
    changed = service.mark_read(current_user, ids)
    flash(ngettext("%(num)d message marked as read.", "%(num)d messages marked as read.", changed), "success")
    return redirect(url_for("notifications.index", unread="1" if request.form.get("unread") == "1" else None))


# The e-mail copies link here (notifications.mail builds /inbox/<id>).
@bp.get("/<int:notification_id>")
def follow(notification_id: int):
    """Mark the notification read and go to its page (paths of this site only: no open redirect)."""
    url = service.open_notification(current_user, notification_id)
    return redirect(safe_next_url(url, url_for("notifications.index")))
