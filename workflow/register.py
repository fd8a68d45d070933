"""The review register (复审台账) for auditors, and the approval rules as a settings page.

The register lists every review, open or not, with what it covered (versions before → after and the
decision per procedure), why it was opened, who chaired and took part, and what it released. One query
for the page of reviews and one per collection (``selectinload``), whatever the page size. The same
filters drive the page, the print view and the CSV/XLSX export (one row per review).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload

from accounts.models import Department
from accounts.permissions import PARTICIPANT_CATEGORIES
from procedures.models import Procedure
from webapp import dates
from webapp.exceptions import NotFound, ValidationError
from webapp.extensions import db
from webapp.i18n import _, _l
from workflow import signoffs
from workflow.deciding import DECISION_LABELS
from workflow.models import KINDS, OPEN_STATES, TRIGGER_TYPES, ApprovalRule, Review, ReviewItem, ReviewTrigger
from workflow.schedule import waiting_clause
from workflow.service import KIND_LABELS, TRIGGER_LABELS
from workflow.states import STATE_LABELS

#: The state filter: any, open (any step before closing), one step of an open review, closed, cancelled.
STATE_FILTERS = {"any": _l("Any"), "open": _l("In progress"), **{s: STATE_LABELS[s] for s in OPEN_STATES},
                 "closed": _l("Closed"), "cancelled": _l("Cancelled")}
#: The key of the default rule in URLs and forms (a department code otherwise).
DEFAULT_KEY = "default"
MAX_QUERY = 100


@dataclass(frozen=True)
class Filters:
    """What the register shows; empty values select everything."""

    state: str = "any"
    kind: str = ""
    procedure: str = ""
    department: str = ""
    year: int | None = None
    trigger: str = ""
    q: str = ""
    #: ``?waiting=me``: the open reviews where this user (id) takes part and must act now.
    waiting_for: int | None = None

    def args(self) -> dict:
        """The filters as query arguments (for links to the export and print views)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "waiting_for"}
        if self.waiting_for:
            out["waiting"] = "me"
        return {k: v for k, v in out.items() if v not in ("", None) and not (k == "state" and v == "any")}


def parse_filters(args: Mapping, user=None) -> Filters:
    """The filters of a query string; unknown or malformed values are ignored (never an error). ``user``:
    whom ``waiting=me`` means (without one it is ignored)."""
    state = str(args.get("state") or "any")
    kind = str(args.get("kind") or "")
    trigger = str(args.get("trigger") or "")
    try:
        year = int(str(args.get("year") or "")[:4])
    except ValueError:
        year = None
    return Filters(
        state=state if state in STATE_FILTERS else "any",
        kind=kind if kind in KINDS else "",
        procedure=str(args.get("procedure") or "").strip().upper()[:40],
        department=str(args.get("department") or "").strip()[:20],
        year=year if year and 2000 <= year <= 9998 else None,
        trigger=trigger if trigger in TRIGGER_TYPES else "",
        q=str(args.get("q") or "").strip()[:MAX_QUERY],
        waiting_for=user.id if user is not None and args.get("waiting") == "me" else None,
    )


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _codes_of_department(department: str) -> list[str]:
    """The procedures that apply to ``department`` (the catalogue's JSON list, read in Python: it is
    small, and JSON containment is spelled differently on every database)."""
    rows = db.session.execute(select(Procedure.code, Procedure.departments)).all()
    return [code for code, depts in rows if department in (depts or [])]


def _year_range(year: int) -> tuple[datetime, datetime]:
    """The company's calendar year as UTC instants (a review opened on 1 January at 07:00 in Shanghai
    belongs to that year)."""
    zone = dates.zone()
    return (datetime(year, 1, 1, tzinfo=zone).astimezone(UTC), datetime(year + 1, 1, 1, tzinfo=zone).astimezone(UTC))


