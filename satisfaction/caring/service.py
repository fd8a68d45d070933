"""Caring services (亲情服务记录, procedure 4.2.4): entering, listing, monthly counts, voiding."""
from __future__ import annotations

from datetime import date

from sqlalchemy import extract, func, or_, select
from sqlalchemy.orm import joinedload

from accounts.models import LocalizedName, Project, User, user_projects
from audit import service as audit
from records import validation as v
from records.scope import check_project, project_ids, restrict
from records.voiding import VoidRules, void
from satisfaction.caring.models import CaringService
from webapp.db import utcnow
from webapp.exceptions import NotFound
from webapp.extensions import db
from webapp.i18n import REQUIRED, _l

#: Common kinds offered as suggestions; staff may type any other service.
COMMON_SERVICES = (
    _l("Collecting parcels"),
    _l("Small repairs at home"),
    _l("Accompanying to hospital"),
    _l("Paying bills on the owner's behalf"),
    _l("Visiting elderly owners living alone"),
    _l("Watering plants while away"),
    _l("Carrying heavy items"),
    _l("Lending tools or umbrellas"),
)

FIELDS = ("project_id", "served_on", "staff_id", "household", "service", "minutes", "owner_comment",
          "voided_at", "void_reason")
MAX_MINUTES = 24 * 60


def validate(data: dict, *, actor) -> dict:
    """Clean caring-service input (form or API) or raise ValidationError listing every problem."""
    errors: dict = {}
    clean = {
        "served_on": v.day(data, "served_on", errors, required=True, not_future=True),
        "household": v.text(data, "household", errors, required=True, max_len=60),
        "service": v.text(data, "service", errors, required=True, max_len=120),
        "minutes": v.integer(data, "minutes", errors, required=True, min_value=1, max_value=MAX_MINUTES),
        "owner_comment": v.text(data, "owner_comment", errors, max_len=2000),
    }
    if not data.get("project_id"):
        v.add_error(errors, "project_id", REQUIRED)
    staff = data.get("staff_id") or getattr(actor, "id", None)
    clean["staff_id"] = v.reference(User, {"staff_id": staff}, "staff_id", errors, _l("Unknown staff member."),
                                    required=True)
    if clean["staff_id"] is not None and clean["staff_id"] not in {u.id for u in staff_candidates(actor)}:
        # The form offers only staff of the user's projects; the API must not credit anyone else.
        v.add_error(errors, "staff_id", _l("Unknown staff member."))
    v.raise_errors(errors)
    clean["project_id"] = check_project(data["project_id"], actor).id
    return clean


def create_service(data: dict, *, actor) -> CaringService:
    """Record one caring service (scope-checked, audited, committed)."""
    clean = validate(data, actor=actor)
    record = CaringService(**clean, created_by_id=getattr(actor, "id", None), created_at=utcnow(), void_reason="")
    db.session.add(record)
    audit.record("caring.created", record, after=audit.snapshot(record, FIELDS), actor=actor)
    db.session.commit()
    return record


def get_service(service_id, user=None) -> CaringService:
    try:
        record = db.session.get(CaringService, int(service_id))
    except (TypeError, ValueError):
        record = None
    if record is None:
        raise NotFound(_l("This caring service record does not exist."))
    check_project(record.project_id, user)
    return record


VOID = VoidRules(audit_as="caring.voided", already=_l("This record has already been voided."),
                 snapshot=lambda record: audit.snapshot(record, FIELDS))


def void_service(record: CaringService, *, reason, actor, version=None, now=None) -> CaringService:
    """Void a record with a reason (kept, shown with the voided filter, left out of the counts).
    Caring records have no lock version: ``version`` is accepted and not checked."""
    void(record, VOID, reason=reason, actor=actor, now=now)
    db.session.commit()
    return record


def month_bounds(year: int, month: int | None = None) -> tuple[date, date]:
    """[first day, first day after) of a month, or of the whole year when ``month`` is None."""
    if month is None:
        return date(year, 1, 1), date(year + 1, 1, 1)
    end = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return date(year, month, 1), end


