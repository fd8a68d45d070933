"""Electronic signatures on a review's draft, and the approval rule adoption needs.

A sign-off follows 21 CFR Part 11: the signer re-enters their password (11.200: two components,
login and password, the login being the session's), chooses what the signature means (reviewed,
approved, rejected with a reason, 11.50), and the signature is bound to the exact draft commit it
was given on (11.70). A later commit on the draft voids it, visibly, with the commit that did. The
manifestation — printed name, category, meaning, date and time — shows on the review, in the
version's history (``Signature:`` trailers) and on the controlled print.

The approval rule is data (:class:`workflow.models.ApprovalRule`): at least N approvals per participant
category, and no outstanding rejection. The rule of the review's department wins over the default rule
(the row without a department); without any row the built-in default holds.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select

from accounts import services as accounts
from accounts.permissions import PARTICIPANT_CATEGORIES
from webapp.db import utcnow
from webapp.exceptions import Conflict, ValidationError
from webapp.extensions import db
from webapp.i18n import _l
from workflow import drafts, service, states
from workflow.models import ApprovalRule, Review, ReviewSignOff

#: Adoption needs, unless a rule row says otherwise: one management and one department-head approval.
DEFAULT_REQUIREMENTS = {"management": 1, "dept_head": 1}
MEANING_LABELS = {"reviewed": _l("Reviewed"), "approved": _l("Approved"), "rejected": _l("Rejected")}
MAX_REASON = 2000


@dataclass(frozen=True)
class Rule:
    requirements: dict[str, int]
    no_rejection: bool
    department: str | None


@dataclass(frozen=True)
class RuleCheck:
    """Where a draft stands against the rule: met, and what is still missing (for the page)."""

    met: bool
    approvals: dict[str, int]
    missing: dict[str, int]
    rejections: int
    commit: str | None


def rule_for(department: str | None) -> Rule:
    """The approval rule for reviews of ``department`` (its own row, else the default row, else built-in)."""
    rows = {r.department: r for r in db.session.scalars(
        select(ApprovalRule).where((ApprovalRule.department == department) | ApprovalRule.department.is_(None)))}
    row = rows.get(department) if department else None
    row = row or rows.get(None)
    if row is None:
        return Rule(dict(DEFAULT_REQUIREMENTS), True, None)
    reqs = {k: int(v) for k, v in (row.requirements or {}).items() if k in PARTICIPANT_CATEGORIES and int(v) > 0}
    return Rule(reqs, bool(row.no_rejection), row.department)


def save_rule(department: str | None, requirements: dict[str, int], *, no_rejection: bool, actor) -> ApprovalRule:
    """Set the approval rule of a department (None: the default rule)."""
    from audit import service as audit
    clean = {}
    for category, count in requirements.items():
        if category not in PARTICIPANT_CATEGORIES:
            raise ValidationError(_l("Choose a participant category."))
        try:
            n = int(count)
        except (TypeError, ValueError):
            n = -1
        if not 0 <= n <= 20:
            msg = _l("Give a number from 0 to 20.")
            raise ValidationError(msg, errors={category: [msg]})
        if n:
            clean[category] = n
    if not clean:
        msg = _l("The rule must ask for at least one approval.")
        raise ValidationError(msg, errors={"requirements": [msg]})
    row = db.session.execute(select(ApprovalRule).where(
        ApprovalRule.department.is_(None) if department is None else ApprovalRule.department == department)
    ).scalar_one_or_none()
    before = {"requirements": row.requirements, "no_rejection": row.no_rejection} if row else None
    if row is None:
        row = ApprovalRule(department=department)
        db.session.add(row)
    row.requirements, row.no_rejection = clean, bool(no_rejection)
    db.session.flush()
    audit.record("review.rule_saved", row, before=before, after={"requirements": clean, "no_rejection": no_rejection},
                 actor=actor)
    db.session.commit()
    return row


def subject_commit(review: Review) -> str | None:
    """The draft commit sign-offs bind to now: the branch's tip."""
    return drafts.tip(review)


def valid_signoffs(review: Review) -> list[ReviewSignOff]:
    return [s for s in signoffs(review) if s.is_valid]


def signoffs(review: Review) -> list[ReviewSignOff]:
    return list(db.session.scalars(select(ReviewSignOff).where(ReviewSignOff.review_id == review.id).order_by(ReviewSignOff.id)))


