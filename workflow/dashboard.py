"""The reviews dashboard: due soon, overdue, in progress, recently closed."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from procedures.models import Procedure
from webapp.extensions import db
from workflow.models import OPEN_STATES, Review, ReviewItem
from workflow.settings import setting


def overview(today: date, user) -> dict:
    """What ``/reviews/`` shows."""
    open_reviews = db.session.scalars(select(Review).where(Review.state.in_(OPEN_STATES))
                                      .order_by(Review.due_on, Review.id)).all()
    under_review = select(ReviewItem.code).where(ReviewItem.open_code.is_not(None))
    horizon = today + timedelta(days=setting("REVIEW_LEAD_DAYS"))
    due = db.session.scalars(select(Procedure).where(Procedure.removed.is_(False), Procedure.status != "withdrawn",
                                                     Procedure.next_review <= horizon,
                                                     Procedure.code.not_in(under_review))
                             .order_by(Procedure.next_review)).all()
    closed = db.session.scalars(select(Review).where(Review.state.in_(("closed", "cancelled")))
                                .order_by(Review.closed_at.desc()).limit(20)).all()
    return {"open_reviews": open_reviews, "due": [p for p in due if p.next_review >= today],
            "overdue": [p for p in due if p.next_review < today], "closed": closed, "today": today}
