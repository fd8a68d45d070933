"""Forms of the review pages (CSRF, inputs, lengths); the rules are in the workflow services."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from accounts.permissions import PARTICIPANT_CATEGORIES
from webapp.forms import choices
from webapp.i18n import REQUIRED, _l
from workflow import deciding, discussion, drafts, service, signoffs

DATE_INPUT = {"type": "date"}


def _categories():
    return choices([(k, str(v)) for k, v in PARTICIPANT_CATEGORIES.items()])


class OpenForm(FlaskForm):
    kind = RadioField(_l("Kind"), validators=[DataRequired(message=REQUIRED)])
    codes = SelectMultipleField(_l("Procedures"), validators=[DataRequired(message=REQUIRED)],
                                render_kw={"size": 8})
    title = StringField(_l("Title (optional)"), validators=[Optional(), Length(max=service.MAX_TITLE)])
    chair = SelectField(_l("Chair"), validators=[DataRequired(message=REQUIRED)])
    reason = TextAreaField(_l("Why is this review needed?"), validators=[Optional(), Length(max=service.MAX_REASON)],
                           render_kw={"rows": 3})
    submit = SubmitField(_l("Open review"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = choices([(k, str(v)) for k, v in service.KIND_LABELS.items()])


class ParticipantForm(FlaskForm):
    version = HiddenField()
    user = SelectField(_l("Person"), validators=[DataRequired(message=REQUIRED)])
    category = SelectField(_l("Category"), validators=[DataRequired(message=REQUIRED)])
    submit = SubmitField(_l("Add participant"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = _categories()


class MoveForm(FlaskForm):
    version = HiddenField()
    target = HiddenField(validators=[DataRequired(message=REQUIRED)])
    note = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=service.MAX_REASON)],
                         render_kw={"rows": 2})
    submit = SubmitField(_l("Move"))


class CancelForm(FlaskForm):
    version = HiddenField()
    reason = TextAreaField(_l("Why is the review cancelled?"), validators=[DataRequired(message=REQUIRED),
                                                                          Length(max=service.MAX_REASON)],
                           render_kw={"rows": 2})
    submit = SubmitField(_l("Cancel review"))


class ProposalForm(FlaskForm):
    code = SelectField(_l("Procedure"), validators=[Optional()])
    text = TextAreaField(_l("Your proposal"), validators=[DataRequired(message=REQUIRED),
                                                          Length(max=drafts.MAX_PROPOSAL)], render_kw={"rows": 4})
    submit = SubmitField(_l("File proposal"))


class CommentForm(FlaskForm):
    parent_id = HiddenField()
    code = HiddenField()
    commit = HiddenField()
    clause = StringField(_l("Clause (e.g. 4.2.1)"), validators=[Optional(), Length(max=40)])
    quote = TextAreaField(_l("Quoted text (optional)"), validators=[Optional(), Length(max=500)],
                          render_kw={"rows": 2})
    body = TextAreaField(_l("Comment"), validators=[DataRequired(message=REQUIRED),
                                                    Length(max=discussion.MAX_COMMENT)], render_kw={"rows": 3})
    submit = SubmitField(_l("Post comment"))


class DraftForm(FlaskForm):
    markdown = TextAreaField(_l("Procedure text (Markdown with front matter)"),
                             render_kw={"rows": 24, "spellcheck": "false", "data-editor": "markdown"})
    file = FileField(_l("Or upload a .md file"), render_kw={"accept": ".md,.markdown,.txt,text/markdown"})
    parent = HiddenField()
    summary = StringField(_l("What did you change?"), validators=[Optional(), Length(max=drafts.MAX_SUMMARY)])
    submit = SubmitField(_l("Save draft"))


class MeetingForm(FlaskForm):
    held_on = StringField(_l("Meeting date"), validators=[DataRequired(message=REQUIRED)], render_kw=DATE_INPUT)
    attendees = SelectMultipleField(_l("Attendees"), validators=[DataRequired(message=REQUIRED)], coerce=int)
    minutes = TextAreaField(_l("Meeting minutes"), validators=[DataRequired(message=REQUIRED),
                                                       Length(max=discussion.MAX_MINUTES)], render_kw={"rows": 5})
    submit = SubmitField(_l("Record meeting"))


class SignForm(FlaskForm):
    commit = HiddenField(validators=[DataRequired(message=REQUIRED)])
    meaning = RadioField(_l("Meaning of your signature"), validators=[DataRequired(message=REQUIRED)])
    reason = TextAreaField(_l("Reason (required for a rejection)"),
                           validators=[Optional(), Length(max=signoffs.MAX_REASON)], render_kw={"rows": 2})
    password = PasswordField(_l("Your password"), validators=[DataRequired(message=REQUIRED)],
                             render_kw={"autocomplete": "current-password"})
    submit = SubmitField(_l("Sign"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.meaning.choices = choices([(k, str(v)) for k, v in signoffs.MEANING_LABELS.items()])


class DecideForm(FlaskForm):
    """One decision and reason per covered procedure (fields ``decision_<code>``, ``reason_<code>``,
    read from the request by the view) and the discussion summary."""

    version = HiddenField()
    summary = TextAreaField(_l("Discussion summary and decision"), validators=[
        Optional(), Length(max=deciding.MAX_SUMMARY)], render_kw={"rows": 4})
    submit = SubmitField(_l("Record decision"))


class ImplementForm(FlaskForm):
    version = HiddenField()
    effective = StringField(_l("Effective date of the new versions"), validators=[DataRequired(message=REQUIRED)],
                            render_kw=DATE_INPUT)
    submit = SubmitField(_l("Implement and close"))
