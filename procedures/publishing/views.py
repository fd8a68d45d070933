"""Publishing pages: new procedure, edit (live preview, upload), conflict page, withdraw."""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from procedures import document, redline, trailers
from procedures.permissions import PROCEDURES_PUBLISH, REVIEWS_PARTICIPATE
from procedures.publishing import editing
from procedures.publishing import service as publishing
from procedures.publishing.editing import DocumentFields
from procedures.publishing.forms import FIELDS, SOURCE, EditorForm, WithdrawForm
from webapp import dates
from webapp.exceptions import Conflict, ValidationError
from webapp.extensions import db
from webapp.formatting import fmt_date
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


#: In the form mode, where the service's keys land: the front-matter fields have their own field; the
#: text's problems (size, rendering, nothing changed) are the body's; the rest go to the banner.
_FIELDS_MODE_TARGETS = {"code": "code", "title": "title", "departments": "departments", "effective": "effective",
                        "review_months": "review_months", "owner": "owner", "markdown": "body"}
_FORM_TARGETS = ("file", "summary", "approved_by", "new_edition")


def _place(form, exc: ValidationError) -> list[str]:
    """Put the service's messages on the editor's fields for the current mode; returns the ones no
    visible field holds (for the banner), each named."""
    if form.current_mode == SOURCE:
        exc = _on_the_text(exc)
        targets = {"markdown": "markdown"}
    else:
        targets = _FIELDS_MODE_TARGETS
    rest = []
    for key, messages in (exc.errors or {}).items():
        name = targets.get(key) or (key if key in _FORM_TARGETS else None)
        target = getattr(form, name, None) if name else None
        texts = [str(m) for m in messages]
        if target is not None:
            target.errors = list(target.errors or []) + texts
        else:
            label = DOCUMENT_FIELDS.get(key)
            rest.extend(f"{label}: {m}" if label else m for m in texts)
    if not exc.errors:
        rest.append(str(exc))
    return rest


def _banner(form, extra: list[str] | None = None) -> dict:
    """What the top of the editor shows after a refused submit: every message (field ones linking to
    their field, in page order) and the first field in error, which gets the focus."""
    items = []
    for name in form.ORDER[form.current_mode]:
        f = getattr(form, name, None)
        if f is not None and f.errors:
            target = f"{f.id}-0" if name == "departments" and f.choices else f.id
            items.append((target, str(f.label.text), [str(m) for m in f.errors]))
    if form.errors.get("csrf_token"):
        items.insert(0, (None, "", [_("The form has expired or is not valid (CSRF). Reload the page and try "
                                      "again.")]))
    items += [(None, "", [m]) for m in (extra or [])]
    first = next((name for name in form.ORDER[form.current_mode] if getattr(form, name, None) is not None
                  and getattr(form, name).errors), None)
    return {"banner": items, "first_invalid": first}


def _submitted_text(form) -> str | None:
    """The uploaded file's text when one was sent (ValidationError on a bad file): it is the whole
    document, shown in source mode if something else is wrong. None: no file."""
    upload = form.file.data
    if upload is not None and getattr(upload, "filename", ""):
        text = publishing.read_upload(upload.filename, upload.read())
        form.mode.data, form.markdown.data = SOURCE, text
        return text
    return None


def _submitted(form, code: str | None) -> str | DocumentFields:
    """What the editor sends the service: the uploaded file, the text (source mode), or the fields."""
    text = _submitted_text(form)
    if text is not None:
        return text
    if form.current_mode == SOURCE:
        return form.markdown.data or ""
    return form.document_fields()


def _approver():
    return publishing.resolve_approver(request.form.get("approved_by") or None, current_user)


def _preview_errors(text: str, code: str | None) -> dict:
    errors = {}
    for key, messages in publishing.check(text, code).items():
        label = DOCUMENT_FIELDS.get(key)
        errors[key] = [f"{label}: {m}" if label else m for m in messages]
    return errors


def _editor_context(form, code: str | None, banner: dict | None = None) -> dict:
    """Server-side preview so the page is complete without JavaScript, and the choices of the form mode."""
    form.fill_choices()
    if form.current_mode == SOURCE:
        text = form.markdown.data or ""
    else:
        text = form.body.data or ""
    try:
        html = publishing.preview(text)
    except ValidationError:
        html = ""
    errors = {}
    if form.is_submitted() and form.current_mode == SOURCE and text.strip():
        errors = _preview_errors(text, code)
    return {"preview_html": html, "preview_errors": errors, "max_kb": publishing.MAX_DOCUMENT_BYTES // 1024,
            "fields_mode": form.current_mode == FIELDS, "self_approval": publishing.self_approval_allowed(),
            "banner": [], "first_invalid": None, **(banner or {})}


