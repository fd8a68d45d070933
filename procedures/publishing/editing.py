"""The editor's two modes: the front matter as form fields beside the Markdown body, or the whole file.

The server stays the one source of truth. The form mode posts the fields and the body as
:class:`DocumentFields`, and the service :func:`compose`\\ s the file from them, which the
publishing checks then parse exactly as a file sent in source mode, uploaded, or pushed with
plain git (:func:`procedures.document.parse`). :func:`fields_of` goes the other way, for the
switch from the source text to the fields. Front-matter keys the form has no field for travel
along as YAML text (``extra``), so a switch never drops them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import yaml
from sqlalchemy import select

from accounts.models import Department, User
from procedures import document
from webapp.exceptions import ValidationError
from webapp.extensions import db
from webapp.i18n import _l

__all__ = ["DocumentFields", "compose", "fields_of", "department_choices", "owner_choices"]


@dataclass(frozen=True)
class DocumentFields:
    """A procedure as the editor's form mode holds it: each front-matter value as typed, and the body."""

    code: str = ""
    title: str = ""
    departments: tuple[str, ...] = ()
    effective: str = ""
    review_months: str = ""
    owner: str = ""
    body: str = ""
    #: The front-matter keys the form has no field for, as YAML (``iso_clause: 7.5``), kept as they were.
    extra: str = ""
    version: str = field(default="", compare=False)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def compose(fields: DocumentFields, *, code: str | None = None, version: str | None = None) -> str:
    """The procedure file the form's ``fields`` make (status ``effective``: a published version is in
    force or upcoming). ``code``: the procedure being edited (its code is not a form field then).
    ValidationError (``front_matter``) when ``extra`` is not a set of ``field: value`` lines."""
    extra = {}
    if fields.extra.strip():
        extra, _body = document.read_front_matter(f"---\n{fields.extra.strip()}\n---\n")
    values = {
        "code": code or fields.code.strip(),
        "title": fields.title,
        "departments": [d for d in fields.departments if d],
        "version": version or fields.version or "A/0",
        "effective": fields.effective,
        "review_months": fields.review_months,
        "status": document.STATUS_EFFECTIVE,
        "owner": fields.owner,
    }
    return document.compose(values, fields.body, extra)


def fields_of(text: str) -> DocumentFields:
    """The form fields of a whole procedure file (the switch from source to form). Values that are not
    what the format wants are kept as text, for the checks to report; ValidationError only when the
    front matter itself cannot be read (no block, YAML errors)."""
    data, body = document.read_front_matter(text)
    unclean = document.unclean_values(data)
    if unclean:  # never shown in a form: the source mode shows the text and parse() the reason
        raise ValidationError(_l("The procedure file has errors; please correct the fields listed."), errors=unclean)
    departments = data.get("departments")
    if not isinstance(departments, (list, tuple)):
        departments = [] if departments is None else [departments]
    known = ("code", "title", "departments", "version", "effective", "review_months", "status", "owner")
    extra = {key: value for key, value in data.items() if key not in known}
    return DocumentFields(
        code=_text(data.get("code")), title=_text(data.get("title")),
        departments=tuple(_text(d) for d in departments), effective=_text(data.get("effective")),
        review_months=_text(data.get("review_months")), owner=_text(data.get("owner")), body=body,
        extra=yaml.safe_dump(extra, allow_unicode=True, sort_keys=True, width=10_000).strip() if extra else "",
        version=_text(data.get("version")))


def department_choices(selected=()) -> list[tuple[str, str]]:
    """``(code, "name (code)")`` of the departments a procedure may apply to, plus any code in
    ``selected`` that is not one (shown, so the check can say it does not exist)."""
    rows = db.session.execute(select(Department).order_by(Department.code)).scalars()
    found = [(d.code, f"{d.label} ({d.code})" if d.label != d.code else d.code) for d in rows]
    codes = {code for code, _label in found}
    return found + [(code, code) for code in selected if code and code not in codes]


def owner_choices(current: str = "") -> list[tuple[str, str]]:
    """``(login, "display name (login)")`` of the active users, plus ``current`` when it is not one."""
    users = db.session.execute(select(User.login, User.display_name).where(User.active.is_(True))
                               .order_by(User.display_name, User.login)).all()
    found = [(login, f"{name} ({login})" if name and name != login else login) for login, name in users]
    if current and current not in {login for login, _label in found}:
        found.append((current, current))
    return found
