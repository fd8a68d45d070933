"""Complaints on the workbench (answering :data:`webapp.signals.work_items_wanted`): the entries the user
handles that are not closed (and of those, the overdue ones), and the overdue complaints of the user's
projects. One query counts all three, with the register's own conditions (its project scope, voided
entries left out, :func:`service.assigned_clause`, :func:`service.overdue_clause`), so each count is the
number of rows of the register filtered as its link says."""
from __future__ import annotations

from flask import url_for
from sqlalchemy import and_

from records.permissions import RECORDS_READ
from satisfaction.complaints import service
from webapp import workbench
from webapp.db import utcnow
from webapp.extensions import db
from webapp.features import is_enabled
from webapp.i18n import _l
from webapp.signals import work_items_wanted


@work_items_wanted.connect
def complaint_items(sender, **extra):
    user = sender
    if not is_enabled("satisfaction") or not getattr(user, "is_authenticated", False) or not user.can(RECORDS_READ):
        return None
    now = utcnow()
    mine, late = service.assigned_clause(user.id), service.overdue_clause(now)
    stmt = service.list_statement(service.Filters(), user, now).with_only_columns(
        workbench.counted(mine), workbench.counted(and_(mine, late)), workbench.counted(late), maintain_column_froms=True)
    assigned, assigned_late, overdue = (int(n) for n in db.session.execute(stmt).one())
    items = [workbench.WorkItem("complaints.assigned", _l("Complaints and praise assigned to me"), assigned,
                                url_for("complaints.index", assigned="me"),
                                hint=_l("Handled by you and not closed yet"), order=30)]
    if assigned_late:
        items.append(workbench.WorkItem("complaints.assigned_overdue", _l("Of mine, past a deadline"), assigned_late,
                                        url_for("complaints.index", assigned="me", overdue=1), tone="bad", order=31))
    items.append(workbench.WorkItem("complaints.overdue", _l("Complaints past a deadline"), overdue,
                                    url_for("complaints.index", overdue=1), group=workbench.WATCH, tone="bad",
                                    hint=_l("In your projects: not acknowledged or not resolved in time"), order=30))
    return items
