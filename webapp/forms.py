"""Form helpers shared by every package."""
from __future__ import annotations

from flask import flash, g
from wtforms.fields import HiddenField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, StopValidation
from wtforms.widgets import HiddenInput

from webapp.exceptions import ValidationError
from webapp.extensions import db


class MaxLength(Length):
    """``Length(max=…)`` that stops the field's other validators when the value is too long, so an
    expensive check after it (e-mail syntax) never runs over a megabyte of text."""

    def __init__(self, max: int, message=None):  # noqa: A002 — WTForms' own keyword
        super().__init__(max=max, message=message)

    def __call__(self, form, field):
        try:
            super().__call__(form, field)
        except ValueError as exc:  # wtforms' ValidationError
            raise StopValidation(str(exc)) from exc


def choices(pairs) -> list[SelectChoice]:
    """``[(value, label), …]`` → WTForms 3.3 ``SelectChoice`` objects (tuples are deprecated)."""
    return [SelectChoice(value, label) for value, label in pairs]


def place_errors(form, exc, aliases: dict | None = None) -> None:
    """Show each message of a service's ``ValidationError`` at its form field.

    ``aliases`` maps a service's key to the form's field name where they differ, or to the
    field itself (a field inside a ``FieldList`` row). Messages for a field the page does
    not show — a hidden field such as the optimistic-lock ``version``, or a name the form
    does not have — are flashed instead, so a refused submit always tells the user why.
    This is the one place service errors meet forms: pages adapt keys, never place messages.
    """
    aliases = aliases or {}
    shown = False
    for name, messages in (getattr(exc, "errors", None) or {}).items():
        alias = aliases.get(name, name)
        target = getattr(form, alias, None) if isinstance(alias, str) else alias
        texts = [str(m) for m in messages]
        if target is not None and hasattr(target, "errors") and not isinstance(target, HiddenField):
            target.errors = list(target.errors or []) + texts
        else:
            for text in texts:
                flash(text, "error")
        shown = shown or bool(texts)
    if not shown:
        flash(str(exc), "error")


def submit_form(form, step, rerender, *, aliases: dict | None = None, flashed=(), check=None):
    """Run ``step()`` for a posted ``form``: ``(its result, None)``, or ``(None, page)`` where
    ``page = rerender(form, status)`` is the form's page again and nothing was saved.

    ``check()``, when given, returns the service's own errors by field (``{name: [message]}``); a
    form its own validators refuse shows them too, on the fields without a message yet, so every
    error is listed at once instead of one round trip each.

    Not posted (a GET) is the empty page, 200; an invalid form is a 400; a service's ``ValidationError`` rolls back and puts its messages
    on the fields (:func:`place_errors`); the errors in ``flashed`` (e.g. ``Conflict``) roll back
    and are flashed, with their own status. Other errors go to the app's error pages.
    """
    if not form.is_submitted():
        return None, rerender(form, 200)
    if not form.validate():
        if check is not None:
            for name, messages in check().items():
                target = getattr(form, name, None)
                if target is not None and hasattr(target, "errors") and not target.errors:
                    target.errors = [str(m) for m in messages]
        return None, rerender(form, 400)
    try:
        return step(), None
    except ValidationError as exc:
        db.session.rollback()
        place_errors(form, exc, aliases)
        return None, rerender(form, exc.status_code)
    except flashed as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return None, rerender(form, exc.status_code)


def control_attrs(field, *, hint: bool = False) -> dict:
    """The attributes a form control gets from its state: ``aria-describedby`` its hint
    (``<id>-hint``) and, when in error, ``aria-invalid`` and its message (``<id>-error``); the
    first field in error rendered on the page also gets ``autofocus``, so a refused submit lands
    on it without JavaScript. Used by ``templates/_macros.html``; hand-written controls call it
    too (``{{ sub(**control_attrs(form.kind)) }}``)."""
    attrs, described = {}, [f"{field.id}-hint"] if hint else []
    if field.errors:
        attrs["aria-invalid"] = "true"
        described.append(f"{field.id}-error")
        if g.setdefault("first_invalid_field", field.id) == field.id:
            attrs["autofocus"] = True
    if described:
        attrs["aria-describedby"] = " ".join(described)
    return attrs


def error_summary(form) -> list[tuple[str | None, str, list[str]]]:
    """``(control id or None, label, messages)`` for every field in error, in the form's order,
    rows of a ``FieldList`` included: the banner a refused form shows at its top. Hidden fields
    (an optimistic-lock ``version``) and form-level errors come without a control to link to;
    the CSRF token has its own message (``form_errors``)."""
    items: list[tuple[str | None, str, list[str]]] = []

    def walk(fields):
        for f in fields:
            if f.type == "CSRFTokenField":
                continue
            if f.type in ("FieldList", "FormField"):
                walk(f)
            elif f.errors:
                hidden = isinstance(f, HiddenField) or isinstance(f.widget, HiddenInput)
                items.append((None if hidden else f.id, "" if hidden else str(f.label.text),
                              [str(m) for m in f.errors]))

    walk(form)
    items.extend((None, "", [str(m)]) for m in getattr(form, "form_errors", None) or [])
    return items


def init_app(app) -> None:
    app.jinja_env.globals.update(control_attrs=control_attrs, error_summary=error_summary)
