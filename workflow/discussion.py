"""Discussion: threaded comments, comments anchored to a clause of a draft commit, review meetings.

An anchored comment keeps the clause number, the quoted text and its context as they were in the
commit it was written on. Shown against a later draft, :func:`placed` moves it to where its text is
now, or marks it outdated with the original context (:mod:`workflow.anchors`), comment by comment:
an edit elsewhere in the document never outdates it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import selectinload

import repo_store
from accounts.models import User
from accounts.permissions import PARTICIPANT_CATEGORIES
from procedures import document
from webapp import dates
from webapp.db import utcnow
from webapp.exceptions import InvalidTransition, NotFound, ValidationError
from webapp.extensions import db
from webapp.i18n import _l
from webapp.store import get_store
from workflow import anchors, drafts, service, states
from workflow.models import Review, ReviewComment, ReviewMeeting

MAX_COMMENT = 10_000
MAX_MINUTES = 50_000
#: ``@login`` mentions notify that participant.
MENTION_RE = re.compile(r"(?<![\w@])@([A-Za-z0-9_.\-]{1,64})")


@dataclass(frozen=True)
class Placed:
    """An anchored comment against the draft being shown: where it is now, or outdated."""

    comment: ReviewComment
    location: anchors.Location | None

    @property
    def outdated(self) -> bool:
        return self.location is None


def _text_at(code: str, commit: str) -> str:
    try:
        return get_store().read(document.path_for(code), commit).data.decode("utf-8", "replace")
    except repo_store.NotFound:
        raise NotFound(_l("%(code)s is not in the draft commit %(commit)s.", code=code, commit=commit[:10])) from None


def comment(review: Review, body: str, *, actor, parent_id: int | None = None, code: str | None = None,
            commit: str | None = None, clause: str | None = None, quote: str | None = None) -> ReviewComment:
    """Post a comment (a reply when ``parent_id``; anchored when ``code`` with ``clause`` or ``quote``).

    An anchor names a draft commit of this review (default: the draft's tip, or the current version
    before anyone edited) and must find its clause or quote there.
    """
    service.check_take_part(review, actor)
    states.check_step(review.state, "comment")
    body = service.check_text(body, "body", limit=MAX_COMMENT, message=_l("Write your comment."))
    parent = None
    if parent_id:
        parent = db.session.get(ReviewComment, int(parent_id))
        if parent is None or parent.review_id != review.id:
            raise NotFound(_l("There is no such comment in this review."))
        if parent.parent_id is not None:
            parent = db.session.get(ReviewComment, parent.parent_id)  # one level of threads: reply to the root
    row = ReviewComment(review_id=review.id, parent_id=parent.id if parent else None, author_id=actor.id, body=body,
                  created_at=utcnow())
    code = (code or "").strip().upper() or None
    if code is not None and parent is None:
        if code not in review.codes:
            raise NotFound(_l("%(code)s is not covered by %(number)s.", code=code, number=review.number))
        commit = (commit or "").strip().lower() or drafts.tip(review) or review.base_commit or get_store().head()
        if commit not in _review_commits(review):
            msg = _l("Comment on a draft of this review.")
            raise ValidationError(msg, errors={"commit": [msg]})
        anchor = anchors.make_anchor(_text_at(code, commit), clause=(clause or "").strip() or None,
                                     quote=(quote or "").strip() or None)
        row.code, row.commit, row.clause, row.quote, row.context = code, commit, anchor.clause, anchor.quote, \
            anchor.context
    db.session.add(row)
    db.session.flush()
    service.record_step(review, "commented", actor, note=body[:200],
                        after={"comment": row.id, "code": row.code, "clause": row.clause, "commit": row.commit})
    from workflow import notices
    notices.commented(review, row, mentioned(review, body))
    service.commit(review)
    return row


def _review_commits(review: Review) -> set[str]:
    """The commits a comment may anchor to: the draft's commits since it branched, and its base."""
    shas = set(drafts.commit_ids(review))
    shas.add(review.base_commit or get_store().head())
    return shas


def mentioned(review: Review, body: str) -> list[User]:
    """The participants named ``@login`` in ``body``."""
    logins = {m.lower() for m in MENTION_RE.findall(body)}
    if not logins:
        return []
    return [p.user for p in review.participants if p.user.login.lower() in logins]


