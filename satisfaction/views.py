"""Satisfaction home, service categories and settings."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from records.permissions import RECORDS_CONFIGURE, RECORDS_READ
from records.scope import visible_projects
from satisfaction import categories as cat_service
from satisfaction import settings as settings_service
from satisfaction.forms import CategoryForm, SettingsForm
from satisfaction.surveys.scale import satisfied_definition
from webapp.exceptions import Conflict, ValidationError
from webapp.extensions import db
from webapp.i18n import _
from webapp.permissions import permission_required

bp = Blueprint("satisfaction", __name__, url_prefix="/satisfaction")

SEVERITIES = ("urgent", "major", "normal")


@bp.get("/")
@permission_required(RECORDS_READ)
def index():
    return render_template("satisfaction/index.html", projects=visible_projects(),
                           settings=settings_service.all_settings(),
                           scale_definition=satisfied_definition(settings_service.rating_scale()))


@bp.get("/categories")
@permission_required(RECORDS_READ)
def categories():
    return render_template("satisfaction/categories.html", categories=cat_service.list_categories(active_only=False))


@bp.route("/categories/new", methods=["GET", "POST"])
@bp.route("/categories/<int:category_id>", methods=["GET", "POST"])
@permission_required(RECORDS_CONFIGURE)
def category_edit(category_id: int | None = None):
    category = cat_service.get_category(category_id) if category_id else None
    form = CategoryForm(obj=category)
    status = 200
    if form.validate_on_submit():
        try:
            cat_service.save_category(category, {f: getattr(form, f).data for f in cat_service.FIELDS})
        except (ValidationError, Conflict) as exc:
            db.session.rollback()
            form.code.errors = [str(exc)]
            status = exc.status_code
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("satisfaction.categories"))
    elif form.is_submitted():
        status = 400
    return render_template("satisfaction/category_form.html", form=form, category=category), status


@bp.route("/settings", methods=["GET", "POST"])
@permission_required(RECORDS_CONFIGURE)
def settings():
    current = settings_service.all_settings()
    form = SettingsForm()
    if not form.is_submitted():
        for row, level in zip(form.levels, current["rating_scale"], strict=False):
            row.form.process(data=level)
        for key in ("distribution_target", "return_target", "satisfaction_target"):
            getattr(form, key).data = round(current[key] * 100, 1)
        for sev in SEVERITIES:
            getattr(form, f"{sev}_respond").data = current["deadlines"][sev]["respond_hours"]
            getattr(form, f"{sev}_resolve").data = current["deadlines"][sev]["resolve_hours"]
    status, scale_errors = 200, []
    if form.validate_on_submit():
        values = {
            "rating_scale": [level for row in form.levels if (level := row.form.level()) is not None],
            "distribution_target": float(form.distribution_target.data) / 100,
            "return_target": float(form.return_target.data) / 100,
            "satisfaction_target": float(form.satisfaction_target.data) / 100,
            "deadlines": {sev: {"respond_hours": getattr(form, f"{sev}_respond").data,
                                "resolve_hours": getattr(form, f"{sev}_resolve").data} for sev in SEVERITIES},
        }
        try:
            settings_service.update_settings(values, actor=current_user, reason=form.reason.data)
        except ValidationError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            scale_errors = [str(m) for m in (exc.errors or {}).get("rating_scale", ())]
            status = 400
        else:
            flash(_("Settings saved."), "success")
            return redirect(url_for("satisfaction.settings"))
    elif form.is_submitted():
        status = 400
    return render_template("satisfaction/settings.html", form=form, scale_errors=scale_errors), status
