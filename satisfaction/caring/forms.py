"""Form of the caring-service fast entry page."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from satisfaction.caring.service import MAX_MINUTES
from webapp.i18n import REQUIRED, _l


class CaringForm(FlaskForm):
    project_id = SelectField(_l("Project"), validators=[DataRequired(message=REQUIRED)])
    served_on = StringField(_l("Date"), validators=[DataRequired(message=REQUIRED)], render_kw={"type": "date"})
    staff_id = SelectField(_l("Staff member"), validators=[DataRequired(message=REQUIRED)])
    household = StringField(_l("Household (building / room)"), validators=[DataRequired(message=REQUIRED),
                                                                        Length(max=60)],
                            render_kw={"placeholder": _l("e.g. 3-2-501"), "autocomplete": "off"})
    service = StringField(_l("Service"), validators=[DataRequired(message=REQUIRED), Length(max=120)],
                          render_kw={"list": "caring-kinds", "autocomplete": "off"})
    minutes = StringField(_l("Time spent (minutes)"), validators=[DataRequired(message=REQUIRED)],
                          render_kw={"type": "number", "inputmode": "numeric", "min": 1,
                                     "max": MAX_MINUTES, "step": 1})
    owner_comment = TextAreaField(_l("Owner's comment"), validators=[Optional(), Length(max=2000)],
                                  render_kw={"rows": 2})
    submit = SubmitField(_l("Save"))