def evaluate(rule: Rule, valid: list[ReviewSignOff], commit: str | None) -> RuleCheck:
    """How the valid sign-offs on ``commit`` measure against ``rule`` (a pure function of its inputs)."""
    current = [s for s in valid if s.commit == commit and s.voided_at is None]
    # One signature per person counts: their latest.
    latest = {}
    for s in sorted(current, key=lambda s: s.id or 0):
        latest[s.user_id] = s
    approvals = Counter(s.category for s in latest.values() if s.meaning == "approved")
    rejections = sum(1 for s in latest.values() if s.meaning == "rejected")
    missing = {c: n - approvals.get(c, 0) for c, n in rule.requirements.items() if approvals.get(c, 0) < n}
    met = commit is not None and not missing and not (rule.no_rejection and rejections)
    return RuleCheck(met=met, approvals=dict(approvals), missing=missing, rejections=rejections, commit=commit)


def check_rule(review: Review) -> RuleCheck:
    """The approval rule against the draft's current tip (stale sign-offs voided first)."""
    head = subject_commit(review)
    if head is not None:
        void_stale(review, head)
    return evaluate(rule_for(review.department), valid_signoffs(review), head)


def void_stale(review: Review, head: str) -> int:
    """Void every valid sign-off given on a commit other than ``head`` (the draft moved on). No commit."""
    now = utcnow()
    stale = db.session.scalars(select(ReviewSignOff).where(ReviewSignOff.review_id == review.id, ReviewSignOff.voided_at.is_(None),
                                                     ReviewSignOff.commit != head)).all()
    for s in stale:
        s.voided_at = now
        s.voided_reason = str(_l("The draft changed after this signature (now %(commit)s).", commit=head[:10]))
        service.record_step(review, "signoff_voided", None, note=f"{s.printed_name} {s.meaning} {s.commit[:10]}",
                            before={"signoff": s.id, "commit": s.commit}, after={"voided_by": head})
    return len(stale)


def sign(review: Review, *, actor, meaning: str, password: str, commit: str, reason: str = "",
         remote_addr: str = "", limits=None) -> ReviewSignOff:
    """Sign the draft at ``commit`` (the tip the signer was shown).

    PermissionDenied for non-participants; InvalidTransition outside the decision step; Conflict when
    the draft moved since the page was loaded (the signature would bind to text the signer did not
    see); ValidationError for a wrong password (throttled like logins), a missing meaning, or a
    rejection without a reason.
    """
    service.check_take_part(review, actor)
    states.check_step(review.state, "sign")
    if meaning not in MEANING_LABELS:
        msg = _l("Choose what your signature means.")
        raise ValidationError(msg, errors={"meaning": [msg]})
    reason = service.check_text(reason, "reason", required=meaning == "rejected", limit=MAX_REASON,
                                message=_l("Say why you reject the draft."))
    head = subject_commit(review)
    if head is None or commit != head:
        raise Conflict(_l("The draft changed after you opened it: read the new draft and sign again."),
                       current=head)
    try:
        accounts.authenticate(actor.login, password or "", remote_addr,
                              limits or accounts.LoginLimits())
    except (accounts.InvalidCredentials, accounts.TooManyAttempts) as exc:
        db.session.rollback()
        msg = _l("The password is not correct; the signature was not given.") \
            if isinstance(exc, accounts.InvalidCredentials) else exc.message
        raise ValidationError(msg, errors={"password": [msg]}) from None
    participant = service.participant_of(review, actor)
    signoff = ReviewSignOff(review_id=review.id, user_id=actor.id, printed_name=actor.display_name or actor.login,
                      category=participant.category, meaning=meaning, reason=reason, commit=head,
                      signed_at=utcnow())
    db.session.add(signoff)
    db.session.flush()
    service.record_step(review, "signed", actor, note=f"{meaning} {head[:10]} {reason}".strip(),
                        after={"signoff": signoff.id, "meaning": meaning, "commit": head,
                               "category": participant.category})
    from workflow import notices
    notices.signed(review, signoff)
    service.commit(review)
    return signoff


def manifestation(s: ReviewSignOff) -> str:
    """The signature as written into the change record and the commit's ``Signature:`` trailers."""
    from webapp.dates import zone
    when = s.signed_at.astimezone(zone()).isoformat(timespec="seconds")
    return f"{s.printed_name} | {s.category} | {s.meaning} | {when} | {s.commit[:12]}"


def category_label(category: str) -> str:
    return str(PARTICIPANT_CATEGORIES.get(category, category))
