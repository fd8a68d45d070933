"""What the procedure pages show of reviews ("under review", the procedure's reviews), kept cheap.

The read page of a procedure is the hot path (no SQL when warm), so the answer is cached per process,
keyed by the ``reviews`` change stamp beside the store: every commit that changed a review bumps it
(after the commit, so no process can cache what was not yet committed), and every process drops
its copies on its next read.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from support.caching import LockedLRU
from webapp.extensions import app_state, db
from webapp.store import get_store
from workflow.models import Review, ReviewItem
from workflow.notices import review_path
from workflow.states import STATE_LABELS

STAMP = "reviews"
_CHANGED = "procdesk.reviews_changed"
#: Reviews listed on a procedure's page.
LISTED = 10


@dataclass(frozen=True)
class ProcedureReviews:
    stamp: str
    open: dict | None
    reviews: tuple[dict, ...]


def changed() -> None:
    """Mark the current transaction as changing reviews: the stamp moves once it commits."""
    db.session.info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _bump_after_commit(session) -> None:
    if session.info.pop(_CHANGED, False):
        try:
            get_store().bump_stamp(STAMP)
        except Exception:  # noqa: BLE001 - a stamp that cannot move only delays the banner, never the change
            pass


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session) -> None:
    session.info.pop(_CHANGED, None)


def _cache() -> LockedLRU:
    return app_state("workflow.procedure_reviews", lambda: LockedLRU(4096))


def _row(review: Review) -> dict:
    return {"number": review.number, "url": review_path(review), "state": review.state,
            "state_label": str(STATE_LABELS[review.state]), "kind": review.kind}


def procedure_reviews(code: str) -> ProcedureReviews:
    """The open review and the latest reviews of ``code`` (cached until a review changes)."""
    from flask_babel import get_locale

    stamp = get_store().stamp(STAMP)
    key = (stamp, code, str(get_locale()))
    found = _cache().get(key)
    if found is None:
        rows = db.session.scalars(select(Review).join(ReviewItem).where(ReviewItem.code == code)
                                  .order_by(Review.id.desc()).limit(LISTED)).all()
        found = ProcedureReviews(stamp=stamp, open=next((_row(r) for r in rows if r.is_open), None),
                                 reviews=tuple(_row(r) for r in rows))
        _cache().put(key, found)
    return found
