"""Forms of the publishing pages: the editor and the withdraw page."""
from __future__ import annotations

from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, SelectField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from procedures.publishing import service as publishing
from webapp.forms import choices
from webapp.i18n import REQUIRED, _, _l


class EditorForm(FlaskForm):
    markdown = TextAreaField(_l("Procedure text (Markdown with front matter)"),
                             render_kw={"rows": 24, "spellcheck": "false", "data-editor": "markdown"})
    file = FileField(_l("Or upload a .md file"), render_kw={"accept": ".md,.markdown,.txt,text/markdown"})
    base = HiddenField()
    summary = TextAreaField(_l("Change summary"), validators=[DataRequired(message=REQUIRED),
                                                              Length(max=publishing.MAX_SUMMARY_LENGTH)],
                            render_kw={"rows": 3})
    new_edition = BooleanField(_l("Start a new edition"))
    approved_by = SelectField(_l("Approved by"), choices=[], default="")
    submit = SubmitField(_l("Publish"))

    def fill_approvers(self):
        me = current_user.display_name
        self.approved_by.choices = choices(
            [("", _("Me (%(name)s)", name=me))]
            + [(u.login, u.display_name) for u in publishing.approvers() if u.id != current_user.id])


class WithdrawForm(FlaskForm):
    reason = TextAreaField(_l("Reason for withdrawing"), validators=[
        DataRequired(message=REQUIRED), Length(max=publishing.MAX_REASON_LENGTH)], render_kw={"rows": 3})
    base = HiddenField()
    approved_by = SelectField(_l("Approved by"), choices=[], default="")
    submit = SubmitField(_l("Withdraw procedure"))

    fill_approvers = EditorForm.fill_approvers
