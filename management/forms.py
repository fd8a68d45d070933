"""Forms of the management review page."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import Length, Optional

from management.service import FOLLOW_UP_LABELS, ITEM_KIND_LABELS, MAX_ITEMS
from webapp.forms import choices
from webapp.i18n import _, _l


class ItemForm(Form):
    """One decision row inside the record form (no CSRF of its own)."""

    id = HiddenField()
    kind = SelectField(_l("About"), validators=[Optional()])
    text = TextAreaField(_l("Decision or action"), validators=[Optional(), Length(max=4000)], render_kw={"rows": 2})
    responsible = StringField(_l("Responsible"), validators=[Optional(), Length(max=120)])
    due_on = StringField(_l("Due"), validators=[Optional()], render_kw={"type": "date"})
    action = StringField(_l("Action number"), validators=[Optional(), Length(max=20)],
                         render_kw={"placeholder": "CA-00012"})


class FollowUpForm(Form):
    """What the meeting found of one of the previous review's decisions."""

    item_id = HiddenField()
    state = SelectField(_l("State now"), validators=[Optional()])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=2000)])


class RecordForm(FlaskForm):
    version = HiddenField()
    held_on = StringField(_l("Date of the meeting"), validators=[Optional()], render_kw={"type": "date"})
    attendees = TextAreaField(_l("Attendees"), validators=[Optional(), Length(max=4000)],
                              render_kw={"rows": 4, "placeholder": _l("One per line, e.g. 王总（总经理）")})
    conclusions = TextAreaField(_l("Conclusions on the suitability, adequacy and effectiveness of the system"),
                                validators=[Optional(), Length(max=20_000)], render_kw={"rows": 5})
    follow_up = FieldList(FormField(FollowUpForm), min_entries=0, max_entries=MAX_ITEMS)
    items = FieldList(FormField(ItemForm), min_entries=0, max_entries=MAX_ITEMS)
    add_item = SubmitField(_l("Add another decision"))
    submit = SubmitField(_l("Save the record"))

    def fill_choices(self) -> None:
        kinds = choices([("", _("Choose…"))] + [(k, str(label)) for k, label in ITEM_KIND_LABELS.items()])
        for entry in self.items:
            entry.form.kind.choices = kinds
        states = choices([("", "—")] + [(k, str(label)) for k, label in FOLLOW_UP_LABELS.items()])
        for entry in self.follow_up:
            entry.form.state.choices = states

    def data_for_service(self) -> dict:
        return {
            "held_on": self.held_on.data, "attendees": self.attendees.data, "conclusions": self.conclusions.data,
            "items": [{"id": e.form.id.data or None, "kind": e.form.kind.data, "text": e.form.text.data,
                       "responsible": e.form.responsible.data, "due_on": e.form.due_on.data,
                       "action": e.form.action.data} for e in self.items],
            "follow_up": {e.form.item_id.data: {"state": e.form.state.data, "note": e.form.note.data}
                          for e in self.follow_up if e.form.item_id.data},
        }


class ApproveForm(FlaskForm):
    version = HiddenField()
    submit = SubmitField(_l("Approve and close the record"))
