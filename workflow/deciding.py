"""The decision: per covered procedure revise (adopt the draft), no change (继续使用) or withdraw (作废)."""
from __future__ import annotations

from collections.abc import Mapping

from webapp.exceptions import InvalidTransition, ValidationError
from webapp.i18n import _l
from workflow import drafts, service, signoffs, states
from workflow.models import DECISIONS, Review

DECISION_LABELS = {"revise": _l("Revise (adopt the draft)"), "no_change": _l("No change (continue to use)"),
                   "withdraw": _l("Withdraw")}
MAX_SUMMARY = 10_000


def decide(review: Review, decisions: Mapping[str, tuple[str, str]], *, actor, summary: str = "",
           version=None) -> Review:
    """Record the chair's decision: ``{code: (decision, reason)}`` for every covered procedure, and the
    discussion summary that goes into the change record. Checks what can be checked now (revise needs
    a changed draft, withdraw a reason); the sign-offs are checked when the review moves on."""
    service.check_run(review, actor)
    states.check_step(review.state, "decide")
    service.check_version(review, version)
    errors: dict[str, list] = {}
    clean = {}
    for item in review.items:
        decision, reason = decisions.get(item.code, (None, ""))
        reason = str(reason or "").strip()
        if decision not in DECISIONS:
            errors[f"decision_{item.code}"] = [_l("Choose a decision for %(code)s.", code=item.code)]
            continue
        if decision == "withdraw" and not reason:
            errors[f"reason_{item.code}"] = [_l("Say why %(code)s is withdrawn.", code=item.code)]
        if decision == "revise" and not drafts.draft_file(review, item.code).changed:
            errors[f"decision_{item.code}"] = [_l("The draft of %(code)s does not change it: choose “no change”, "
                                                  "or edit the draft first.", code=item.code)]
        if len(reason) > service.MAX_REASON:
            errors[f"reason_{item.code}"] = [_l("At most %(n)d characters.", n=service.MAX_REASON)]
        clean[item.code] = (decision, reason)
    summary = str(summary or "").replace("\r\n", "\n").strip()
    if len(summary) > MAX_SUMMARY:
        errors["summary"] = [_l("At most %(n)d characters.", n=MAX_SUMMARY)]
    if errors:
        raise ValidationError(next(iter(errors.values()))[0], errors=errors)
    before = {i.code: i.decision for i in review.items}
    for item in review.items:
        item.decision, item.decision_reason = clean[item.code]
    review.decision_summary = summary
    review.state_changed_at = review.state_changed_at
    service.record_step(review, "decided", actor, note="; ".join(f"{c} {d}" for c, (d, _r) in clean.items()),
                        before=before, after={c: d for c, (d, _r) in clean.items()})
    service.commit(review)
    return review


def check_ready(review: Review) -> None:
    """Refuse moving to implementation before every procedure is decided and the approval rule is met."""
    undecided = [i.code for i in review.items if i.decision not in DECISIONS]
    if undecided:
        raise InvalidTransition(_l("Decide every procedure first (%(codes)s).", codes=", ".join(undecided)))
    check = signoffs.check_rule(review)
    if not check.met:
        parts = [f"{signoffs.category_label(c)} × {n}" for c, n in check.missing.items()]
        if check.rejections:
            raise InvalidTransition(_l("The draft has an outstanding rejection; it cannot be adopted."))
        raise InvalidTransition(_l("The approval rule is not met yet: approvals missing (%(missing)s).",
                                   missing=", ".join(parts) or "—"))
