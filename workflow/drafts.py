"""The review's draft: branch ``reviews/<number>`` in the store, and written proposals.

The branch starts from ``main`` the first time it is needed (the first draft save, or entering the
decision). Each save in the editor is one commit on it, authored by the participant; a ``git push``
to the branch is read the same way, because everything here reads the branch from git. Sign-offs bind
to the branch's tip: :func:`workflow.signoffs.void_stale` voids those given on an older tip.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import selectinload

import repo_store
from procedures import document, redline_blocks
from procedures.publishing import service as publishing
from procedures.publishing.commit import signature_for
from procedures.publishing.validate import check_size
from webapp.db import utcnow
from webapp.exceptions import Conflict, NotFound, ValidationError
from webapp.extensions import db
from webapp.i18n import _l
from webapp.store import get_store
from workflow import service, states
from workflow.models import Review, ReviewProposal

#: How many draft commits a review page lists.
MAX_DRAFT_COMMITS = 200
MAX_PROPOSAL = 20_000
MAX_SUMMARY = 500


@dataclass(frozen=True)
class DraftCommit:
    sha: str
    author: str
    at: datetime
    summary: str
    paths: tuple[str, ...]


@dataclass(frozen=True)
class DraftFile:
    """One covered procedure as the draft has it: the text at the tip and whether it differs from the base."""

    code: str
    markdown: str
    base_markdown: str
    changed: bool


def branch_name(review: Review) -> str:
    return f"reviews/{review.number}"


def tip(review: Review) -> str | None:
    """The head of the review's branch (None before the first save)."""
    return get_store().head(review.branch) if review.branch else None


def ensure_branch(review: Review) -> str:
    """The branch's tip, creating the branch from ``main`` first if needed (no commit of the session)."""
    store = get_store()
    name = branch_name(review)
    if review.branch:
        head = store.head(review.branch)
        if head is not None:
            return head
    try:
        sha = store.create_branch(name, start=store.default_branch)
    except repo_store.Conflict:  # created meanwhile by another worker, or left by a crashed request
        sha = store.head(name)
        base = review.base_commit or sha
    else:
        base = sha
    review.branch, review.base_commit = name, base
    db.session.flush()
    return sha


def _check_code(review: Review, code: str) -> None:
    if code not in review.codes:
        raise NotFound(_l("%(code)s is not covered by %(number)s.", code=code, number=review.number))


def draft_file(review: Review, code: str) -> DraftFile:
    """The draft text of ``code`` (the current version while nobody has edited it)."""
    _check_code(review, code)
    store = get_store()
    path = document.path_for(code)
    base_rev = review.base_commit or store.head()
    try:
        base_md = store.read(path, base_rev).data.decode("utf-8", "replace")
    except repo_store.NotFound:
        base_md = ""
    head = tip(review)
    if head is None:
        return DraftFile(code=code, markdown=base_md, base_markdown=base_md, changed=False)
    try:
        text = store.read(path, head).data.decode("utf-8", "replace")
    except repo_store.NotFound:
        text = ""
    return DraftFile(code=code, markdown=text, base_markdown=base_md, changed=text != base_md)


def draft_redline(review: Review, code: str):
    """The redline of the draft of ``code`` against the version it started from (HTML): the document
    compared block by block (front matter fields, headings, paragraphs, list items, table cells)."""
    file = draft_file(review, code)
    return redline_blocks.compare(file.base_markdown, file.markdown).inline_html()


def history(review: Review) -> list[DraftCommit]:
    """The commits on the branch since it started, newest first (saves in the editor and git pushes)."""
    head = tip(review)
    if head is None:
        return []
    store = get_store()
    out = []
    for ci in store.history(rev=head, limit=MAX_DRAFT_COMMITS):
        if ci.sha == review.base_commit:
            break
        paths = tuple(p for _s, p in store.diff_paths(ci.parents[0], ci.sha)) if ci.parents else ()
        out.append(DraftCommit(sha=ci.sha, author=ci.author.name, at=ci.committed_at, summary=ci.summary,
                               paths=paths))
    return out


