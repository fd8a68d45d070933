"""Reviews on the workbench (answering :data:`webapp.signals.work_items_wanted`): the reviews waiting for the
user's proposal, comment, sign-off or implementation, one box per step, and for those who run reviews the
reviews in progress. One grouped query over the open reviews, with the register's own condition
(:func:`workflow.schedule.waiting_clause`), so each count is the number of rows of the register filtered as
its link says (``/reviews/register?waiting=me&state=decide``)."""
from __future__ import annotations

from flask import url_for
from sqlalchemy import func, select

from procedures.permissions import REVIEWS_MANAGE, REVIEWS_PARTICIPATE
from webapp import workbench
from webapp.extensions import db
from webapp.features import is_enabled
from webapp.i18n import _l
from webapp.signals import work_items_wanted
from workflow.dashboard import TODO_LABELS
from workflow.models import OPEN_STATES, Review
from workflow.schedule import waiting_clause


@work_items_wanted.connect
def review_items(sender, **extra):
    user = sender
    if not is_enabled("workflow") or not getattr(user, "is_authenticated", False) \
            or not user.can(REVIEWS_PARTICIPATE):
        return None
    rows = db.session.execute(select(Review.state, func.count(), workbench.counted(waiting_clause(user.id)))
                              .where(Review.state.in_(OPEN_STATES)).group_by(Review.state)).all()
    in_progress = {state: int(n) for state, n, _mine in rows}
    mine = {state: int(n) for state, _n, n in rows if n}
    items = [workbench.WorkItem(f"reviews.waiting.{state}", TODO_LABELS[state], mine[state],
                                url_for("review_register.register", waiting="me", state=state),
                                hint=_l("Reviews waiting for you"), order=20 + OPEN_STATES.index(state))
             for state in OPEN_STATES if mine.get(state)]
    if not items:
        items.append(workbench.WorkItem("reviews.waiting", _l("Reviews waiting for me"), 0,
                                        url_for("review_register.register", waiting="me"), order=20))
    if user.can(REVIEWS_MANAGE):
        items.append(workbench.WorkItem("reviews.open", _l("Reviews in progress"), sum(in_progress.values()),
                                        url_for("review_register.register", state="open"), group=workbench.WATCH,
                                        tone="normal", order=20))
    return items
