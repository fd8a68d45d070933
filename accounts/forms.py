"""WTForms for login, profile and the admin pages."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, Regexp

from accounts.permissions import PARTICIPANT_CATEGORIES
from webapp.forms import MaxLength, choices
from webapp.i18n import _l


class LoginForm(FlaskForm):
    login = StringField(_l("Login name"), validators=[DataRequired(message=_l("This field is required.")),
                                                       Length(max=64)], render_kw={"autocomplete": "username",
                                                                                    "autocapitalize": "none"})
    password = PasswordField(_l("Password"), validators=[DataRequired(message=_l("This field is required."))],
                             render_kw={"autocomplete": "current-password"})
    remember = BooleanField(_l("Stay logged in on this device"))
    submit = SubmitField(_l("Log in"))


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(message=_l("This field is required."))],
                                     render_kw={"autocomplete": "current-password"})
    new_password = PasswordField(_l("New password"), validators=[DataRequired(message=_l("This field is required."))],
                                 render_kw={"autocomplete": "new-password"})
    submit = SubmitField(_l("Change password"))


class TokenForm(FlaskForm):
    name = StringField(_l("Token name"), validators=[DataRequired(message=_l("This field is required.")), Length(max=80)])
    submit = SubmitField(_l("Create token"))


class ProfileForm(FlaskForm):
    display_name = StringField(_l("Display name"), validators=[DataRequired(message=_l("This field is required.")), Length(max=120)])
    email = StringField(_l("Email"), validators=[Optional(), MaxLength(200), Email(message=_l("Enter a valid email address."))])
    locale = SelectField(_l("Language"), choices=choices([("zh_Hans", "简体中文"), ("en", "English")]))
    submit = SubmitField(_l("Save"))


class UserForm(FlaskForm):
    login = StringField(_l("Login name"), validators=[DataRequired(message=_l("This field is required.")), Length(max=64)])
    display_name = StringField(_l("Display name"), validators=[DataRequired(message=_l("This field is required.")), Length(max=120)])
    email = StringField(_l("Email"), validators=[Optional(), MaxLength(200), Email(message=_l("Enter a valid email address."))])
    password = PasswordField(_l("Password"), validators=[Optional()], render_kw={"autocomplete": "new-password"})
    active = BooleanField(_l("Active"), default=True)
    locale = SelectField(_l("Language"), choices=choices([("", "—"), ("zh_Hans", "简体中文"), ("en", "English")]))
    department = SelectField(_l("Department"), choices=[])
    participant_category = SelectField(_l("Review participant category"), choices=[])
    roles = SelectMultipleField(_l("Roles"), choices=[])
    projects = SelectMultipleField(_l("Projects"), choices=[])
    submit = SubmitField(_l("Save"))

    def fill_choices(self, roles, departments, projects):
        self.roles.choices = choices((r.code, r.label) for r in roles)
        self.department.choices = choices([("", "—")] + [(d.code, d.label) for d in departments])
        self.projects.choices = choices((p.code, p.label) for p in projects)
        self.participant_category.choices = choices([("", "—")] + [(k, str(v)) for k, v in PARTICIPANT_CATEGORIES.items()])


CODE_VALIDATORS = [DataRequired(message=_l("This field is required.")),
                   Regexp(r"^[A-Z][A-Z0-9-]{1,19}$", message=_l("Use 2–20 capital letters, digits or dashes."))]


class DepartmentForm(FlaskForm):
    code = StringField(_l("Code"), validators=CODE_VALIDATORS)
    name = StringField(_l("Name (Chinese)"), validators=[DataRequired(message=_l("This field is required.")), Length(max=80)])
    name_en = StringField(_l("Name (English)"), validators=[Optional(), Length(max=80)])
    active = BooleanField(_l("Active"), default=True)
    submit = SubmitField(_l("Save"))


class ProjectForm(FlaskForm):
    code = StringField(_l("Code"), validators=CODE_VALIDATORS)
    name = StringField(_l("Name (Chinese)"), validators=[DataRequired(message=_l("This field is required.")), Length(max=120)])
    name_en = StringField(_l("Name (English)"), validators=[Optional(), Length(max=120)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=200)])
    households = IntegerField(_l("Occupied households"), validators=[
        DataRequired(message=_l("This field is required.")),
        NumberRange(min=1, max=1_000_000, message=_l("Enter a number between %(min)s and %(max)s."))])
    active = BooleanField(_l("Active"), default=True)
    submit = SubmitField(_l("Save"))


class RoleForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(message=_l("This field is required.")),
                                               Regexp(r"^[a-z][a-z0-9_]{1,39}$", message=_l("Use lowercase letters, digits and underscores."))])
    name = StringField(_l("Name (Chinese)"), validators=[DataRequired(message=_l("This field is required.")), Length(max=80)])
    name_en = StringField(_l("Name (English)"), validators=[Optional(), Length(max=80)])
    permissions = SelectMultipleField(_l("Permissions"), choices=[])
    submit = SubmitField(_l("Save"))
