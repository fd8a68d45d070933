"""Read acknowledgements: who still has to read which procedure, confirming, completion report.

The to-read list is derived, never stored: a user has to read every procedure in force
whose departments include the user's department and whose current version the user has
not confirmed. Because "current" comes from :mod:`procedures.catalog` (git + today's
date), a version pushed with plain git, or an upcoming version whose effective date
arrives, appears in people's lists by itself. Only the confirmations are rows
(:class:`procedures.acknowledgements.models.ProcedureAcknowledgement`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from accounts.models import Department, User
from audit import service as audit
from procedures import catalog, document, redline_blocks
from procedures.acknowledgements.models import ProcedureAcknowledgement
from webapp.exceptions import Conflict, NotFound, ValidationError
from webapp.extensions import db
from webapp.i18n import _l

__all__ = ["ToRead", "DepartmentCompletion", "ProcedureCompletion", "relevant", "to_read", "count_to_read",
           "confirm", "report"]


@dataclass(frozen=True)
class ToRead:
    """One procedure a user still has to read: the current version and what they confirmed before."""

    current: catalog.VersionView
    #: The version the user confirmed last (None: never read this procedure).
    last_version: str | None = None
    last_commit: str | None = None

    @property
    def is_first_read(self) -> bool:
        return self.last_commit is None

    def changes_html(self) -> Markup:
        """Redline from the version the user confirmed last to the current one.

        Goes through :func:`catalog.compare`, so the comparison is cached by blob pair and
        shared with the compare page.
        """
        if self.last_commit is None:
            return Markup("")
        try:
            return catalog.compare(self.current.code, from_ref=self.last_commit, to_ref=self.current.commit).redline
        except NotFound:  # that version's commit is gone from main (rewritten history)
            return redline_blocks.compare("", self.current.markdown()).inline_html()

    def body_html(self) -> Markup | None:
        """The rendered text, or None when this one version cannot be displayed (the list still shows)."""
        try:
            return self.current.rendered().html
        except catalog.DocumentUnreadable:
            return None


def relevant(department_code: str | None, today: date | None = None) -> list[catalog.VersionView]:
    """Procedures in force (not withdrawn) that apply to ``department_code``, by code."""
    if not department_code:
        return []
    return [v for v in catalog.current_versions(today).values()
            if v.is_current and not v.is_withdrawn and department_code in v.departments]


def _department_code(user: User) -> str | None:
    return user.department.code if user.department is not None and user.department.active else None


def _acks_of(user_id: int, codes) -> dict[str, list[ProcedureAcknowledgement]]:
    rows = db.session.execute(
        select(ProcedureAcknowledgement).where(ProcedureAcknowledgement.user_id == user_id)
        .order_by(ProcedureAcknowledgement.acknowledged_at, ProcedureAcknowledgement.id)).scalars()
    found: dict[str, list[ProcedureAcknowledgement]] = {}
    codes = set(codes)
    for ack in rows:
        if ack.code in codes:
            found.setdefault(ack.code, []).append(ack)
    return found


def to_read(user: User, today: date | None = None) -> list[ToRead]:
    """What ``user`` still has to read, oldest effective date first (then by code)."""
    procedures = relevant(_department_code(user), today)
    acks = _acks_of(user.id, (v.code for v in procedures))
    items = []
    for v in procedures:
        mine = acks.get(v.code, [])
        if any(a.version == v.version for a in mine):
            continue
        last = mine[-1] if mine else None
        items.append(ToRead(current=v, last_version=last.version if last else None,
                            last_commit=last.commit if last else None))
    items.sort(key=lambda t: (t.current.effective, t.current.code))
    return items


def count_to_read(user: User, today: date | None = None) -> int:
    return len(to_read(user, today))


def confirm(user: User, code: str, version: str, today: date | None = None) -> ProcedureAcknowledgement:
    """Record that ``user`` has read ``version`` of ``code`` (the version in force); idempotent.

    Raises ValidationError for a malformed code or version, NotFound for an unknown
    procedure, and Conflict when ``version`` is no longer (or not yet) the one in force —
    the user must read the text that applies now.
    """
    errors = {}
    if not isinstance(code, str) or not document.CODE_RE.match(code):
        errors["code"] = [_l("The code must look like QP-CS-001 (capital letters, digits and hyphens).")]
    if not isinstance(version, str) or not document.VERSION_RE.match(version):
        errors["version"] = [_l("The version must look like A/0 (edition letter, slash, revision number).")]
    if errors:
        raise ValidationError(_l("Some fields are missing or invalid."), errors=errors)
    current = catalog.get_current(code, today)
    if current.is_withdrawn or not current.is_current:
        raise Conflict(_l("%(code)s is not in force, so there is nothing to confirm.", code=code),
                       code=code)
    if current.version != version:
        raise Conflict(_l("Version %(version)s of %(code)s is no longer the one in force; please read "
                          "version %(current)s.", version=version, code=code, current=current.version),
                       code=code, current=current.version)
    existing = _existing(user.id, code, version)
    if existing is not None:
        return existing
    ack = ProcedureAcknowledgement(user_id=user.id, code=code, version=version, commit=current.commit)
    db.session.add(ack)
    try:
        audit.record("procedure.acknowledged", ack, actor=user,
                     after={"code": code, "version": version, "commit": current.commit})
        db.session.commit()
    except IntegrityError:
        # The same user confirmed in another tab at the same moment: one row is enough.
        db.session.rollback()
        existing = _existing(user.id, code, version)
        if existing is None:
            raise
        return existing
    return ack


def _existing(user_id: int, code: str, version: str) -> ProcedureAcknowledgement | None:
    return db.session.execute(select(ProcedureAcknowledgement).where(
        ProcedureAcknowledgement.user_id == user_id, ProcedureAcknowledgement.code == code,
        ProcedureAcknowledgement.version == version)).scalar_one_or_none()


# ---------------------------------------------------------------------------
# completion report
# ---------------------------------------------------------------------------


@dataclass
class DepartmentCompletion:
    department: Department
    total: int = 0
    done: int = 0
    outstanding: list[User] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        return self.done / self.total if self.total else None


@dataclass
class ProcedureCompletion:
    current: catalog.VersionView
    departments: list[DepartmentCompletion] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(d.total for d in self.departments)

    @property
    def done(self) -> int:
        return sum(d.done for d in self.departments)

    @property
    def ratio(self) -> float | None:
        return self.done / self.total if self.total else None

    @property
    def complete(self) -> bool:
        return self.done == self.total


def report(department: str | None = None, *, incomplete_only: bool = False,
           today: date | None = None) -> list[ProcedureCompletion]:
    """Per procedure in force and per department it applies to: how many of the department's
    active users have confirmed the current version, and who is outstanding."""
    departments = {d.code: d for d in db.session.execute(
        select(Department).where(Department.active.is_(True))).scalars()}
    users_by_dept: dict[str, list[User]] = {}
    for user in db.session.execute(
            select(User).join(Department, User.department_id == Department.id)
            .where(User.active.is_(True), Department.active.is_(True))
            .order_by(User.display_name, User.login)).scalars():
        users_by_dept.setdefault(user.department.code, []).append(user)
    current = [v for v in catalog.current_versions(today).values() if v.is_current and not v.is_withdrawn]
    if department:
        current = [v for v in current if department in v.departments]
    wanted = {v.code: v.version for v in current}
    done: set[tuple[int, str]] = set()
    if wanted:
        for user_id, code, version in db.session.execute(
                select(ProcedureAcknowledgement.user_id, ProcedureAcknowledgement.code,
                       ProcedureAcknowledgement.version)
                .where(ProcedureAcknowledgement.code.in_(list(wanted)))):
            if wanted.get(code) == version:
                done.add((user_id, code))
    result = []
    for v in current:
        row = ProcedureCompletion(current=v)
        for code in v.departments:
            if code not in departments or (department and code != department):
                continue
            dept = DepartmentCompletion(department=departments[code])
            for user in users_by_dept.get(code, ()):
                dept.total += 1
                if (user.id, v.code) in done:
                    dept.done += 1
                else:
                    dept.outstanding.append(user)
            row.departments.append(dept)
        if incomplete_only and row.complete:
            continue
        result.append(row)
    return result