def commit_ids(review: Review) -> list[str]:
    """The shas of the draft's commits since the branch started, newest first (no diffs computed)."""
    head = tip(review)
    if head is None:
        return []
    out = []
    for ci in get_store().history(rev=head, limit=MAX_DRAFT_COMMITS):
        if ci.sha == review.base_commit:
            break
        out.append(ci.sha)
    return out


def save(review: Review, code: str, markdown_text: str, *, actor, parent: str | None, summary: str = "") -> str:
    """Commit the participant's text of ``code`` on the draft branch; returns the new tip.

    ``parent`` is the tip the editor loaded (empty before the branch existed). When someone saved
    in between, Conflict with both texts (the editor's conflict page lets the user merge). The text
    must be a valid procedure (the live preview shows the same checks).
    """
    service.check_take_part(review, actor)
    states.check_step(review.state, "edit_draft")
    _check_code(review, code)
    check_size(markdown_text)
    errors = publishing.check(markdown_text, code)
    if errors:
        raise ValidationError(_l("The draft is not a valid procedure yet: %(problems)s",
                                 problems="; ".join(m for ms in errors.values() for m in ms)[:500]),
                              errors={"markdown": [m for ms in errors.values() for m in ms]})
    summary = service.check_text(summary, "summary", required=False, limit=MAX_SUMMARY) or \
        str(_l("Draft of %(code)s", code=code))
    # An editor opened before the first save started from the base: an empty parent means that.
    parent = parent or review.base_commit
    current = tip(review)
    # Before the first save the draft is main itself: the branch starts from there.
    expected = current if current is not None else get_store().head()
    if parent and parent != expected:
        theirs = draft_file(review, code)
        raise Conflict(_l("Someone saved the draft of %(code)s after you opened it. Your text is kept: compare "
                          "both, merge them and save again.", code=code), code=code, base=parent, current=expected,
                       theirs={"markdown": theirs.markdown, "commit": expected}, yours={"markdown": markdown_text})
    head = ensure_branch(review)
    if parent and parent != head:
        theirs = draft_file(review, code)
        raise Conflict(_l("Someone saved the draft of %(code)s after you opened it. Your text is kept: compare "
                          "both, merge them and save again.", code=code), code=code, base=parent, current=head,
                       theirs={"markdown": theirs.markdown, "commit": head}, yours={"markdown": markdown_text})
    store = get_store()
    try:
        sha = store.commit({document.path_for(code): markdown_text}, base=head, branch=review.branch,
                           summary=f"{code}: {summary.splitlines()[0][:100]}",
                           body=summary, author=signature_for(actor),
                           trailers=(("Review", str(review.id)), ("Review-Number", review.number)))
    except repo_store.NothingToCommit:
        raise ValidationError(_l("Nothing changed compared with the draft."),
                              errors={"markdown": [_l("Nothing changed compared with the draft.")]}) from None
    except repo_store.Conflict:
        raise Conflict(_l("Someone saved the draft meanwhile; reload it and save again."), code=code) from None
    service.record_step(review, "draft_saved", actor, note=f"{code} {sha[:10]}", after={"code": code, "commit": sha})
    from workflow import notices, signoffs
    signoffs.void_stale(review, sha)
    notices.draft_saved(review, code, actor)
    service.commit(review)
    return sha


def propose(review: Review, text: str, *, actor, code: str | None = None) -> ReviewProposal:
    """File a written proposal (for one covered procedure, or the review as a whole)."""
    service.check_take_part(review, actor)
    states.check_step(review.state, "propose")
    code = (code or "").strip().upper() or None
    if code is not None:
        _check_code(review, code)
    text = service.check_text(text, "text", limit=MAX_PROPOSAL, message=_l("Write your proposal."))
    proposal = ReviewProposal(review_id=review.id, code=code, author_id=actor.id, text=text, created_at=utcnow())
    db.session.add(proposal)
    db.session.flush()
    service.record_step(review, "proposed", actor, note=text[:200], after={"proposal": proposal.id, "code": code})
    from workflow import notices
    notices.proposal_filed(review, actor)
    service.commit(review)
    return proposal


def proposals(review: Review) -> list[ReviewProposal]:
    return list(db.session.scalars(db.select(ReviewProposal).where(ReviewProposal.review_id == review.id)
                                   .options(selectinload(ReviewProposal.author)).order_by(ReviewProposal.id)))
