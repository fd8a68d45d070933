"""Corrective and preventive actions on the workbench (answering :data:`webapp.signals.work_items_wanted`):
the actions whose next step the user may do (and of those, the overdue ones), and for management the
overdue actions of their projects and the proposals to decide. One query counts the actions with the
list's own conditions (:func:`actions.roles.waiting_for_me`, :func:`actions.service.overdue_clause`, the
list's project scope and its default "active" status), so each count is the number of rows its link shows."""
from __future__ import annotations

from flask import url_for
from sqlalchemy import and_, select

from actions import proposals, roles, service
from actions.models import Action
from actions.permissions import ACTIONS_MANAGE
from records.permissions import RECORDS_READ
from records.scope import restrict
from webapp import dates, workbench
from webapp.extensions import db
from webapp.features import is_enabled
from webapp.i18n import _l
from webapp.signals import work_items_wanted


@work_items_wanted.connect
def action_items(sender, **extra):
    user = sender
    if not is_enabled("actions") or not getattr(user, "is_authenticated", False) or not user.can(RECORDS_READ):
        return None
    today = dates.local_today()
    mine, late = roles.waiting_for_me(user), service.overdue_clause(today)
    # The list's defaults: voided actions left out, status "active" (not closed).
    stmt = restrict(select(workbench.counted(mine), workbench.counted(and_(mine, late)), workbench.counted(late)).select_from(Action),
                    Action.project_id, user).where(Action.voided_at.is_(None), Action.status != "closed")
    waiting, waiting_late, overdue = (int(n) for n in db.session.execute(stmt).one())
    items = [workbench.WorkItem("actions.mine", _l("Corrective actions waiting for me"), waiting,
                                url_for("actions.index", mine=1), hint=_l("Their next step is yours"), order=40)]
    if waiting_late:
        items.append(workbench.WorkItem("actions.mine_overdue", _l("Of those, past the due date"), waiting_late,
                                        url_for("actions.index", mine=1, overdue=1), tone="bad", order=41))
    if user.can(ACTIONS_MANAGE):
        items.append(workbench.WorkItem("actions.proposals", _l("Action proposals to decide"),
                                        proposals.counts(user=user)["pending"], url_for("actions.proposal_list"),
                                        order=42))
        items.append(workbench.WorkItem("actions.overdue", _l("Corrective actions past the due date"), overdue,
                                        url_for("actions.index", overdue=1), group=workbench.WATCH, tone="bad",
                                        order=40))
    return items