def set_resolved(review: Review, comment_id: int, resolved: bool, *, actor) -> ReviewComment:
    """Resolve or reopen a comment thread (its author, or whoever runs the review)."""
    states.check_step(review.state, "resolve")
    row = db.session.get(ReviewComment, int(comment_id))
    if row is None or row.review_id != review.id or row.parent_id is not None:
        raise NotFound(_l("There is no such comment in this review."))
    if row.author_id != actor.id and not service.can_run(review, actor):
        service.check_run(review, actor)
    if bool(row.resolved_at) == resolved:
        raise InvalidTransition(_l("This comment is already resolved.") if resolved else
                                _l("This comment is already open."))
    row.resolved_at, row.resolved_by_id = (utcnow(), actor.id) if resolved else (None, None)
    service.record_step(review, "comment_resolved" if resolved else "comment_reopened", actor,
                        after={"comment": row.id})
    service.commit(review)
    return row


def thread(review: Review) -> list[tuple[ReviewComment, list[ReviewComment]]]:
    """Root comments, oldest first, each with its replies."""
    rows = db.session.scalars(select(ReviewComment).where(ReviewComment.review_id == review.id)
                              .options(selectinload(ReviewComment.author)).order_by(ReviewComment.id)).all()
    replies: dict[int, list[ReviewComment]] = {}
    for r in rows:
        if r.parent_id is not None:
            replies.setdefault(r.parent_id, []).append(r)
    return [(r, replies.get(r.id, [])) for r in rows if r.parent_id is None]


def placed(review: Review, code: str, markdown_text: str, roots: list[ReviewComment]) -> list[Placed]:
    """The anchored root comments on ``code``, placed on ``markdown_text`` (a draft's text)."""
    out = []
    for c in roots:
        if c.code != code:
            continue
        anchor = anchors.Anchor(clause=c.clause, quote=c.quote or "", context=c.context or "")
        out.append(Placed(c, anchors.locate(anchor, markdown_text)))
    return out


def record_meeting(review: Review, *, held_on: date, attendee_ids: list[int], minutes: str, actor) -> ReviewMeeting:
    """The chair records a review meeting: date, attendees (with their category then), minutes."""
    service.check_run(review, actor)
    states.check_step(review.state, "meeting")
    low, high = dates.date_bounds()
    if not isinstance(held_on, date) or not low <= held_on <= dates.local_today():
        msg = _l("Give the date the meeting was held (not in the future).")
        raise ValidationError(msg, errors={"held_on": [msg]})
    minutes = service.check_text(minutes, "minutes", limit=MAX_MINUTES, message=_l("Write the minutes."))
    people = {p.user_id: p for p in review.participants}
    ids = list(dict.fromkeys(int(i) for i in attendee_ids))
    if not ids:
        msg = _l("Choose who attended.")
        raise ValidationError(msg, errors={"attendees": [msg]})
    unknown = [i for i in ids if i not in people]
    if unknown:
        msg = _l("Only participants of the review can be listed as attendees.")
        raise ValidationError(msg, errors={"attendees": [msg]})
    attendees = [{"user_id": i, "name": people[i].user.display_name, "category": people[i].category} for i in ids]
    row = ReviewMeeting(review_id=review.id, held_on=held_on, attendees=attendees, minutes=minutes,
                  recorded_by_id=actor.id, recorded_at=utcnow())
    db.session.add(row)
    db.session.flush()
    service.record_step(review, "meeting_recorded", actor, note=f"{held_on.isoformat()} ({len(ids)})",
                        after={"meeting": row.id, "held_on": held_on.isoformat(), "attendees": ids})
    service.commit(review)
    return row


def meetings(review: Review) -> list[ReviewMeeting]:
    return list(db.session.scalars(select(ReviewMeeting).where(ReviewMeeting.review_id == review.id).order_by(ReviewMeeting.held_on)))


def category_counts(attendees: list[dict]) -> dict[str, int]:
    counts = {c: 0 for c in PARTICIPANT_CATEGORIES}
    for a in attendees:
        counts[a.get("category")] = counts.get(a.get("category"), 0) + 1
    return counts
