"""Form helpers shared by every package."""
from __future__ import annotations

from flask import flash
from wtforms.fields import HiddenField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, StopValidation

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


def submit_form(form, step, rerender, *, aliases: dict | None = None, flashed=()):
    """Run ``step()`` for a posted ``form``: ``(its result, None)``, or ``(None, page)`` where
    ``page = rerender(form, status)`` is the form's page again and nothing was saved.

    Not posted (a GET) is the empty page, 200; an invalid form is a 400; a service's ``ValidationError`` rolls back and puts its messages
    on the fields (:func:`place_errors`); the errors in ``flashed`` (e.g. ``Conflict``) roll back
    and are flashed, with their own status. Other errors go to the app's error pages.
    """
    if not form.is_submitted():
        return None, rerender(form, 200)
    if not form.validate():
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
