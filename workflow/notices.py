"""Who hears about what in a review: in-app notices (and e-mail when configured) through ``notifications``.

Called inside the service's transaction: a notice is stored with the change or not at all, and mail
leaves only after the commit. Messages are written in the language of the request or command.
"""
from __future__ import annotations

from collections.abc import Iterable

from notifications import service as inbox
from webapp.i18n import _l
from workflow.models import Review


def review_path(review: Review) -> str:
    """The review's page (a path: notices are built in requests, the CLI and the scheduler alike)."""
    return f"/reviews/{review.number}"


def _people(review: Review, *, exclude=None) -> list:
    skip = getattr(exclude, "id", None)
    return [p.user for p in review.participants if p.user_id != skip]


def _send(users: Iterable, review: Review, kind: str, subject, body="", *, dedupe_key: str | None = None,
          anchor: str = "") -> int:
    return inbox.notify(list(users), kind=f"review.{kind}", subject=str(subject)[:300], body=str(body),
                        url=review_path(review) + anchor, dedupe_key=dedupe_key)


def review_opened(review: Review) -> None:
    _send(_people(review), review, "opened",
          _l("%(number)s opened: %(title)s", number=review.number, title=review.title),
          _l("You take part in this review. Propose changes by editing the draft or in writing."),
          dedupe_key=f"review:{review.id}:opened")


def participant_added(review: Review, user) -> None:
    _send([user], review, "participant",
          _l("You take part in %(number)s: %(title)s", number=review.number, title=review.title))


def state_changed(review: Review, before: str) -> None:
    from workflow.states import STATE_LABELS
    _send(_people(review), review, "state",
          _l("%(number)s is now in the step “%(state)s”", number=review.number,
             state=STATE_LABELS.get(review.state, review.state)),
          dedupe_key=f"review:{review.id}:state:{review.state}:{review.version}")


def draft_saved(review: Review, code: str, actor) -> None:
    _send(_people(review, exclude=actor), review, "draft",
          _l("%(name)s changed the draft of %(code)s in %(number)s", name=actor.display_name, code=code,
             number=review.number), anchor="#drafts")


def proposal_filed(review: Review, actor) -> None:
    _send([review.chair] if review.chair_id != actor.id else [], review, "proposal",
          _l("%(name)s filed a proposal in %(number)s", name=actor.display_name, number=review.number),
          anchor="#proposals")


def commented(review: Review, comment, mentioned: list) -> None:
    author = comment.author_id
    _send([u for u in mentioned if u.id != author], review, "mention",
          _l("%(name)s mentioned you in %(number)s", name=comment.author.display_name, number=review.number),
          comment.body[:500], anchor=f"#comment-{comment.id}")
    if review.chair_id != author and review.chair not in mentioned:
        _send([review.chair], review, "comment",
              _l("New comment in %(number)s", number=review.number), comment.body[:500],
              anchor=f"#comment-{comment.id}")


def signed(review: Review, signoff) -> None:
    from workflow.signoffs import MEANING_LABELS  # signoffs sends these notices
    if review.chair_id != signoff.user_id:
        _send([review.chair], review, "signed",
              _l("%(name)s signed %(number)s: %(meaning)s", name=signoff.printed_name, number=review.number,
                 meaning=MEANING_LABELS.get(signoff.meaning, signoff.meaning)), anchor="#signoffs")


def reminder(review: Review, users: list, *, overdue_days: int, escalated: bool, day: str) -> int:
    """A reminder for the people who must act on the current step (one per person, step and day)."""
    subject = (_l("Overdue by %(days)d days: %(number)s (escalated to you)", days=overdue_days, number=review.number)
               if escalated else
               _l("Reminder: %(number)s waits for you (%(days)d days overdue)", number=review.number,
                  days=overdue_days))
    return _send(users, review, "reminder", subject, review.title,
                 dedupe_key=f"review:{review.id}:remind:{review.state}:{day}:{'e' if escalated else 'r'}")
