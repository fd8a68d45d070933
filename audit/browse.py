"""Finding entries in the audit log: the filters of the log page and its exports, checked.

Filters arrive in the query string (``actor_login``, ``object_type``, ``object_id``, ``action``,
``q``, ``from``, ``to``). A malformed one is not silently dropped — an auditor must never read an
unfiltered log as a filtered one — but named in :attr:`Filters.errors` with a translated message.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, String, cast, func, or_, select
from sqlalchemy.orm import selectinload

from audit import labels
from audit.models import AuditEntry
from webapp import dates
from webapp.extensions import db
from webapp.i18n import _l

MAX_TEXT = 100
_ACTION = re.compile(r"\A[a-z0-9_]+(\.[a-z0-9_]*)?\Z")
#: Query-string names of the filters, in the order links carry them.
NAMES = ("actor_login", "object_type", "object_id", "action", "q", "from", "to")


@dataclass
class Filters:
    actor_login: str = ""
    object_type: str = ""
    object_id: str = ""
    action: str = ""
    q: str = ""
    start: date | None = None
    end: date | None = None
    raw: dict = field(default_factory=dict)  #: what was typed, to show it again
    errors: dict = field(default_factory=dict)  #: query name -> translated message

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def active(self) -> bool:
        return any(self.raw.get(n) for n in NAMES)

    def args(self) -> dict[str, str]:
        """The filters as query-string arguments (for links that keep them)."""
        return {n: self.raw[n] for n in NAMES if self.raw.get(n)}


def _text(args: Mapping, name: str, limit: int) -> tuple[str, str]:
    value = str(args.get(name) or "").strip()
    return value, ("" if len(value) <= limit else name)


def _day(value: str, name: str, errors: dict) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = _l("Enter a date as YYYY-MM-DD.")
        return None


def parse_filters(args: Mapping) -> Filters:
    """The filters in ``args``; malformed values are kept (to show again) and named in ``errors``."""
    raw = {n: str(args.get(n) or "").strip()[:200] for n in NAMES}
    errors: dict = {}
    values = {}
    for name, limit in (("actor_login", 64), ("object_type", 60), ("object_id", 120), ("action", 60),
                        ("q", MAX_TEXT)):
        value, bad = _text(args, name, limit)
        if bad:
            errors[name] = _l("Too long: at most %(n)d characters.", n=limit)
        elif "\x00" in value:
            errors[name] = _l("This value contains characters that cannot be searched for.")
        values[name] = value
    if values["action"] and not _ACTION.match(values["action"]):
        errors["action"] = _l("Choose an action from the list.")
    start, end = _day(raw["from"], "from", errors), _day(raw["to"], "to", errors)
    if start and end and start > end:
        errors["to"] = _l("The end date is before the start date.")
    return Filters(start=start, end=end, raw=raw, errors=errors, **values)


def _instant(day: date) -> datetime | None:
    """Midnight of ``day`` in the company's zone, in UTC; None when that is beyond what a datetime holds
    (a filter from year 1 or to year 9999 means "no bound")."""
    try:
        return datetime.combine(day, time.min, tzinfo=dates.zone()).astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def _like(text: str) -> str:
    return "%" + text.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"


def _json_forms(text: str) -> set[str]:
    """``text`` as it may be stored inside JSON: as typed, and with non-ASCII escaped (``\\u5f20``)."""
    return {text, json.dumps(text)[1:-1]}


def entries_query(filters: Filters) -> Select:
    """The entries ``filters`` select, newest first, with their actors loaded alongside."""
    stmt = select(AuditEntry).options(selectinload(AuditEntry.actor)).order_by(AuditEntry.id.desc())
    return stmt.where(*conditions(filters))


def conditions(filters: Filters) -> list:
    where = []
    if filters.actor_login:
        actor = AuditEntry.actor.property.mapper.class_  # the User model, without importing accounts
        user_ids = select(actor.id).where(actor.login == filters.actor_login)
        where.append(or_(AuditEntry.actor_login == filters.actor_login, AuditEntry.actor_id.in_(user_ids)))
    if filters.object_type:
        types = (filters.object_type, *labels.OBJECT_ALIASES.get(filters.object_type, ()))
        where.append(AuditEntry.object_type.in_(types))
    if filters.object_id:
        where.append(AuditEntry.object_id == filters.object_id)
    if filters.action:
        if filters.action.endswith("."):
            where.append(AuditEntry.action.startswith(filters.action, autoescape=True))
        else:
            where.append(AuditEntry.action == filters.action)
    if filters.start and (start := _instant(filters.start)) is not None:
        where.append(AuditEntry.at >= start)
    if filters.end and filters.end < date.max and (end := _instant(filters.end + timedelta(days=1))) is not None:
        where.append(AuditEntry.at < end)
    if filters.q:
        texts = []
        for form in _json_forms(filters.q):
            pattern = _like(form)
            texts += [AuditEntry.reason.ilike(pattern, escape="!"), AuditEntry.object_id.ilike(pattern, escape="!"),
                      cast(AuditEntry.before, String).ilike(pattern, escape="!"),
                      cast(AuditEntry.after, String).ilike(pattern, escape="!")]
        where.append(or_(*texts))
    return where


def count(filters: Filters) -> int:
    return db.session.execute(select(func.count()).select_from(AuditEntry).where(*conditions(filters))).scalar_one()


def object_types() -> list[tuple[str, str]]:
    """``(object type, label)`` of the types the log holds, by label (an alias folded into its type)."""
    held = db.session.execute(select(AuditEntry.object_type).group_by(AuditEntry.object_type)).scalars()
    folded = {alias: key for key, aliases in labels.OBJECT_ALIASES.items() for alias in aliases}
    types = {folded.get(t, t) for t in held}
    return sorted(((t, labels.object_label(t).text) for t in types), key=lambda pair: pair[1])


def actors() -> list[tuple[str, str]]:
    """``(login, "name (login)")`` of every user, by name, for the person filter."""
    user = AuditEntry.actor.property.mapper.class_
    rows = db.session.execute(select(user.login, user.display_name).order_by(user.display_name, user.login)).all()
    return [(login, f"{name} ({login})" if name and name != login else login) for login, name in rows]
