"""The review register (list, CSV/XLSX export, print view) and the approval-rule settings page."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SubmitField
from wtforms.validators import InputRequired
from wtforms.validators import ValidationError as FieldError

from accounts.permissions import PARTICIPANT_CATEGORIES
from procedures.permissions import REVIEWS_MANAGE, REVIEWS_PARTICIPATE
from records.export import csv_response, xlsx_response
from webapp.dates import local_today
from webapp.db import utcnow
from webapp.exceptions import ValidationError
from webapp.forms import submit_form
from webapp.i18n import REQUIRED, _, _l
from webapp.pagination import paginate
from webapp.permissions import permission_required
from workflow import register, signoffs
from workflow.deciding import DECISION_LABELS
from workflow.service import KIND_LABELS, TRIGGER_LABELS
from workflow.states import STATE_LABELS

bp = Blueprint("review_register", __name__, url_prefix="/reviews")

EXPORT_LIMIT = 50_000
PRINT_LIMIT = 1_000
MAX_APPROVALS = 20


class RuleForm(FlaskForm):
    """One approval rule: a number of approvals per participant category (fields named after the
    categories, added below) and whether an outstanding rejection blocks adoption."""

    no_rejection = BooleanField(_l("No outstanding rejection"))
    submit = SubmitField(_l("Save rule"))


def _approvals(form, field):
    """0 to 20 (a value that is no whole number already has its error)."""
    if field.data is not None and not 0 <= field.data <= MAX_APPROVALS:
        raise FieldError(_l("Give a number from 0 to 20."))


for _category, _label in PARTICIPANT_CATEGORIES.items():
    setattr(RuleForm, _category, IntegerField(_label, validators=[InputRequired(message=REQUIRED), _approvals],
                                              render_kw={"min": 0, "max": MAX_APPROVALS, "step": 1}))


class RemoveRuleForm(FlaskForm):
    submit = SubmitField(_l("Remove (use the default rule)"))


def _labels() -> dict:
    return {"state_labels": STATE_LABELS, "kind_labels": KIND_LABELS, "trigger_labels": TRIGGER_LABELS,
            "decision_labels": DECISION_LABELS, "state_filters": register.STATE_FILTERS}


@bp.get("/register", endpoint="register")
@permission_required(REVIEWS_PARTICIPATE)
def register_page():
    filters = register.parse_filters(request.args, current_user)
    return render_template("workflow/register.html", page=paginate(register.reviews_query(filters)),
                           filters=filters, departments=register.departments(), years=register.years(),
                           reg=register, **_labels())


@bp.get("/register/export.<any(csv, xlsx):fmt>")
@permission_required(REVIEWS_PARTICIPATE)
def export(fmt: str):
    filters = register.parse_filters(request.args, current_user)
    labels = register.departments()
    headers, rows = register.export_table(register.reviews(filters, EXPORT_LIMIT), labels)
    name = _("Review register")
    if fmt == "csv":
        return csv_response(f"{name}.csv", headers, rows)
    return xlsx_response(f"{name}.xlsx", name, headers, rows, subtitle=_(
        "%(filters)s · exported %(when)s", filters=register.describe(filters, labels), when=local_today().isoformat()))


@bp.get("/register/print", endpoint="print")
@permission_required(REVIEWS_PARTICIPATE)
def print_page():
    filters = register.parse_filters(request.args, current_user)
    labels = register.departments()
    rows = register.reviews(filters, PRINT_LIMIT + 1)
    return render_template("workflow/register_print.html", rows=rows[:PRINT_LIMIT], truncated=len(rows) > PRINT_LIMIT,
                           limit=PRINT_LIMIT, filters=filters, described=register.describe(filters, labels),
                           departments=labels, reg=register, printed_at=utcnow(), **_labels())


# ---------------------------------------------------------------------------
# approval rules
# ---------------------------------------------------------------------------


def _rule_form(entry: register.RuleEntry) -> RuleForm:
    data = {c: entry.rule.requirements.get(c, 0) for c in PARTICIPANT_CATEGORIES}
    return RuleForm(formdata=None, prefix=f"rule-{entry.key}", data=dict(data, no_rejection=entry.rule.no_rejection))


def _rules_page(posted: dict | None = None, status: int = 200):
    """The rules page; ``posted`` maps a rule's key to its submitted form (with its errors)."""
    entries = register.rules_overview()
    forms = {e.key: (posted or {}).get(e.key) or _rule_form(e) for e in entries if e.active}
    return render_template("workflow/rules.html", entries=entries, forms=forms, categories=PARTICIPANT_CATEGORIES,
                           remove_form=RemoveRuleForm(formdata=None), default_key=register.DEFAULT_KEY), status


@bp.get("/rules")
@permission_required(REVIEWS_MANAGE)
def rules():
    return _rules_page()


@bp.post("/rules/<key>")
@permission_required(REVIEWS_MANAGE)
def save_rule(key: str):
    department = register.rule_department(key)
    form = RuleForm(prefix=f"rule-{key}")
    _row, page = submit_form(form, lambda: signoffs.save_rule(
        department, {c: form[c].data for c in PARTICIPANT_CATEGORIES}, no_rejection=form.no_rejection.data,
        actor=current_user), lambda form, status: _rules_page({key: form}, status))
    if page is not None:
        return page
    flash(_("Approval rule saved."), "success")
    return redirect(url_for(".rules") + f"#rule-{key}")


@bp.post("/rules/<key>/remove")
@permission_required(REVIEWS_MANAGE)
def remove_rule(key: str):
    department = register.rule_department(key, existing=True)
    if not RemoveRuleForm().validate_on_submit():
        raise ValidationError(_("The form has expired; reload the page and try again."))
    register.delete_rule(department, current_user)
    flash(_("The department's rule was removed; its reviews follow the default rule."), "success")
    return redirect(url_for(".rules"))
