"""Browse and filter the audit log; check the chain."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import Blueprint, current_app, render_template, request
from sqlalchemy import func, select

from audit.models import AuditEntry
from audit.permissions import AUDIT_READ
from audit.service import verify
from webapp.extensions import db
from webapp.pagination import paginate
from webapp.permissions import permission_required

bp = Blueprint("audit", __name__, url_prefix="/audit")


def _local_day_start(value: str):
    """A ``YYYY-MM-DD`` in the display zone as an aware datetime, or None when malformed."""
    from zoneinfo import ZoneInfo

    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except (TypeError, ValueError):
        return None
    if not 1900 <= day.year <= 9000:  # far-off years overflow when converted to UTC
        return None
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(current_app.config["TIMEZONE"]))


@bp.get("/")
@permission_required(AUDIT_READ)
def index():
    args = request.args
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc())
    for field in ("action", "object_type", "object_id", "actor_login"):
        value = (args.get(field) or "").strip()
        if value:
            column = getattr(AuditEntry, field)
            stmt = stmt.where(column.startswith(value) if field == "action" else column == value)
    start, end = _local_day_start(args.get("from", "")), _local_day_start(args.get("to", ""))
    if start:
        stmt = stmt.where(AuditEntry.at >= start)
    if end:
        stmt = stmt.where(AuditEntry.at < end + timedelta(days=1))
    page = paginate(stmt, per_page=50)
    object_types = list(db.session.execute(select(AuditEntry.object_type).group_by(AuditEntry.object_type)
                                           .order_by(func.min(AuditEntry.object_type))).scalars())
    return render_template("audit/index.html", page=page, object_types=object_types)


@bp.post("/verify")
@permission_required(AUDIT_READ)
def check():
    return render_template("audit/verify.html", result=verify())