def _show(form, code: str | None, text: str, *, mode: str) -> None:
    """Fill the editor from a whole file, in ``mode`` (a file whose front matter cannot be read opens
    in source mode, where it can be fixed)."""
    form.markdown.data = text
    form.mode.data = mode
    if mode == FIELDS:
        try:
            form.show_fields(editing.fields_of(text))
        except ValidationError:
            form.mode.data = SOURCE


def _switch(form, code: str | None, version: str | None) -> int:
    """The mode buttons (a round trip, so it works without JavaScript): the edits carried over to the
    other mode; nothing is published. Returns the status (400 when the text cannot become fields)."""
    if request.form.get("switch") == SOURCE:
        if form.current_mode == FIELDS:
            try:
                form.markdown.data = editing.compose(form.document_fields(), code=code, version=version)
            except ValidationError as exc:
                form.body.errors = list(form.body.errors or []) + [str(m) for v in exc.errors.values() for m in v]
                return 400
        form.mode.data = SOURCE
        return 200
    if form.current_mode == SOURCE:
        try:
            form.show_fields(editing.fields_of(form.markdown.data or ""))
        except ValidationError as exc:
            place = _on_the_text(exc)
            form.markdown.errors = list(form.markdown.errors or []) + [str(m) for v in place.errors.values()
                                                                       for m in v]
            return 400
    form.mode.data = FIELDS
    return 200


def _conflict_page(form, code: str, exc: Conflict, action_url: str):
    """409: both changes side by side, your text kept in an editor on top of the new base."""
    details = exc.details
    theirs = details.get("theirs") or {}
    yours = details.get("yours") or {}
    base_md = details.get("base_markdown") or ""
    form.base.data = details.get("current") or ""
    form.mode.data = SOURCE  # merging is done on the whole text
    form.markdown.data = yours.get("markdown", form.markdown.data)
    form.summary.data = yours.get("summary", form.summary.data)
    form.file.data = None
    try:
        theirs_time = datetime.fromisoformat(theirs.get("committed_at") or "")
    except ValueError:
        theirs_time = None
    return render_template(
        "procedures/conflict.html", form=form, code=code, theirs=theirs, action_url=action_url,
        theirs_time=theirs_time, theirs_approver=trailers.person_name(theirs.get("approved_by")),
        **_editor_context(form, code),
        theirs_redline=redline.redline_html(base_md, theirs.get("markdown", "")),
        yours_redline=redline.redline_html(base_md, yours.get("markdown", "")),
        message=str(exc)), 409


def _after_publish_url(code: str) -> str:
    return url_for("procedures.read", code=code)


def _place_on_form(form, exc: ValidationError) -> list[str]:
    place_errors(form, exc)
    return []


def _submit(form, step, conflict, done, page, place=_place):
    """``step()`` (create, publish, withdraw) for the posted ``form``: then the procedure, with
    ``done(result)`` flashed; or the form again, ``page(status, messages)``, with the service's
    messages on the fields (``place``; 400, 422 when nothing changed) and those no field holds,
    or what ``conflict(exc)`` answers when someone changed the procedure meanwhile."""
    if not form.validate():
        return page(400, [])
    try:
        result = step()
    except ValidationError as exc:
        db.session.rollback()
        return page(exc.status_code, place(form, exc))
    except Conflict as exc:
        db.session.rollback()
        return conflict(exc)
    flash(done(result), "success")
    return redirect(_after_publish_url(result.code))


def _published(result) -> str:
    if result.effective > dates.local_today():
        return _("%(code)s %(version)s published; it takes effect on %(date)s.", code=result.code,
                 version=result.version, date=fmt_date(result.effective))
    return _("%(code)s %(version)s published.", code=result.code, version=result.version)


def _initial_mode() -> str:
    return SOURCE if request.args.get("mode") == SOURCE else FIELDS


@bp.route("/new", methods=["GET", "POST"])
@permission_required(PROCEDURES_PUBLISH)
def new():
    form = EditorForm()
    form.fill_approvers()
    del form.new_edition, form.base

    def page(status, extra=None):
        banner = _banner(form, extra) if status >= 400 else None
        return render_template("procedures/edit.html", form=form, state=None, code=None,
                               action_url=url_for("publishing.new"), **_editor_context(form, None, banner)), status

    def conflict(exc):
        target = form.markdown if form.current_mode == SOURCE else form.code
        target.errors = list(target.errors or []) + [str(exc)]
        return page(409)

    if not form.is_submitted():
        _show(form, None, publishing.new_document_template(owner=current_user.login), mode=_initial_mode())
        return page(200)
    if request.form.get("switch"):
        return page(_switch(form, None, "A/0"))
    return _submit(form, lambda: publishing.create(None, _submitted(form, None), summary=form.summary.data,
                                                   author=current_user, approved_by=_approver(),
                                                   effective=publishing.AS_WRITTEN),
                   conflict, _published, page)


