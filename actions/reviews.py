"""Procedure reviews a record asks for (review rule 2: a major complaint, a corrective action or an
owners'-committee issue starts a revision of the procedure at once).

The review workflow sits above every record feature, so records reach it through signals only:
:data:`webapp.signals.review_requested` opens an incident review (or adds the record to the review already
open for the procedure) and :data:`webapp.signals.reviews_of_record` answers which reviews a record
triggered. Complaints, actions and meeting issues share these helpers (satisfaction imports actions).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import Markup, escape

from procedures import catalog
from webapp.exceptions import Conflict, ValidationError
from webapp.i18n import REQUIRED, _, _l
from webapp.signals import review_requested, reviews_of_record

#: A procedure code when the catalogue is still empty (nothing to choose from yet).
PROCEDURE_CODE_RE = re.compile(r"\A[A-Z]{1,6}(?:-[A-Z0-9]{1,8}){1,4}\Z")
#: The longest reason a review keeps for a trigger (the workflow refuses longer ones).
REASON_MAX = 4000
#: The reason people type on a record's page.
TYPED_REASON_MAX = 2000
#: Review states after which a review no longer changes.
ENDED = ("closed", "cancelled")
#: OpenAPI schema of one :func:`reviews_of` item (component ``TriggeredReview`` of the record APIs).
REVIEW_SCHEMA = {"type": "object", "properties": {
    "number": {"type": "string", "example": "R-2026-004"}, "url": {"type": ["string", "null"]},
    "state": {"type": "string", "enum": ["propose", "discuss", "decide", "implement", "closed", "cancelled"]},
    "state_label": {"type": "string", "description": "the state in the caller's language"},
    "kind": {"type": "string", "enum": ["periodic", "incident"]}, "title": {"type": "string"},
    "versions": {"type": "array", "items": {"type": "string"}, "example": ["QP-CS-001 A/3"],
                 "description": "the versions the review produced (once closed)"}}}


@dataclass(frozen=True)
class Requested:
    """The review a request opened (``joined`` False) or joined, and its page (None when unknown)."""

    number: str
    url: str | None
    joined: bool


def procedure_choices() -> list[tuple[str, str]] | None:
    """(code, title) of the procedures in the catalogue, or None while nothing is published yet."""
    # An empty catalogue leaves the code to be typed and checked by pattern.
    return sorted((view.code, view.title or "") for view in catalog.list_procedures()) or None


def clean_procedure_code(raw) -> str:
    """The code of a procedure in the catalogue (upper-cased); ValidationError on ``procedure_code``."""
    code = str(raw or "").strip().upper()
    known = procedure_choices()
    ok = code in {c for c, _t in known} if known is not None else bool(PROCEDURE_CODE_RE.match(code))
    if not ok:
        msg = _l("Choose a procedure (a code like QP-CS-001).")
        raise ValidationError(msg, errors={"procedure_code": [msg]})
    return code


def clean_request(data: dict) -> tuple[str, str]:
    """(procedure code, reason) of a request typed on a record's page; every problem at once."""
    errors: dict = {}
    try:
        code = clean_procedure_code(data.get("procedure_code"))
    except ValidationError as exc:
        code, errors = "", dict(exc.errors)
    reason = str(data.get("reason") or "").strip()
    if not reason:
        errors["reason"] = [REQUIRED]
    elif len(reason) > TYPED_REASON_MAX:
        errors["reason"] = [_l("At most %(n)d characters.", n=TYPED_REASON_MAX)]
    if errors:
        raise ValidationError(_l("Please correct the marked fields."), errors=errors)
    return code, reason


def reviews_of(source_type: str, source_id) -> list[dict]:
    """The reviews a record triggered, oldest first: ``{number, url, state, kind, title, versions}``
    (empty when no feature runs reviews)."""
    found: list[dict] = []
    for _receiver, answer in reviews_of_record.send((source_type, int(source_id))):
        found += answer or []
    return found


def request_review(record, *, procedure_code: str, reason: str, source_type: str, source_id: int, label: str,
                   actor) -> Requested | None:
    """Ask for an incident review of ``procedure_code`` on behalf of ``record``, inside the caller's
    transaction (no commit: a refusal by the workflow undoes the caller's change too).

    Returns the review opened or joined, or None when no feature runs reviews. Conflict when the record
    already is a trigger of the open review of that procedure; the workflow's own refusals
    (ValidationError, Conflict) pass through with ``codes`` named ``procedure_code``.
    """
    already = {r["number"] for r in reviews_of(source_type, source_id) if r.get("state") not in ENDED}
    try:
        answers = review_requested.send(record, procedure_code=procedure_code, reason=reason[:REASON_MAX],
                                        source_type=source_type, source_id=source_id, label=label[:120],
                                        actor=actor)
    except ValidationError as exc:
        if "codes" in exc.errors:
            exc.errors["procedure_code"] = exc.errors.pop("codes")
        raise
    review = next((answer for _receiver, answer in answers if answer is not None), None)
    if review is None:
        return None
    if review.number in already:
        raise Conflict(_l("This record already started review %(number)s, which is still open.",
                          number=review.number), review=review.number)
    url = next((r.get("url") for r in reviews_of(source_type, source_id) if r["number"] == review.number), None)
    # The trigger just added is the review's first one when the request opened it.
    return Requested(review.number, url, joined=len(getattr(review, "triggers", ()) or ()) > 1)


def requested_message(found: Requested | None) -> str | Markup:
    """The flash after a request: which review, linked to its page."""
    if found is None:
        return _("Procedure review requested.")
    # Only the number and the address are data (escaped here); the sentence is our own catalogue's.
    number = Markup('<a href="{}">{}</a>').format(found.url, found.number) if found.url else escape(found.number)
    if found.joined:
        return Markup(_("Added to incident review %(number)s, already open for this procedure.", number=number))
    return Markup(_("Incident review %(number)s opened.", number=number))