def reviews_query(filters: Filters) -> Select:
    """The reviews ``filters`` select, newest first, with their items, triggers, participants and chair
    loaded alongside (no query per row)."""
    stmt = select(Review).options(selectinload(Review.items), selectinload(Review.triggers),
                                  selectinload(Review.participants), selectinload(Review.chair))
    if filters.state == "open":
        stmt = stmt.where(Review.state.in_(OPEN_STATES))
    elif filters.state != "any":
        stmt = stmt.where(Review.state == filters.state)
    if filters.waiting_for:
        stmt = stmt.where(waiting_clause(filters.waiting_for))
    if filters.kind:
        stmt = stmt.where(Review.kind == filters.kind)
    if filters.procedure:
        stmt = stmt.where(Review.id.in_(select(ReviewItem.review_id).where(ReviewItem.code == filters.procedure)))
    if filters.department:
        covered = select(ReviewItem.review_id).where(ReviewItem.code.in_(_codes_of_department(filters.department)))
        stmt = stmt.where(or_(Review.department == filters.department, Review.id.in_(covered)))
    if filters.year:
        start, end = _year_range(filters.year)
        stmt = stmt.where(Review.created_at >= start, Review.created_at < end)
    if filters.trigger:
        stmt = stmt.where(Review.id.in_(select(ReviewTrigger.review_id)
                                        .where(ReviewTrigger.source_type == filters.trigger)))
    if filters.q:
        pattern = _like(filters.q)
        stmt = stmt.where(or_(Review.number.ilike(pattern, escape="\\"), Review.title.ilike(pattern, escape="\\")))
    return stmt.order_by(Review.created_at.desc(), Review.id.desc())


def reviews(filters: Filters, limit: int) -> list[Review]:
    """At most ``limit`` reviews for the export and the print view."""
    return list(db.session.scalars(reviews_query(filters).limit(limit)))


def departments() -> dict[str, str]:
    """Active department code → label (the department filter and the rules page)."""
    rows = db.session.scalars(select(Department).where(Department.active.is_(True)).order_by(Department.code))
    return {d.code: d.label for d in rows}


def years() -> list[int]:
    """The years the register can be filtered by: from the first review's to this one, newest first."""
    first = db.session.scalar(select(func.min(Review.created_at)))
    this = dates.local_today().year
    start = first.astimezone(dates.zone()).year if first else this
    return list(range(this, start - 1, -1))


# ---------------------------------------------------------------------------
# one review as the register shows it
# ---------------------------------------------------------------------------


def trigger_text(trigger: ReviewTrigger) -> str:
    kind = str(TRIGGER_LABELS.get(trigger.source_type, trigger.source_type))
    return f"{kind}: {trigger.label}" if trigger.label else kind


def change_text(item: ReviewItem) -> str:
    """``QP-CS-001 A/0 → A/1`` (``—`` for a version not known yet)."""
    return f"{item.code} {item.version_before or '—'} → {item.version_after or '—'}"


def decision_text(item: ReviewItem) -> str:
    return str(DECISION_LABELS.get(item.decision, item.decision)) if item.decision else ""


def participant_counts(review: Review) -> list[tuple[str, int]]:
    """(category label, number of participants) in the procedure's order of the categories; absent
    categories are left out."""
    counts = Counter(p.category for p in review.participants)
    return [(str(label), counts[c]) for c, label in PARTICIPANT_CATEGORIES.items() if counts[c]]


def short_commit(review: Review) -> str:
    return (review.result_commit or "")[:10]


def export_table(rows: Iterable[Review], department_labels: Mapping[str, str]) -> tuple[list[str], list[tuple]]:
    """(headers, one row per review) of the CSV/XLSX export; several procedures share one cell, a line
    each."""
    headers = [_("Number"), _("Kind"), _("State"), _("Title"), _("Department"), _("Triggers"),
               _("Procedures (version before → after)"), _("Decisions"), _("Chair"), _("Participants"),
               _("Opened"), _("Closed"), _("Effective date"), _("Result commit"), _("Decision summary"),
               _("Reason for cancelling")]
    table = []
    for r in rows:
        table.append((
            r.number, str(KIND_LABELS.get(r.kind, r.kind)), str(STATE_LABELS.get(r.state, r.state)), r.title,
            department_labels.get(r.department, r.department or ""),
            "\n".join(trigger_text(t) for t in r.triggers),
            "\n".join(change_text(i) for i in r.items),
            "\n".join(f"{i.code}: {decision_text(i)}" for i in r.items if i.decision),
            r.chair.display_name if r.chair else "",
            ", ".join(f"{label} {n}" for label, n in participant_counts(r)),
            r.created_at, r.closed_at, r.effective_on, r.result_commit or "", r.decision_summary,
            r.cancel_reason))
    return headers, table


