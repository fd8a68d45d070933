"""Forms for categories and settings (feature forms live beside their views)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DecimalField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from satisfaction.surveys.scale import MAX_LEVELS, NAME_EN_MAX, NAME_MAX
from webapp.i18n import REQUIRED, _l


class CategoryForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(message=REQUIRED), Length(max=20)])
    name = StringField(_l("Name (Chinese)"), validators=[DataRequired(message=REQUIRED), Length(max=60)])
    name_en = StringField(_l("Name (English)"), validators=[Optional(), Length(max=60)])
    sort_order = IntegerField(_l("Order"), default=0, validators=[Optional(), NumberRange(min=0, max=9999)])
    active = BooleanField(_l("Active"), default=True)
    submit = SubmitField(_l("Save"))


def _pct(label):
    return DecimalField(label, places=1, validators=[
        InputRequired(message=REQUIRED),
        NumberRange(min=1, max=100, message=_l("Enter a percentage between %(min)s and %(max)s."))])


def _hours(label):
    return IntegerField(label, validators=[
        InputRequired(message=REQUIRED),
        NumberRange(min=1, max=2160, message=_l("Enter a number between %(min)s and %(max)s."))])


class ScaleLevelForm(Form):
    """One row of the rating-scale table; the scale as a whole is checked by the settings service."""

    value = StringField(_l("Value"), render_kw={"inputmode": "numeric", "autocomplete": "off", "size": 3})
    name = StringField(_l("Label (Chinese)"), render_kw={"autocomplete": "off", "maxlength": NAME_MAX})
    name_en = StringField(_l("Label (English)"), render_kw={"autocomplete": "off", "maxlength": NAME_EN_MAX})
    satisfied = BooleanField(_l("Counts as satisfied"))

    def level(self) -> dict | None:
        """The row as a level, or None when it is left empty."""
        value, name, name_en = (str(f.data or "").strip() for f in (self.value, self.name, self.name_en))
        if not (value or name or name_en):
            return None
        return {"value": value, "name": name, "name_en": name_en, "satisfied": bool(self.satisfied.data)}


class SettingsForm(FlaskForm):
    levels = FieldList(FormField(ScaleLevelForm), min_entries=MAX_LEVELS, max_entries=MAX_LEVELS)
    distribution_target = _pct(_l("Distribution target (%)"))
    return_target = _pct(_l("Return target (%)"))
    satisfaction_target = _pct(_l("Satisfaction target (%)"))
    urgent_respond = _hours(_l("Urgent: respond within (hours)"))
    urgent_resolve = _hours(_l("Urgent: resolve within (hours)"))
    major_respond = _hours(_l("Major: respond within (hours)"))
    major_resolve = _hours(_l("Major: resolve within (hours)"))
    normal_respond = _hours(_l("Normal: respond within (hours)"))
    normal_resolve = _hours(_l("Normal: resolve within (hours)"))
    reason = StringField(_l("Reason for the change"), validators=[DataRequired(message=REQUIRED), Length(max=200)])
    submit = SubmitField(_l("Save"))
