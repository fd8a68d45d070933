"""Forms of the complaint & praise register pages."""
from __future__ import annotations

from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import HiddenField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from accounts.models import Department, User
from satisfaction.categories import list_categories
from satisfaction.complaints import service
from satisfaction.complaints.models import CHANNELS, HANDLING_SATISFACTION, SEVERITIES
from webapp.extensions import db
from webapp.forms import choices
from webapp.i18n import _, _l


def _select(label, **kw):
    # validate_choice=False: the service checks values and gives the translated message,
    # the same one the API gives.
    return SelectField(label, validate_choice=False, **kw)


class EntryFields(FlaskForm):
    channel = _select(_l("Channel"))
    received_at = StringField(_l("Received at"), render_kw={"type": "datetime-local"})
    category = _select(_l("Service category"))
    severity = _select(_l("Severity"), default="normal")
    building = StringField(_l("Building"), validators=[Optional()], render_kw={"maxlength": 40})
    room = StringField(_l("Room"), validators=[Optional()], render_kw={"maxlength": 40})
    contact_name = StringField(_l("Contact name"), validators=[Optional()], render_kw={"maxlength": 60})
    contact_phone = StringField(_l("Contact phone"), validators=[Optional()],
                                render_kw={"maxlength": 40, "type": "tel", "autocomplete": "off"})
    description = TextAreaField(_l("What was raised"), render_kw={"maxlength": 4000, "rows": 5})
    handler_id = _select(_l("Handler"))
    department_id = _select(_l("Responsible department"))

    def fill_choices(self, project_ids, current_handler: User | None = None) -> None:
        """The choices of the selects; the handlers are the staff of ``project_ids`` (each option names the
        projects its person works on, so the page can offer only the chosen project's), and the entry's
        ``current_handler`` even when no longer one of them."""
        self.channel.choices = choices((c, str(service.CHANNEL_LABELS[c])) for c in CHANNELS)
        self.category.choices = choices([("", _("— choose —"))] + [(c.code, c.label) for c in list_categories()])
        self.severity.choices = choices((s, str(service.SEVERITY_LABELS[s])) for s in SEVERITIES)
        staff = service.project_staff(project_ids)
        handlers = [SelectChoice("", _("— not assigned —"))] + [
            SelectChoice(str(u.id), u.display_name, render_kw={"data-projects": " ".join(map(str, sorted(projects)))})
            for u, projects in staff]
        if current_handler is not None and all(u.id != current_handler.id for u, _projects in staff):
            handlers.append(SelectChoice(str(current_handler.id), current_handler.display_name))
        self.handler_id.choices = handlers
        departments = db.session.execute(
            select(Department).where(Department.active.is_(True)).order_by(Department.code)).scalars()
        self.department_id.choices = choices([("", _("— none —"))] + [(str(d.id), d.label) for d in departments])

    def data_for_service(self) -> dict:
        return {"channel": self.channel.data, "received_at": self.received_at.data, "category": self.category.data,
                "severity": self.severity.data, "building": self.building.data, "room": self.room.data,
                "contact_name": self.contact_name.data, "contact_phone": self.contact_phone.data,
                "description": self.description.data, "handler_id": self.handler_id.data,
                "department_id": self.department_id.data}


class NewEntryForm(EntryFields):
    kind = RadioField(_l("Type"), default="complaint", validate_choice=False)
    project_id = _select(_l("Project"))
    submit = SubmitField(_l("Save entry"))


class EditEntryForm(EntryFields):
    version = HiddenField()
    submit = SubmitField(_l("Save changes"))


class TransitionForm(FlaskForm):
    version = HiddenField()
    note = StringField(_l("Note"), validators=[Optional()], render_kw={"maxlength": 1000})
    cause = TextAreaField(_l("Cause"), render_kw={"rows": 3, "maxlength": 4000})
    action_taken = TextAreaField(_l("Handling measures"), render_kw={"rows": 3, "maxlength": 4000})
    feedback_given = TextAreaField(_l("Result fed back to the person"), render_kw={"rows": 3, "maxlength": 4000})
    handling_satisfaction = RadioField(_l("Their satisfaction with the handling"), validate_choice=False)
    follow_up_notes = TextAreaField(_l("Follow-up notes"), validators=[Optional()],
                                    render_kw={"rows": 2, "maxlength": 4000})

    def fill_choices(self) -> None:
        self.handling_satisfaction.choices = choices(
            (s, str(service.SATISFACTION_LABELS[s])) for s in HANDLING_SATISFACTION)


class ReviewForm(FlaskForm):
    procedure_code = StringField(_l("Procedure to review"), render_kw={"maxlength": 40})
    submit = SubmitField(_l("Open an incident review"))
