"""The workflow's answers to other features' signals (connected when an app is built)."""
from __future__ import annotations

from webapp.exceptions import Conflict, ValidationError
from webapp.features import is_enabled
from webapp.i18n import _l
from webapp.signals import procedure_reviews_wanted, review_page_wanted, review_requested, reviews_of_record
from workflow import service
from workflow.models import Review
from workflow.notices import review_path
from workflow.states import STATE_LABELS


@review_requested.connect
def open_incident_review(sender, *, procedure_code: str, reason: str, source_type: str, source_id: int,
                         actor=None, label: str = "", **extra):
    """A major complaint, a corrective action or a committee-meeting issue opens an incident review at once
    (review rule 2); when the procedure is already under review, the record joins that review. Returns
    the review. Runs in the sender's transaction; a refusal undoes the sender's request."""
    if not is_enabled("workflow"):
        return None
    trigger = service.TriggerData(source_type=source_type, source_id=source_id, reason=reason,
                                  label=label or getattr(sender, "number", "") or f"#{source_id}")
    existing = service.open_review_for(procedure_code)
    if existing is not None:
        if not any(t.source_type == source_type and t.source_id == source_id for t in existing.triggers):
            service.add_trigger_in_transaction(existing, trigger, actor=actor)
        return existing
    chair = service.default_chair([procedure_code])
    if chair is None:
        raise ValidationError(_l("Nobody can chair the review: give a document controller or a manager an "
                                 "account first."))
    try:
        return service.open_in_transaction(kind="incident", codes=[procedure_code], chair=chair, actor=actor,
                                           trigger=trigger, department=service.first_department(procedure_code))
    except Conflict:  # opened by someone else at this very moment: join it
        existing = service.open_review_for(procedure_code)
        if existing is None:
            raise
        service.add_trigger_in_transaction(existing, trigger, actor=actor)
        return existing


@review_page_wanted.connect
def review_page(sender, **extra):
    """The page of review ``#id`` (the ``Review:`` trailer of a version)."""
    if not is_enabled("workflow"):
        return None
    try:
        review = service.get_review_by_id(int(sender))
    except (TypeError, ValueError):
        return None
    return review_path(review) if review is not None else None


@reviews_of_record.connect
def reviews_of(sender, **extra):
    """The reviews a record triggered, for its page: ``[{number, url, state, kind, versions}]``."""
    if not is_enabled("workflow"):
        return None
    source_type, source_id = sender
    out = []
    for review in service.reviews_for_source(source_type, source_id):
        out.append({"number": review.number, "url": review_path(review), "state": review.state,
                    "state_label": str(STATE_LABELS[review.state]),
                    "kind": review.kind, "title": review.title,
                    "versions": [f"{i.code} {i.version_after}" for i in review.items if i.version_after]})
    return out


@procedure_reviews_wanted.connect
def reviews_of_procedure(sender, **extra):
    """The open review and latest reviews of procedure ``sender`` (cached until a review changes)."""
    if not is_enabled("workflow"):
        return None
    from workflow import pages
    return pages.procedure_reviews(sender)


__all__ = ["open_incident_review", "review_page", "reviews_of", "Review"]
