"""Moving ``main``: step 2 of a publish, the one compare-and-swap loop every write goes through.

A write is either a *change* (new content of one procedure's file committed on top of
``main``, :func:`commit_change`) or a *merge* of a branch whose tip holds the new content
(a review draft on ``refs/heads/reviews/<id>``, :func:`merge_branch`). Both run
:func:`_cas`: read the head of ``main``, check that the procedure's file is still the one
the writer started from (else :class:`~webapp.exceptions.Conflict` with both sides),
build the file with the caller's ``text_for``, write with the head as the expected old
value. When ``main`` moved only because *other* files changed, the check is repeated on
the new head and the write retried. Nothing else writes ``main`` for a publish.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import repo_store
from accounts.models import User
from procedures import document, trailers
from procedures.publishing import validate
from webapp.exceptions import Conflict, NotFound, ValidationError
from webapp.i18n import _l
from webapp.store import get_store

__all__ = ["CAS_RETRIES", "Committed", "signature_for", "conflict", "ensure_unchanged", "commit_change",
           "merge_branch"]

#: How often a write re-checks and retries when *other* procedures moved ``main`` meanwhile.
CAS_RETRIES = 20

#: ``text_for(head_file)`` → ``(doc, text)``: the new version built on the file at the head of ``main``.
TextFor = Callable[[repo_store.FileVersion | None], tuple[document.ProcedureDoc, str]]


@dataclass(frozen=True)
class Committed:
    """What a write left: the new commit, the version it holds, and what was there before."""

    sha: str
    doc: document.ProcedureDoc
    previous: str | None  # the version replaced (None for a new procedure or an unreadable file)
    old_head: str | None  # the head of ``main`` the commit was made on


def signature_for(user: User) -> repo_store.Signature:
    """The git author for a user: display name and e-mail (a reserved ``.invalid`` address if none)."""
    name = " ".join((user.display_name or user.login).replace("<", "").replace(">", "").split()) or user.login
    email = (user.email or "").strip()
    if not email or any(c in email for c in "<> \t\r\n"):
        email = f"{user.login}@users.procdesk.invalid"
    return repo_store.Signature(name=name, email=email)


def _approver_line(user: User) -> str:
    sig = signature_for(user)
    return trailers.person(sig.name, sig.email)


# ---------------------------------------------------------------------------
# conflicts
# ---------------------------------------------------------------------------


def conflict(store, code: str, head: str, base: str | None, yours: str, summary: str) -> Conflict:
    """A domain Conflict with both sides, for the conflict page and the API's 409."""
    path = document.path_for(code)
    theirs_file = store.read(path, head)
    # First parent: a merged review shows as its merge commit (with the trailers), not as the draft.
    commits = store.history(path, rev=head, limit=1, first_parent=True)
    ci = commits[0] if commits else None
    meta = trailers.parse_commit(ci, store=store, path=path) if ci is not None else None
    base_markdown = ""
    if base is not None:
        try:
            base_markdown = store.read(path, base).text
        except (repo_store.NotFound, UnicodeDecodeError):
            base_markdown = ""
    theirs = {
        "commit": ci.sha if ci else head,
        "version": getattr(meta, "version", None) or "",
        "author": ci.author.name if ci else "",
        "author_email": ci.author.email if ci else "",
        "committed_at": ci.committed_at.isoformat() if ci else "",
        "summary": (getattr(meta, "summary", None) or (ci.summary if ci else "")),
        "approved_by": getattr(meta, "approved_by", None) or "",
        "markdown": theirs_file.data.decode("utf-8", "replace"),
    }
    return Conflict(
        _l("%(code)s was changed by %(author)s after you started editing. Your text is kept: compare both "
           "changes, merge them and publish again.", code=code, author=theirs["author"] or "?"),
        code=code, base=base, current=head, base_markdown=base_markdown, theirs=theirs,
        yours={"markdown": yours, "summary": summary},
    )


def ensure_unchanged(store, code: str, head: str | None, head_file, base: str | None, base_blob: str | None,
                     yours: str, summary: str) -> None:
    """Raise unless the procedure's file at ``head`` is still the one the writer started from.

    ``base`` None: a new procedure, whose file must not exist yet.
    """
    if base is None:
        if head_file is not None:
            raise Conflict(_l("A procedure with code %(code)s already exists.", code=code), code=code,
                           current=head)
        return
    if head_file is None:
        raise NotFound(_l("There is no procedure %(code)s.", code=code))
    if head_file.blob != base_blob:
        raise conflict(store, code, head, base, yours, summary)


# ---------------------------------------------------------------------------
# the loop
# ---------------------------------------------------------------------------


