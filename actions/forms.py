"""Forms for actions (a service's ValidationError goes on them with ``webapp.forms.place_errors``).

Business rules live in the services (the API uses them too); forms carry CSRF, render the
inputs and check only what HTML itself cannot (lengths, required fields).
"""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from webapp.forms import choices
from webapp.i18n import REQUIRED, _l

DATE_INPUT = {"type": "date"}


class ActionForm(FlaskForm):
    kind = SelectField(_l("Kind"), validators=[DataRequired(message=REQUIRED)])
    project_id = SelectField(_l("Project"), validators=[DataRequired(message=REQUIRED)])
    title = StringField(_l("Title"), validators=[DataRequired(message=REQUIRED), Length(max=200)])
    description = TextAreaField(_l("What is the problem or risk?"), validators=[Optional(), Length(max=20000)])
    responsible_department_id = SelectField(_l("Responsible department"), validators=[Optional()])
    responsible_user_id = SelectField(_l("Responsible person"), validators=[Optional()])
    due_on = StringField(_l("Due date"), validators=[Optional()], render_kw=DATE_INPUT)
    # Opened from the dashboard: ``dashboard`` and the page's address (kept to link back).
    source_type = HiddenField()
    source_ref = HiddenField(validators=[Optional(), Length(max=300)])
    submit = SubmitField(_l("Open action"))


class AnalyseForm(FlaskForm):
    version = HiddenField()
    cause_analysis = TextAreaField(_l("Cause analysis"), validators=[DataRequired(message=REQUIRED),
                                                                      Length(max=20000)])
    planned_action = TextAreaField(_l("Planned action"), validators=[DataRequired(message=REQUIRED),
                                                                      Length(max=20000)])
    responsible_department_id = SelectField(_l("Responsible department"), validators=[Optional()])
    responsible_user_id = SelectField(_l("Responsible person"), validators=[Optional()])
    due_on = StringField(_l("Due date"), validators=[Optional()], render_kw=DATE_INPUT)
    submit = SubmitField(_l("Save cause analysis"))


class TakeActionForm(FlaskForm):
    version = HiddenField()
    action_taken = TextAreaField(_l("What was done"), validators=[DataRequired(message=REQUIRED),
                                                                  Length(max=20000)])
    submit = SubmitField(_l("Record action taken"))


class VerifyForm(FlaskForm):
    version = HiddenField()
    remeasured = TextAreaField(_l("What was measured again"), validators=[
        DataRequired(message=REQUIRED), Length(max=20000)],
        render_kw={"rows": 2, "placeholder": _l("e.g. a follow-up survey of 40 households in block 3")})
    verification_result = TextAreaField(_l("Result of the effectiveness check"), validators=[
        DataRequired(message=REQUIRED), Length(max=20000)])
    effective = RadioField(_l("Was the action effective?"), validators=[DataRequired(message=REQUIRED)])
    submit = SubmitField(_l("Record verification"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.effective.choices = choices([("yes", _l("Yes, effective")),
                                          ("no", _l("No, analyse the causes again"))])


class CloseForm(FlaskForm):
    version = HiddenField()
    # Required by the service when the action came from a complaint (procedure 4.4.3).
    complainant_feedback = TextAreaField(_l("Feedback given to the complainant"),
                                         validators=[Optional(), Length(max=20000)], render_kw={"rows": 2})
    note = StringField(_l("Closing note"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Close action"))


class ProposalAcceptForm(FlaskForm):
    version = HiddenField()
    submit = SubmitField(_l("Accept: open the action"))


class ProposalDismissForm(FlaskForm):
    version = HiddenField()
    reason = StringField(_l("Why is no action needed?"), validators=[DataRequired(message=REQUIRED),
                                                                      Length(max=2000)])
    submit = SubmitField(_l("Dismiss"))


class ReviewRequestForm(FlaskForm):
    """Ask for an incident review of a procedure from a record (an action, a meeting issue)."""

    procedure_code = StringField(_l("Procedure to review"), validators=[DataRequired(message=REQUIRED)],
                                 render_kw={"maxlength": 40})
    reason = TextAreaField(_l("Why does the procedure need revising?"),
                           validators=[DataRequired(message=REQUIRED), Length(max=2000)],
                           render_kw={"rows": 2, "maxlength": 2000})
    submit = SubmitField(_l("Request a procedure review"))
