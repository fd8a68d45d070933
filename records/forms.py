"""Forms shared by the record pages."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, SubmitField

from webapp.i18n import _l


class VoidForm(FlaskForm):
    """Void a record: the reason and the version the page showed.

    The reason is checked by :func:`records.voiding.void` (required, how long), so the pages
    and the API say the same thing, and a voided record answers with its state first."""

    version = HiddenField()
    reason = StringField(_l("Reason for voiding"))
    submit = SubmitField(_l("Void"))