def describe(filters: Filters, department_labels: Mapping[str, str]) -> str:
    """The filters in words, for the print view's heading and the export's subtitle."""
    parts = []
    if filters.state != "any":
        parts.append(_("State: %(value)s", value=STATE_FILTERS[filters.state]))
    if filters.kind:
        parts.append(_("Kind: %(value)s", value=KIND_LABELS[filters.kind]))
    if filters.procedure:
        parts.append(_("Procedure: %(value)s", value=filters.procedure))
    if filters.department:
        parts.append(_("Department: %(value)s", value=department_labels.get(filters.department, filters.department)))
    if filters.year:
        parts.append(_("Opened in: %(value)s", value=filters.year))
    if filters.trigger:
        parts.append(_("Trigger: %(value)s", value=TRIGGER_LABELS[filters.trigger]))
    if filters.q:
        parts.append(_("Number or title contains: %(value)s", value=filters.q))
    if filters.waiting_for:
        parts.append(_("Waiting for me"))
    return "; ".join(parts) if parts else _("All reviews")


# ---------------------------------------------------------------------------
# approval rules
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleEntry:
    """One line of the rules page: the default rule (``department`` None) or a department's.

    ``own``: the department has its own rule (else the default applies to it)."""

    key: str
    department: str | None
    label: str
    rule: signoffs.Rule
    own: bool
    active: bool = True


def rules_overview() -> list[RuleEntry]:
    """The default rule, then every active department's rule (its own or the default), then rules kept
    for departments no longer active (they still apply to those departments' reviews)."""
    labels = departments()
    default = signoffs.rule_for(None)
    entries = [RuleEntry(DEFAULT_KEY, None, _("Default rule"), default, own=True)]
    for code, label in labels.items():
        rule = signoffs.rule_for(code)
        entries.append(RuleEntry(code, code, label, rule, own=rule.department == code))
    stale = db.session.scalars(select(ApprovalRule.department).where(
        ApprovalRule.department.is_not(None), ApprovalRule.department.not_in(list(labels) or [""]))
        .order_by(ApprovalRule.department))
    for code in stale:
        entries.append(RuleEntry(code, code, code, signoffs.rule_for(code), own=True, active=False))
    return entries


def rule_department(key: str, *, existing: bool = False) -> str | None:
    """The department a rules URL names (None for ``default``). NotFound unless it is an active
    department, or (``existing``) a department with a rule of its own."""
    if key == DEFAULT_KEY:
        return None
    found = db.session.scalar(select(Department.code).where(Department.code == key, Department.active.is_(True)))
    if found is None and existing:
        found = db.session.scalar(select(ApprovalRule.department).where(ApprovalRule.department == key))
    if found is None:
        raise NotFound(_l("There is no department %(code)s.", code=str(key)[:20]))
    return found


def delete_rule(department: str | None, actor) -> None:
    """Remove a department's own rule: its reviews follow the default rule again (audited)."""
    from audit import service as audit

    if department is None:
        raise ValidationError(_l("The default rule cannot be removed; change it instead."))
    row = db.session.scalar(select(ApprovalRule).where(ApprovalRule.department == department))
    if row is None:
        raise NotFound(_l("The department %(code)s has no rule of its own.", code=department))
    audit.record("review.rule_removed", row, before={"department": department, "requirements": row.requirements,
                                                     "no_rejection": row.no_rejection}, after=None, actor=actor)
    db.session.delete(row)
    db.session.commit()
