"""Forms of the publishing pages: the editor (form and source modes) and the withdraw page."""
from __future__ import annotations

from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from procedures import document
from procedures.publishing import service as publishing
from procedures.publishing.editing import DocumentFields, department_choices, owner_choices
from webapp.forms import choices
from webapp.i18n import REQUIRED, _, _l

#: The editor's two modes: the front matter as form fields beside the body, or the whole file as text.
FIELDS, SOURCE = "fields", "source"
MODES = (FIELDS, SOURCE)


def _approver_choices(form) -> None:
    """Who may approve: the approvers other than the author; the author too ("Me") only when the
    setting allows self-approval, else an empty first choice that the service refuses by name."""
    others = [(u.login, u.display_name) for u in publishing.approvers() if u.id != current_user.id]
    if publishing.self_approval_allowed():
        first = ("", _("Me (%(name)s)", name=current_user.display_name))
    else:
        first = ("", _("Choose who approves"))
    form.approved_by.choices = choices([first] + others)


class EditorForm(FlaskForm):
    mode = HiddenField(default=FIELDS)
    # The form mode: the front matter, one field each (checked by the procedure file's own parser).
    code = StringField(_l("Code"), render_kw={"autocomplete": "off", "spellcheck": "false",
                                              "placeholder": "QP-CS-001", "maxlength": 40})
    title = StringField(_l("Title"), render_kw={"maxlength": document.MAX_TITLE_LENGTH})
    departments = SelectMultipleField(_l("Departments"), choices=[], validate_choice=False,
                                      widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    effective = StringField(_l("Effective date"), render_kw={"type": "date"})
    review_months = StringField(_l("Review period (months)"), render_kw={
        "type": "number", "min": document.MIN_REVIEW_MONTHS, "max": document.MAX_REVIEW_MONTHS,
        "inputmode": "numeric"})
    owner = SelectField(_l("Owner"), choices=[], validate_choice=False, default="")
    body = TextAreaField(_l("Procedure text (Markdown)"),
                         render_kw={"rows": 24, "spellcheck": "false", "data-editor": "markdown"})
    extra = HiddenField()
    # The source mode: the whole file.
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

    #: Fields of each mode in page order (the banner's order; the first in error gets the focus).
    ORDER = {FIELDS: ("code", "title", "departments", "effective", "review_months", "owner", "body", "file",
                      "summary", "approved_by", "new_edition"),
             SOURCE: ("markdown", "file", "summary", "approved_by", "new_edition")}

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        # Marked required on the page; the procedure file's parser checks them (one set of messages).
        for name in ("code", "title", "effective"):
            getattr(self, name).flags.required = True

    def fill_approvers(self):
        _approver_choices(self)

    @property
    def current_mode(self) -> str:
        return self.mode.data if self.mode.data in MODES else FIELDS

    def fill_choices(self) -> None:
        """The departments and owners to pick from (plus whatever the document names that is not one)."""
        self.departments.choices = choices(department_choices(self.departments.data or ()))
        self.owner.choices = choices([("", _("No owner"))] + owner_choices(self.owner.data or ""))

    def document_fields(self) -> DocumentFields:
        """What the form mode posted, as the service takes it."""
        return DocumentFields(
            code=self.code.data or "", title=self.title.data or "",
            departments=tuple(d for d in (self.departments.data or ()) if isinstance(d, str)),
            effective=self.effective.data or "", review_months=self.review_months.data or "",
            owner=self.owner.data or "", body=self.body.data or "", extra=self.extra.data or "")

    def show_fields(self, fields: DocumentFields) -> None:
        """Put ``fields`` into the form mode's fields."""
        self.code.data, self.title.data = fields.code, fields.title
        self.departments.data = list(fields.departments)
        self.effective.data, self.review_months.data = fields.effective, fields.review_months
        self.owner.data, self.body.data, self.extra.data = fields.owner, fields.body, fields.extra


class WithdrawForm(FlaskForm):
    reason = TextAreaField(_l("Reason for withdrawing"), validators=[
        DataRequired(message=REQUIRED), Length(max=publishing.MAX_REASON_LENGTH)], render_kw={"rows": 3})
    base = HiddenField()
    approved_by = SelectField(_l("Approved by"), choices=[], default="")
    submit = SubmitField(_l("Withdraw procedure"))

    def fill_approvers(self):
        _approver_choices(self)
