"""Procedures on the workbench (answering :data:`webapp.signals.work_items_wanted`): what the user still has
to read, and — for those who run reviews, or head a department — the procedures whose review is overdue or
due soon. Counted on the catalogue the lists read (cached per head of ``main`` and day), with the lists' own
functions, so a box's count is the number of rows its link shows."""
from __future__ import annotations

from flask import url_for

from procedures import catalog
from procedures.acknowledgements import service as acknowledgements
from procedures.permissions import PROCEDURES_PUBLISH, PROCEDURES_READ, REVIEWS_MANAGE
from webapp import dates, workbench
from webapp.features import is_enabled
from webapp.i18n import _l
from webapp.signals import work_items_wanted

#: The participant category of a department's head (accounts.permissions.PARTICIPANT_CATEGORIES).
DEPT_HEAD = "dept_head"


def _department(user) -> str | None:
    dept = getattr(user, "department", None)
    return dept.code if dept is not None and dept.active else None


@work_items_wanted.connect
def procedure_items(sender, **extra):
    user = sender
    if not is_enabled("procedures") or not getattr(user, "is_authenticated", False) \
            or not user.can(PROCEDURES_READ):
        return None
    catalog.ensure_synced(commit=True)  # as every procedure page does first: a plain git push shows up here too
    today = dates.local_today()
    department = _department(user)
    items = []
    if department:
        items.append(workbench.WorkItem(
            "procedures.to_read", _l("Procedures to read"), acknowledgements.count_to_read(user, today),
            url_for("acknowledgements.to_read"), hint=_l("New procedures and new versions for your department"),
            order=10))
    # Who watches review dates: whoever runs reviews (the whole company), a department's head (theirs).
    if user.can(REVIEWS_MANAGE) or user.can(PROCEDURES_PUBLISH):
        scope = None
    elif department and getattr(user, "participant_category", None) == DEPT_HEAD:
        scope = department
    else:
        return items
    for status, label, tone, order in (("review_overdue", _l("Procedures overdue for review"), "bad", 10),
                                       ("review_soon", _l("Procedures due for review within %(days)d days",
                                                          days=catalog.REVIEW_SOON_DAYS), "warn", 11)):
        count = len(catalog.list_procedures(department=scope, status=status, today=today))
        args = {"status": status, **({"department": scope} if scope else {})}
        items.append(workbench.WorkItem(f"procedures.{status}", label, count, url_for("procedures.index", **args),
                                        group=workbench.WATCH, tone=tone, order=order))
    if user.can(PROCEDURES_PUBLISH):
        items.append(workbench.WorkItem(
            "procedures.problems", _l("Procedure files the catalogue could not take"), catalog.open_problems_count(),
            url_for("procedures.problems"), group=workbench.WATCH, tone="bad", order=12))
    return items
