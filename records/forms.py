"""Forms shared by the record pages."""
from __future__ import annotations

from flask import flash, redirect
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, SubmitField

from webapp.forms import submit_form
from webapp.i18n import _l


class VoidForm(FlaskForm):
    """Void a record: the reason and the version the page showed.

    The reason is checked by :func:`records.voiding.void` (required, how long), so the pages
    and the API say the same thing, and a voided record answers with its state first."""

    version = HiddenField()
    reason = StringField(_l("Reason for voiding"))
    submit = SubmitField(_l("Void"))


def void_posted(record, void, rerender, *, done, back: str, flashed=()):
    """Answer the POST of a record page's void form: ``void(record, reason=…, actor=…, version=…)``
    (a record service's void), then ``back`` with ``done`` flashed; or the page again,
    ``rerender(form, status)``, saying why not (see :func:`webapp.forms.submit_form`)."""
    form = VoidForm()
    _voided, page = submit_form(form, lambda: void(record, reason=form.reason.data, actor=current_user,
                                                   version=form.version.data), rerender, flashed=flashed)
    if page is not None:
        return page
    flash(done, "success")
    return redirect(back)
