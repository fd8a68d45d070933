"""Form of the "to read" list: confirming one procedure version."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import DataRequired


class ConfirmForm(FlaskForm):
    code = HiddenField(validators=[DataRequired()])
    version = HiddenField(validators=[DataRequired()])
