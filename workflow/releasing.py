"""Implement and log: the adopted draft becomes the new versions, with the change record, in one commit.

Through the publishing seam (:func:`procedures.publishing.release_review`): numbering, the chosen
effective date, trailers naming the review and every signer, audit, acknowledgements, catalogue.
When ``main`` changed a covered procedure since the draft branched, the seam merges three ways; a
real conflict leaves the review in implementation and the chair resolves it in the editor
(:func:`resolve_conflict`), which is a new draft commit: the sign-offs are voided and the review
goes back to the decision, because nobody signed the merged text.
"""
from __future__ import annotations

from datetime import date

import repo_store
from procedures import catalog, document
from procedures.publishing import service as publishing
from procedures.publishing.commit import signature_for
from webapp import dates
from webapp.exceptions import Conflict, ValidationError
from webapp.extensions import db
from webapp.i18n import _l
from webapp.store import get_store
from workflow import deciding, drafts, record, service, signoffs, states
from workflow.models import Review


def implement(review: Review, *, effective: date | None, actor, version=None) -> Review:
    """Release the review: new versions (revise), withdrawals, the change record; then close it.

    ``effective``: the new versions' effective date (today or later; default today). Conflict (with
    ``paths``) when a covered procedure changed on ``main`` in a way that cannot be merged.
    """
    service.check_run(review, actor)
    states.check_step(review.state, "implement")
    service.check_version(review, version)
    deciding.check_ready(review)
    today = dates.local_today()
    effective = effective or today
    low, high = dates.date_bounds()
    if not isinstance(effective, date) or effective < today or effective > high:
        msg = _l("The effective date must be today or later.")
        raise ValidationError(msg, errors={"effective": [msg]})
    review.effective_on = effective
    valid = [s for s in signoffs.valid_signoffs(review)]
    items = [publishing.ReleaseItem(code=i.code, decision=i.decision, reason=i.decision_reason)
             for i in review.items]
    needs_branch = any(i.decision == "revise" for i in review.items)
    summary = review.decision_summary.strip() or str(_l("Review %(number)s: %(title)s", number=review.number,
                                                         title=review.title))
    summary = f"{review.number} {summary}" if not summary.startswith(review.number) else summary
    path = record.path_for(review)
    db.session.flush()
    try:
        result = publishing.release_review(
            review.branch if needs_branch else None, base=review.base_commit, items=items, record_path=path,
            record_text=lambda versions, previous: record.render(review, versions, previous),
            effective=effective, summary=summary[:4000], author=actor,
            signatures=[signoffs.manifestation(s) for s in valid], review_id=review.id,
            review_number=review.number)
    except Conflict as exc:
        db.session.rollback()
        paths = exc.details.get("paths") or []
        service.record_step(review, "merge_conflict", actor, note=", ".join(map(str, paths)),
                            after={"paths": paths})
        db.session.commit()
        raise
    for item in review.items:
        produced = result.versions.get(item.code)
        item.version_after = produced.version if produced else None
        if item.decision in ("revise", "no_change"):
            catalog.mark_reviewed(item.code, today)
    review.result_commit, review.record_path = result.commit, path
    service.move_in_transaction(review, "closed", actor=actor, note=result.commit[:12])
    service.record_step(review, "implemented", actor, note=result.commit[:12],
                        after={"commit": result.commit, "versions": {c: v.version for c, v in result.versions.items()},
                               "effective": effective.isoformat()})
    service.commit(review)
    return review


def resolve_conflict(review: Review, texts: dict[str, str], *, actor) -> str:
    """The chair's merged texts (``{code: markdown}``) after a conflict: one commit on the draft branch
    that also takes every other change of ``main`` since the branch started, so the release merges
    cleanly. A covered procedure changed on both sides must be among ``texts``. The sign-offs are
    voided and the review returns to the decision."""
    service.check_run(review, actor)
    states.check_step(review.state, "resolve_conflict")
    store = get_store()
    head, tip = store.head(), drafts.ensure_branch(review)
    old_base = review.base_commit or tip
    changes: dict[str, bytes | str | None] = {}
    for code in review.codes:
        path = document.path_for(code)
        if code in texts:
            errors = publishing.check(texts[code], code)
            if errors:
                raise ValidationError(_l("The text of %(code)s is not a valid procedure yet.", code=code),
                                      errors={"markdown": [m for ms in errors.values() for m in ms]})
            changes[path] = texts[code]
            continue
        base_data, tip_data, head_data = (_data(store, path, rev) for rev in (old_base, tip, head))
        if head_data == base_data or head_data == tip_data:
            continue  # main left it alone, or made the same change
        if tip_data != base_data:
            msg = _l("%(code)s was changed on both sides too: merge it as well.", code=code)
            raise ValidationError(msg, errors={"markdown": [msg]})
        changes[path] = head_data  # only main changed it: take main's version
    covered = {document.path_for(c) for c in review.codes}
    for status, p in store.diff_paths(tip, head):
        if p not in covered:
            changes[p] = None if status == "D" else store.read(p, head).data
    if not any(c in texts for c in review.codes):
        raise ValidationError(_l("Give the merged text."), errors={"markdown": [_l("Give the merged text.")]})
    try:
        sha = store.commit(changes, base=tip, branch=review.branch, summary=str(_l("Merge the draft with main")),
                           body=str(_l("Merged the draft with the changes on main.")), author=signature_for(actor),
                           trailers=(("Review", str(review.id)), ("Review-Number", review.number)))
    except repo_store.NothingToCommit:
        sha = tip
    except repo_store.Conflict:
        raise Conflict(_l("Someone saved the draft meanwhile; reload it and save again.")) from None
    review.base_commit = head
    signoffs.void_stale(review, sha)
    service.record_step(review, "conflict_resolved", actor, note=f"{', '.join(texts)} {sha[:10]}",
                        after={"codes": sorted(texts), "commit": sha, "base": head})
    service.move_in_transaction(review, "decide", actor=actor,
                                note=str(_l("Merged with main: the draft must be signed again.")))
    service.commit(review)
    return sha


def _data(store, path: str, rev: str) -> bytes | None:
    try:
        return store.read(path, rev).data
    except repo_store.NotFound:
        return None
