"""Forms of the meeting pages."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from satisfaction.meetings.service import MAX_ISSUES
from webapp.i18n import REQUIRED, _l


class IssueForm(Form):
    """One issue row inside the meeting form (no CSRF of its own)."""

    id = HiddenField()
    description = TextAreaField(_l("Issue raised"), validators=[Optional(), Length(max=2000)], render_kw={"rows": 2})
    category = SelectField(_l("Service category"), validators=[Optional()])


class MeetingForm(FlaskForm):
    version = HiddenField()
    project_id = SelectField(_l("Project"), validators=[DataRequired(message=REQUIRED)])
    held_on = StringField(_l("Date of the meeting"), validators=[DataRequired(message=REQUIRED)],
                          render_kw={"type": "date"})
    title = StringField(_l("Title"), validators=[DataRequired(message=REQUIRED), Length(max=200)])
    location = StringField(_l("Place"), validators=[Optional(), Length(max=200)])
    attendees = TextAreaField(_l("Owners' committee and other attendees"), validators=[Optional(), Length(max=4000)],
                              render_kw={"rows": 3, "placeholder": _l("One per line, e.g. 王主任（业委会主任）")})
    staff_ids = SelectMultipleField(_l("Company staff present"), validators=[Optional()])
    topics = TextAreaField(_l("Topics"), validators=[Optional(), Length(max=4000)], render_kw={"rows": 3})
    minutes = TextAreaField(_l("Meeting minutes"), validators=[Optional(), Length(max=100_000)], render_kw={"rows": 12})
    issues = FieldList(FormField(IssueForm), min_entries=0, max_entries=MAX_ISSUES)
    add_issue = SubmitField(_l("Add another issue"))
    submit = SubmitField(_l("Save meeting"))


class IssueEntryForm(FlaskForm):
    """Turn an issue into a register entry or an action; the pressed button sends ``kind``."""
