"""How an audit entry reads: its values as text, its change field by field, who did it and to what.

Entries keep before/after as JSON. People read them here: text as text (never ``"\\u5f20\\u4e09"``),
times in the company's zone, dates and numbers as the reader's language writes them, yes/no,
nested values line by line, field names translated (:mod:`audit.labels`). Nothing here changes an
entry: the values are read, never written back (the ORM would flush a change to a sealed row).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import get_locale
from sqlalchemy import or_, select

from audit import labels
from audit.models import AuditEntry
from webapp.extensions import db
from webapp.formatting import fmt_date, fmt_datetime, fmt_number
from webapp.i18n import _, _l

#: A value longer than this (characters) or than :data:`MAX_LINES` lines is shown cut, with "show all".
LONG = 160
MAX_LINES = 4
#: Fields whose numbers are identifiers or years: shown as they are, never as 2,026.
_PLAIN_NUMBER = re.compile(r"(^|_)(id|ids|year|number|version|count|prefix)$|^(first|last)_id$")
_ISO_DATETIME = re.compile(r"\A\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?\Z")
_ISO_DATE = re.compile(r"\A\d{4}-\d{2}-\d{2}\Z")
#: Keys that name an object for people, best first (a complaint's number, a procedure's title …).
REFERENCE_KEYS = ("number", "code", "login", "key", "title", "name", "summary")
#: Actions whose entry records what an object was called when it was made (looked up for references).
_BIRTH_SUFFIXES = (".created", ".opened", ".proposed", ".imported", ".committed_outside_app")


def _zh() -> bool:
    return str(get_locale() or "zh_Hans").startswith("zh")


def list_separator() -> str:
    return "、" if _zh() else ", "


def _decoded(text: str):
    """A string that is itself JSON (a quoted string, an object, a list) as its value; else the string."""
    if len(text) >= 2 and (text[0], text[-1]) in (('"', '"'), ("{", "}"), ("[", "]")):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def _scalar_text(value, field: str, object_type: str = "") -> str:
    if value is None:
        return ""
    coded = labels.value_label(object_type, field, value)
    if coded is not None:
        return coded
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    if isinstance(value, int | float):
        if isinstance(value, float) and value != value:  # NaN never comes from JSON, but be safe
            return str(value)
        if _PLAIN_NUMBER.search(field or "") or isinstance(value, int) and abs(value) < 10_000:
            return str(value)
        if isinstance(value, float) and not value.is_integer():
            return fmt_number(value, 2)
        return fmt_number(value)
    if isinstance(value, datetime):
        return fmt_datetime(value)
    if isinstance(value, date):
        return fmt_date(value)
    text = str(value)
    if _ISO_DATETIME.match(text):
        try:
            return fmt_datetime(datetime.fromisoformat(text.replace("Z", "+00:00")))
        except ValueError:
            return text
    if _ISO_DATE.match(text):
        try:
            return fmt_date(date.fromisoformat(text))
        except ValueError:
            return text
    return text


def as_text(value, field: str = "", object_type: str = "", *, inline: bool = False) -> str:
    """``value`` (from an entry's JSON) as the text a person reads; nested values one per line
    (``inline``: on one line, for an item of a list)."""
    if isinstance(value, str):
        value = _decoded(value)
    if isinstance(value, dict):
        parts = [f"{labels.field_label(str(k), object_type, field).text}: "
                 f"{as_text(v, str(k), object_type, inline=True)}" for k, v in value.items()]
        return ("; " if inline else "\n").join(parts)
    if isinstance(value, list | tuple):
        if all(not isinstance(v, dict | list | tuple) for v in value):
            return list_separator().join(_scalar_text(v, field, object_type) for v in value)
        return ("; " if inline else "\n").join(as_text(v, field, object_type, inline=True) for v in value)
    return _scalar_text(value, field, object_type)


@dataclass(frozen=True)
class Shown:
    """A value as text: ``text`` in full, ``short`` its beginning when it is long (else empty)."""

    text: str

    @property
    def empty(self) -> bool:
        return self.text == ""

    @property
    def short(self) -> str:
        lines = self.text.split("\n")
        if len(self.text) <= LONG and len(lines) <= MAX_LINES:
            return ""
        cut = "\n".join(lines[:MAX_LINES])[:LONG]
        return cut.rstrip() + "…"


def show(value, field: str = "", object_type: str = "") -> Shown:
    return Shown(as_text(value, field, object_type))


@dataclass(frozen=True)
class FieldChange:
    """One field of an entry. ``kind``: changed, added (only after), removed (only before), same, or
    recorded (the entry has one side only: a creation, a record of something done)."""

    name: str
    label: labels.Label
    before: Shown | None
    after: Shown | None
    kind: str

    @property
    def changed(self) -> bool:
        return self.kind in ("changed", "added", "removed")


def _as_dict(value) -> dict | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return value
    return {"": value}  # a bare value (never written by ProcDesk, but the column allows it)


def _label(name: str, object_type: str) -> labels.Label:
    if name == "":
        return labels.Label("", str(_l("Recorded value")))
    return labels.field_label(name, object_type)


def changes(entry: AuditEntry) -> list[FieldChange]:
    """Every field of ``entry`` with its value before and after, in the order the entry lists them."""
    before, after = _as_dict(entry.before), _as_dict(entry.after)
    kind_type = entry.object_type
    names = list(before or {}) + [k for k in (after or {}) if k not in (before or {})]
    rows = []
    for name in names:
        has_before, has_after = before is not None and name in before, after is not None and name in after
        if before is None or after is None:
            kind = "recorded"
        elif has_before and has_after:
            kind = "same" if before[name] == after[name] else "changed"
        else:
            kind = "added" if has_after else "removed"
        rows.append(FieldChange(
            name=name, label=_label(name, kind_type),
            before=show(before[name], name, kind_type) if has_before else None,
            after=show(after[name], name, kind_type) if has_after else None,
            kind=kind))
    # What changed first (in the entry's order), then what stayed the same.
    return [r for r in rows if r.changed] + [r for r in rows if not r.changed]


def _short(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def summary(entry: AuditEntry, *, limit: int = 3) -> str:
    """One line saying what changed: ``Status: received → acknowledged; …`` (short values only),
    or the fields recorded."""
    rows = changes(entry)
    # What was there before and is different now; fields only added (a publish names its new title,
    # commit …) when nothing else changed.
    changed = [r for r in rows if r.kind in ("changed", "removed")] or [r for r in rows if r.kind == "added"]
    sep = "；" if _zh() else "; "
    if changed:
        parts = []
        for r in changed[:limit]:
            b = r.before.text if r.before else ""
            a = r.after.text if r.after else ""
            if len(b) <= 30 and len(a) <= 30 and "\n" not in b + a:
                parts.append(f"{r.label.text}: {b or '—'} → {a or '—'}")
            else:
                parts.append(r.label.text)
        more = len(changed) - limit
        return sep.join(parts) + (sep + _("%(n)d more", n=more) if more > 0 else "")
    if not rows:
        return ""
    shown = list_separator().join(r.label.text for r in rows[:limit + 1])
    return shown + ("…" if len(rows) > limit + 1 else "")


def changes_text(entry: AuditEntry) -> str:
    """The change as plain text, a line per field (for exports): ``Field: before → after``, or
    ``Field: value`` for an entry that records one side only."""
    lines = []
    for r in changes(entry):
        if r.kind == "same":
            continue
        if r.kind == "recorded":
            value = (r.after or r.before).text
            lines.append(f"{r.label.text}: {value}")
        else:
            lines.append(f"{r.label.text}: {r.before.text if r.before else ''} → {r.after.text if r.after else ''}")
    return "\n".join(lines)


def actor_name(entry: AuditEntry) -> str:
    """Who acted: the user's name (and login), the recorded login (a commit's author), or "system"."""
    if entry.actor is not None:
        name = entry.actor.display_name or entry.actor.login
        return f"{name} ({entry.actor_login or entry.actor.login})" if name != entry.actor_login else name
    return entry.actor_login or str(_("system"))


def _reference_in(values) -> str:
    if not isinstance(values, dict):
        return ""
    for key in REFERENCE_KEYS:
        value = values.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return _short(str(value), 60)
    return ""


def references(entries) -> dict[tuple[str, str], str]:
    """A name people know each entry's object by (``(object_type, object_id)`` -> text, e.g. a
    complaint's number): from the entry that created the object (one query for all of them), else
    from the entry itself."""
    wanted = {(e.object_type, e.object_id) for e in entries}
    found: dict[tuple[str, str], str] = {}
    if wanted:
        # By object id only (its index is selective; a database given the type too may read every entry
        # of that type), the types sorted out here: an object is born once, so few rows come back.
        stmt = (select(AuditEntry.object_type, AuditEntry.object_id, AuditEntry.after)
                .where(AuditEntry.object_id.in_({i for _t, i in wanted}),
                       or_(*(AuditEntry.action.endswith(s) for s in _BIRTH_SUFFIXES)))
                .order_by(AuditEntry.id))
        for object_type, object_id, after in db.session.execute(stmt):
            key = (object_type, object_id)
            ref = _reference_in(after)
            if key in wanted and key not in found and ref and ref != object_id:
                found[key] = ref
    for e in entries:
        key = (e.object_type, e.object_id)
        ref = _reference_in(e.after) or _reference_in(e.before)
        if key not in found and ref and ref != e.object_id:
            found[key] = ref
    return found
