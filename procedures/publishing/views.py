"""Publishing pages: new procedure, edit (live preview, upload), conflict page, withdraw."""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from procedures import document, redline
from procedures.permissions import PROCEDURES_PUBLISH, REVIEWS_PARTICIPATE
from procedures.publishing import service as publishing
from procedures.publishing.forms import EditorForm, WithdrawForm
from webapp.exceptions import Conflict, ValidationError
from webapp.extensions import db
from webapp.forms import place_errors
from webapp.i18n import _, _l
from webapp.permissions import permission_required

bp = Blueprint("publishing", __name__, url_prefix="/procedures")

#: Front-matter fields reported by the service, shown on the text area with a readable name.
DOCUMENT_FIELDS = {
    "front_matter": _l("Front matter"),
    "code": _l("Code"),
    "title": _l("Title"),
    "departments": _l("Departments"),
    "version": _l("Version"),
    "effective": _l("Effective date"),
    "review_months": _l("Review period"),
    "status": _l("Status"),
    "owner": _l("Owner"),
    "markdown": None,
}


def _on_the_text(exc: ValidationError) -> ValidationError:
    """The service's errors with the document's own fields (front matter) moved onto the text
    area, each named, for :func:`place_errors`."""
    errors = {}
    for key, messages in (exc.errors or {}).items():
        if key in DOCUMENT_FIELDS:
            label = DOCUMENT_FIELDS[key]
            errors.setdefault("markdown", []).extend(f"{label}: {m}" if label else str(m) for m in messages)
        else:
            errors[key] = messages
    return ValidationError(exc.message, errors=errors)


def _submitted_text(form) -> str:
    """The uploaded file's text when one was sent, else the text area (ValidationError on a bad file)."""
    upload = form.file.data
    if upload is not None and getattr(upload, "filename", ""):
        text = publishing.read_upload(upload.filename, upload.read())
        form.markdown.data = text  # shown again if something else is wrong
        return text
    return form.markdown.data or ""


def _approver():
    return publishing.resolve_approver(request.form.get("approved_by") or None, current_user)


