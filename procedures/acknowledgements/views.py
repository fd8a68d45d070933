"""Reading acknowledgements: the user's "to read" list, confirming, and the completion report."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from accounts.models import Department
from procedures import catalog
from procedures.acknowledgements import service as acknowledgements
from procedures.acknowledgements.forms import ConfirmForm
from procedures.permissions import PROCEDURES_ACK_REPORT, PROCEDURES_READ
from webapp.exceptions import Conflict, ValidationError
from webapp.extensions import db
from webapp.i18n import _
from webapp.permissions import permission_required

bp = Blueprint("acknowledgements", __name__, url_prefix="/acknowledgements")


@bp.before_request
def _sync_catalogue():
    # Commits pushed with plain git (or by another worker) are mirrored before this request reads them.
    catalog.ensure_synced(commit=True)

PER_PAGE = 10


@bp.get("/")
@permission_required(PROCEDURES_READ)
def to_read():
    items = acknowledgements.to_read(current_user)
    try:
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        page = 1
    pages = max(1, -(-len(items) // PER_PAGE))
    page = min(page, pages)
    shown = items[(page - 1) * PER_PAGE: page * PER_PAGE]
    forms = {t.current.code: ConfirmForm(code=t.current.code, version=t.current.version, formdata=None)
             for t in shown}
    return render_template("procedures/to_read.html", items=shown, total=len(items), page=page, pages=pages,
                           forms=forms, department=current_user.department)


@bp.post("/confirm")
@permission_required(PROCEDURES_READ)
def confirm():
    form = ConfirmForm()
    if not form.validate():
        flash(_("The confirmation could not be read. Please try again."), "error")
        return redirect(url_for("acknowledgements.to_read")), 303
    try:
        ack = acknowledgements.confirm(current_user, form.code.data, form.version.data)
    except (Conflict, ValidationError) as exc:
        db.session.rollback()
        flash(str(exc), "warning")
    else:
        flash(_("Thank you: you have confirmed reading %(code)s %(version)s.", code=ack.code,
                version=ack.version), "success")
    return redirect(url_for("acknowledgements.to_read")), 303


@bp.get("/report")
@permission_required(PROCEDURES_ACK_REPORT)
def report():
    department = (request.args.get("department") or "").strip() or None
    incomplete = request.args.get("incomplete") == "1"
    rows = acknowledgements.report(department, incomplete_only=incomplete)
    departments = list(db.session.execute(select(Department).where(Department.active.is_(True))
                                          .order_by(Department.code)).scalars())
    return render_template("procedures/ack_report.html", rows=rows, departments=departments,
                           department=department, incomplete=incomplete)