def list_services(*, user, project_id=None, staff_id=None, year: int | None = None, month: int | None = None,
                  q: str = "", voided: str = ""):
    """A SELECT of the records the user may see, newest first. ``voided``: "" (valid), "only", "all"."""
    stmt = restrict(select(CaringService), CaringService.project_id, user).options(
        joinedload(CaringService.project), joinedload(CaringService.staff))
    if voided == "only":
        stmt = stmt.where(CaringService.voided_at.is_not(None))
    elif voided != "all":
        stmt = stmt.where(CaringService.voided_at.is_(None))
    if project_id:
        stmt = stmt.where(CaringService.project_id == int(project_id))
    if staff_id:
        stmt = stmt.where(CaringService.staff_id == int(staff_id))
    if year:
        start, end = month_bounds(year, month)
        stmt = stmt.where(CaringService.served_on >= start, CaringService.served_on < end)
    if q:
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(CaringService.household.ilike(like, escape="\\"),
                              CaringService.service.ilike(like, escape="\\"),
                              CaringService.owner_comment.ilike(like, escape="\\")))
    return stmt.order_by(CaringService.served_on.desc(), CaringService.id.desc())


def monthly_counts(year: int, *, user, project_id=None) -> dict:
    """Non-voided caring services of ``year`` per project and per staff member, by month.

    Returns ``{"projects": [row], "staff": [row], "totals": row}`` where a row is
    ``{"key", "label", "sort", "months": {1..12: (count, minutes)}, "count", "minutes"}``;
    rows with no service are left out. One GROUP BY (project, staff, month) over the year's
    rows, then both views are summed up here; names come from two small lookups.
    """
    start, end = month_bounds(year)
    month = extract("month", CaringService.served_on)
    stmt = (select(CaringService.project_id, CaringService.staff_id, month, func.count(CaringService.id),
                   func.coalesce(func.sum(CaringService.minutes), 0))
            .where(CaringService.voided_at.is_(None), CaringService.served_on >= start, CaringService.served_on < end)
            .group_by(CaringService.project_id, CaringService.staff_id, month))
    if project_id:
        stmt = stmt.where(CaringService.project_id == int(project_id))
    groups = db.session.execute(restrict(stmt, CaringService.project_id, user)).all()

    project_ids = {g[0] for g in groups}
    staff_ids = {g[1] for g in groups}
    projects = {pid: _row(pid, _Name(name, name_en).label, code) for pid, code, name, name_en in db.session.execute(
        select(Project.id, Project.code, Project.name, Project.name_en).where(Project.id.in_(project_ids or [-1])))}
    staff = {uid: _row(uid, name) for uid, name in db.session.execute(
        select(User.id, User.display_name).where(User.id.in_(staff_ids or [-1])))}
    totals = _row("total", "")
    for pid, uid, m, count, minutes in groups:
        m, minutes = int(m), int(minutes)
        _add(projects[pid], m, count, minutes)
        _add(staff[uid], m, count, minutes)
        _add(totals, m, count, minutes)
    return {
        "projects": sorted(projects.values(), key=lambda r: r["sort"]),
        "staff": sorted(staff.values(), key=lambda r: (-r["count"], r["label"])),
        "totals": totals,
    }


class _Name(LocalizedName):
    def __init__(self, name: str, name_en: str):
        self.name, self.name_en = name, name_en


def _row(key, label, sort="") -> dict:
    return {"key": key, "label": label, "sort": sort or label, "months": {}, "count": 0, "minutes": 0}


def _add(row: dict, month: int, count: int, minutes: int) -> None:
    c, mins = row["months"].get(month, (0, 0))
    row["months"][month] = (c + count, mins + int(minutes))
    row["count"] += count
    row["minutes"] += int(minutes)


def staff_candidates(user) -> list[User]:
    """Active users who work on a project ``user`` can see (everyone for all-projects users)."""
    stmt = select(User).where(User.active.is_(True)).order_by(User.display_name)
    allowed = project_ids(user)
    if allowed is not None:
        shared = select(user_projects.c.user_id).where(user_projects.c.project_id.in_(allowed or [-1]))
        stmt = stmt.where(or_(User.id.in_(shared), User.id == user.id))
    return list(db.session.execute(stmt).scalars())