@bp.route("/<code>/edit", methods=["GET", "POST"])
@permission_required(PROCEDURES_PUBLISH)
def edit(code: str):
    document.path_for(code)  # a malformed code is a 400, not a store lookup
    state = publishing.editor_state(code)
    form = EditorForm()
    form.fill_approvers()

    def page(status, extra=None):
        banner = _banner(form, extra) if status >= 400 else None
        return render_template("procedures/edit.html", form=form, state=state, code=code,
                               action_url=url_for("publishing.edit", code=code),
                               **_editor_context(form, code, banner)), status

    def conflict(exc):
        if "theirs" not in exc.details:
            raise exc
        return _conflict_page(form, code, exc, url_for("publishing.edit", code=code))

    if not form.is_submitted():
        _show(form, code, state.draft, mode=_initial_mode())
        form.base.data = state.base
        return page(200)
    if request.form.get("switch"):
        return page(_switch(form, code, state.version))
    return _submit(form, lambda: publishing.publish(
        code, _submitted(form, code), summary=form.summary.data, base=form.base.data, author=current_user,
        approved_by=_approver(), effective=publishing.AS_WRITTEN, new_edition=form.new_edition.data),
        conflict, _published, page)


@bp.route("/<code>/withdraw", methods=["GET", "POST"])
@permission_required(PROCEDURES_PUBLISH)
def withdraw(code: str):
    document.path_for(code)
    state = publishing.editor_state(code)
    form = WithdrawForm()
    form.fill_approvers()

    def page(status, _messages=None, state=state):
        return render_template("procedures/withdraw.html", form=form, state=state, code=code,
                               self_approval=publishing.self_approval_allowed()), status

    def conflict(exc):
        # Someone published meanwhile: show the new head and let the user decide again.
        state = publishing.editor_state(code)
        form.base.data = state.base
        theirs = exc.details.get("theirs") or {}
        flash(_("%(code)s changed to %(version)s while you were on this page (by %(author)s). "
                "Check the new version before withdrawing it.", code=code,
                version=theirs.get("version", "?"), author=theirs.get("author", "?")), "warning")
        return page(409, state=state)

    if not form.is_submitted():
        form.base.data = state.base
        return page(200)
    return _submit(form, lambda: publishing.withdraw(code, reason=form.reason.data, base=form.base.data,
                                                     user=current_user, approved_by=_approver()),
                   conflict, lambda result: _("%(code)s is withdrawn (%(version)s).", code=code,
                                              version=result.version), page, place=_place_on_form)


@bp.post("/preview")
@permission_required(PROCEDURES_PUBLISH, REVIEWS_PARTICIPATE)
def preview():
    """Live preview for the editor: sanitised HTML of the body plus the draft's field errors (JSON).

    For publishers and for review participants, who edit drafts in the same editor."""
    data = request.get_json(silent=True) if request.is_json else request.form
    data = data if isinstance(data, dict) or hasattr(data, "get") else {}
    code = data.get("code") or None
    fields = data.get("fields") if isinstance(data, dict) else None
    text = data.get("markdown") or ""
    if fields is not None:  # the form mode: the front matter's fields and the body
        fields = _preview_fields(fields)
        text = fields.body if fields is not None else None
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
    if fields is not None:
        try:
            text = editing.compose(fields, code=code)
        except ValidationError as exc:
            return jsonify(html=str(html), errors={k: [str(m) for m in v] for k, v in exc.errors.items()})
    return jsonify(html=str(html), errors=_preview_errors(text, code))


def _preview_fields(data) -> DocumentFields | None:
    """The form mode's fields sent to the preview as JSON; None when one is not of its type."""
    if not isinstance(data, dict):
        return None
    values = {}
    for name in ("code", "title", "effective", "review_months", "owner", "body", "extra"):
        value = data.get(name, "")
        if not isinstance(value, str):
            return None
        values[name] = value
    departments = data.get("departments", [])
    if not isinstance(departments, list) or not all(isinstance(d, str) for d in departments):
        return None
    return DocumentFields(departments=tuple(departments[:document.MAX_DEPARTMENTS + 1]), **values)