def _editor_context(form, code: str | None) -> dict:
    """Server-side preview so the page is complete without JavaScript."""
    text = form.markdown.data or ""
    try:
        html = publishing.preview(text)
    except ValidationError:
        html = ""
    errors = {}
    if form.is_submitted() and text.strip():
        for key, messages in publishing.check(text, code).items():
            label = DOCUMENT_FIELDS.get(key)
            errors[key] = [f"{label}: {m}" if label else m for m in messages]
    return {"preview_html": html, "preview_errors": errors, "max_kb": publishing.MAX_DOCUMENT_BYTES // 1024}


def _conflict_page(form, code: str, exc: Conflict, action_url: str):
    """409: both changes side by side, your text kept in an editor on top of the new base."""
    details = exc.details
    theirs = details.get("theirs") or {}
    yours = details.get("yours") or {}
    base_md = details.get("base_markdown") or ""
    form.base.data = details.get("current") or ""
    form.markdown.data = yours.get("markdown", form.markdown.data)
    form.summary.data = yours.get("summary", form.summary.data)
    form.file.data = None
    try:
        theirs_time = datetime.fromisoformat(theirs.get("committed_at") or "")
    except ValueError:
        theirs_time = None
    return render_template(
        "procedures/conflict.html", form=form, code=code, theirs=theirs, action_url=action_url,
        theirs_time=theirs_time, **_editor_context(form, code),
        theirs_redline=redline.redline_html(base_md, theirs.get("markdown", "")),
        yours_redline=redline.redline_html(base_md, yours.get("markdown", "")),
        message=str(exc)), 409


def _after_publish_url(code: str) -> str:
    return url_for("procedures.read", code=code)


def _submit(form, step, conflict, done, page):
    """``step()`` (create, publish, withdraw) for the posted ``form``: then the procedure, with
    ``done(result)`` flashed; or the form again, ``page(status)``, with the service's messages
    (400), or what ``conflict(exc)`` answers when someone changed the procedure meanwhile."""
    if not form.validate():
        return page(400)
    try:
        result = step()
    except ValidationError as exc:
        db.session.rollback()
        place_errors(form, _on_the_text(exc))
        return page(400)
    except Conflict as exc:
        db.session.rollback()
        return conflict(exc)
    flash(done(result), "success")
    return redirect(_after_publish_url(result.code))


def _published(result) -> str:
    return _("%(code)s %(version)s published.", code=result.code, version=result.version)


@bp.route("/new", methods=["GET", "POST"])
@permission_required(PROCEDURES_PUBLISH)
def new():
    form = EditorForm()
    form.fill_approvers()
    del form.new_edition, form.base

    def page(status):
        return render_template("procedures/edit.html", form=form, state=None, code=None,
                               action_url=url_for("publishing.new"), **_editor_context(form, None)), status

    def conflict(exc):
        form.markdown.errors = list(form.markdown.errors or []) + [str(exc)]
        return page(409)

    if not form.is_submitted():
        form.markdown.data = publishing.new_document_template(owner=current_user.login)
        return page(200)
    return _submit(form, lambda: publishing.create(None, _submitted_text(form), summary=form.summary.data,
                                                   author=current_user, approved_by=_approver()),
                   conflict, _published, page)


@bp.route("/<code>/edit", methods=["GET", "POST"])
@permission_required(PROCEDURES_PUBLISH)
def edit(code: str):
    document.path_for(code)  # a malformed code is a 400, not a store lookup
    state = publishing.editor_state(code)
    form = EditorForm()
    form.fill_approvers()

    def page(status):
        return render_template("procedures/edit.html", form=form, state=state, code=code,
                               action_url=url_for("publishing.edit", code=code), **_editor_context(form, code)), status

    def conflict(exc):
        if "theirs" not in exc.details:
            raise exc
        return _conflict_page(form, code, exc, url_for("publishing.edit", code=code))

    if not form.is_submitted():
        form.markdown.data = state.markdown
        form.base.data = state.base
        return page(200)
    return _submit(form, lambda: publishing.publish(
        code, _submitted_text(form), summary=form.summary.data, base=form.base.data, author=current_user,
        approved_by=_approver(), new_edition=form.new_edition.data), conflict, _published, page)


@bp.route("/<code>/withdraw", methods=["GET", "POST"])
@permission_required(PROCEDURES_PUBLISH)
def withdraw(code: str):
    document.path_for(code)
    state = publishing.editor_state(code)
    form = WithdrawForm()
    form.fill_approvers()

    def page(status, state=state):
        return render_template("procedures/withdraw.html", form=form, state=state, code=code), status

    def conflict(exc):
        # Someone published meanwhile: show the new head and let the user decide again.
        state = publishing.editor_state(code)
        form.base.data = state.base
        theirs = exc.details.get("theirs") or {}
        flash(_("%(code)s changed to %(version)s while you were on this page (by %(author)s). "
                "Check the new version before withdrawing it.", code=code,
                version=theirs.get("version", "?"), author=theirs.get("author", "?")), "warning")
        return page(409, state)

    if not form.is_submitted():
        form.base.data = state.base
        return page(200)
    return _submit(form, lambda: publishing.withdraw(code, reason=form.reason.data, base=form.base.data,
                                                     user=current_user, approved_by=_approver()),
                   conflict, lambda result: _("%(code)s is withdrawn (%(version)s).", code=code,
                                              version=result.version), page)


@bp.post("/preview")
@permission_required(PROCEDURES_PUBLISH, REVIEWS_PARTICIPATE)
def preview():
    """Live preview for the editor: sanitised HTML of the body plus the draft's field errors (JSON).

    For publishers and for review participants, who edit drafts in the same editor."""
    data = request.get_json(silent=True) if request.is_json else request.form
    data = data if isinstance(data, dict) or hasattr(data, "get") else {}
    text = data.get("markdown") or ""
    code = data.get("code") or None
    if not isinstance(text, str) or (code is not None and not isinstance(code, str)):
        return jsonify(error="bad_request", message=_("Send the text as markdown."), html="", errors={}), 400
    try:
        html = publishing.preview(text)
    except ValidationError as exc:
        return jsonify(error="bad_request", message=str(exc), html="",
                       errors={k: [str(m) for m in v] for k, v in exc.errors.items()}), 400
    if code is not None:
        try:
            document.path_for(code)
        except ValidationError:
            code = None
    errors = {}
    for key, messages in publishing.check(text, code).items():
        label = DOCUMENT_FIELDS.get(key)
        errors[key] = [f"{label}: {m}" if label else m for m in messages]
    return jsonify(html=str(html), errors=errors)
