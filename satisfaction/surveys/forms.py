"""Forms of the survey pages.

Numbers are collected as text and checked by :mod:`satisfaction.surveys.service`, so the
pages and the JSON API give the same, translated messages for the same mistakes.
"""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, SelectField, SelectMultipleField, StringField, SubmitField
from wtforms.widgets import CheckboxInput, ListWidget

from webapp.forms import choices
from webapp.i18n import _l

NUMERIC = {"inputmode": "numeric", "autocomplete": "off"}


class CheckboxList(SelectMultipleField):
    """Checkboxes; unknown values are reported by the service, in the same words as the API."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form):
        pass


class CampaignForm(FlaskForm):
    # Scope and existence are checked by the service (403 / 404), like the API.
    project_id = SelectField(_l("Project"), choices=[], validate_choice=False)
    year = StringField(_l("Year"), render_kw=NUMERIC)
    period = StringField(_l("Period (optional)"),
                         render_kw={"placeholder": _l("e.g. first half")})
    households = StringField(_l("Occupied households at the start"), render_kw=NUMERIC)
    distributed = StringField(_l("Forms distributed"), render_kw=NUMERIC)
    distributed_on = StringField(_l("Distributed on"), render_kw={"type": "date"})
    category_ids = CheckboxList(_l("Rated service categories"), choices=[], coerce=str)
    version = HiddenField()
    submit = SubmitField(_l("Save"))

    def fill(self, projects, categories) -> None:
        self.project_id.choices = choices(
            [("", "—")] + [(str(p.id), _l("%(code)s %(name)s (%(n)s households)", code=p.code, name=p.label,
                                           n=p.households)) for p in projects])
        self.category_ids.choices = choices([(str(c.id), c.label) for c in categories])
        for name in ("project_id", "year"):  # marked required; the service says what is missing
            if hasattr(self, name):
                getattr(self, name).flags.required = True

    def data_for_service(self, *, creating: bool) -> dict:
        data = {"period": self.period.data, "households": self.households.data,
                "distributed": self.distributed.data, "distributed_on": self.distributed_on.data,
                "category_ids": list(self.category_ids.data or [])}
        if creating:
            data.update(project_id=self.project_id.data, year=self.year.data)
        return data


class VersionForm(FlaskForm):
    """Close / reopen buttons: CSRF plus the version the page showed."""

    version = HiddenField()


class ImportForm(FlaskForm):
    file = FileField(_l("XLSX file"), validators=[FileRequired(message=_l("Choose a file."))],
                     render_kw={"accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})
    submit = SubmitField(_l("Import"))


def entry_form_class(categories, scale):
    """A form with the overall rating, one rating per category (``r_<id>``), room and comments, each
    rating typed as a value of the campaign's ``scale``."""

    values = [str(v) for v in scale.values]
    rating_kw = {**NUMERIC, "maxlength": str(max(map(len, values))), "pattern": "|".join(values),
                 "class": "rating-input", "enterkeyhint": "next"}

    class EntryForm(FlaskForm):
        overall = StringField(_l("Overall rating"), render_kw={**rating_kw, "autofocus": True, "required": True})
        room = StringField(_l("Room (optional)"),
                           render_kw={"autocomplete": "off", "placeholder": _l("e.g. 3-2-501")})
        comments = StringField(_l("Comments"),
                               render_kw={"autocomplete": "off", "enterkeyhint": "done"})
        submit = SubmitField(_l("Save and next (Enter)"))

    for cat in categories:
        setattr(EntryForm, f"r_{cat.id}", StringField(cat.label, render_kw=dict(rating_kw)))
    EntryForm.category_fields = [f"r_{c.id}" for c in categories]
    EntryForm.aliases = {f"rating_{c.id}": f"r_{c.id}" for c in categories}  # the service's keys
    return EntryForm


def entry_data(form, categories) -> dict:
    return {"overall": form.overall.data, "room": form.room.data, "comments": form.comments.data,
            "ratings": {c.id: getattr(form, f"r_{c.id}").data for c in categories}}