def _cas(code: str, write, *, base: str | None, base_blob: str | None, text_for: TextFor, summary: str,
         author: User, approver: User | None, review_id: int | None, extra: Iterable[tuple[str, str]],
         yours: str) -> Committed:
    """Run ``write(store, head, text, message)`` on the head of ``main`` until it lands or conflicts.

    ``write`` returns the new commit sha, or raises ``repo_store.Conflict`` when ``main``
    is no longer at ``head`` (then the loop re-checks the file on the new head).
    """
    store = get_store()
    for _attempt in range(CAS_RETRIES):
        head = store.head()
        head_file = validate.head_file(store, code, head)
        ensure_unchanged(store, code, head, head_file, base, base_blob, yours, summary)
        doc, text = text_for(head_file)
        subject, body, trailer_list = trailers.build_message(
            doc, summary, approved_by=_approver_line(approver) if approver else None,
            review_id=review_id, extra=tuple(extra))
        message = {"summary": subject, "body": body, "trailers": trailer_list, "author": signature_for(author)}
        try:
            sha = write(store, head, text, message)
        except repo_store.MergeConflict:
            # Not cured by retrying: the branch and main changed the same lines.
            raise conflict(store, code, store.head(), base, yours, summary) from None
        except repo_store.Conflict:
            continue  # main moved under us; the loop re-checks this procedure's file
        except repo_store.NothingToCommit:
            raise validate.field_error("markdown", _l("Nothing changed compared with the current version.")) \
                from None
        except repo_store.InvalidArgument as exc:
            raise validate.field_error("summary", _l("The change summary cannot be stored: %(problem)s",
                                                     problem=str(exc))) from None
        previous = None
        if head_file is not None:
            try:
                previous = validate.head_version(head_file, store)
            except ValidationError:
                previous = None
        return Committed(sha=sha, doc=doc, previous=previous, old_head=head)
    raise Conflict(_l("The store is too busy right now; please publish again."), code=code)


def commit_change(code: str, *, base: str | None, base_blob: str | None, text_for: TextFor, summary: str,
                  author: User, approver: User | None, review_id: int | None = None,
                  extra: Iterable[tuple[str, str]] = (), yours: str) -> Committed:
    """Commit ``text_for(head_file)`` as the file of ``code`` on top of ``main`` (one parent).

    ``base``/``base_blob``: the revision the writer started from and the file's blob there
    (both None for a new procedure). Conflict when the file changed since, ValidationError
    when ``text_for`` refuses or nothing would change.
    """
    path = document.path_for(code)

    def write(store, head, text, message):
        return store.commit({path: text}, base=head, **message)

    return _cas(code, write, base=base, base_blob=base_blob, text_for=text_for, summary=summary, author=author,
                approver=approver, review_id=review_id, extra=extra, yours=yours)


def _draft_moved(code: str, branch: str) -> Conflict:
    return Conflict(_l("The draft on %(branch)s changed while it was being published; publish it again.",
                       branch=branch), code=code)


def merge_branch(code: str, branch: str, *, tip: str, draft: bytes, base: str, base_blob: str | None,
                 text_for: TextFor, summary: str, author: User, approver: User | None,
                 review_id: int | None = None, extra: Iterable[tuple[str, str]] = (), yours: str) -> Committed:
    """Merge ``branch`` (at ``tip``, whose file of ``code`` is ``draft``) into ``main``: a two-parent commit.

    The procedure's file on ``main`` becomes ``text_for(head_file)``. When that is not
    byte for byte the draft (the service numbers the version), the branch first gets one
    commit with it, so the merge brings exactly the published text; the branch is kept.
    Same checks, retries and errors as :func:`commit_change`; Conflict also when the
    branch moves while it is being published (the review workflow owns the branch and
    must not write it meanwhile). A refused publish may leave that numbering commit on
    the branch, which is harmless: the next attempt starts from it.
    """
    path = document.path_for(code)
    state = {"tip": tip, "draft": draft}

    def write(store, head, text, message):
        data = text.encode("utf-8")
        if state["draft"] != data:
            try:
                state["tip"] = store.commit({path: data}, base=state["tip"], branch=branch,
                                            summary=message["summary"], body=message["body"],
                                            author=message["author"])
            except repo_store.Conflict:
                raise _draft_moved(code, branch) from None
            state["draft"] = data
        # The store merges whatever the branch's head is: refuse one that moved since it was checked.
        if store.head(branch) != state["tip"]:
            raise _draft_moved(code, branch)
        return store.merge(branch, into=store.default_branch, base=head, **message)

    return _cas(code, write, base=base, base_blob=base_blob, text_for=text_for, summary=summary, author=author,
                approver=approver, review_id=review_id, extra=extra, yours=yours)
