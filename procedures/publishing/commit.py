"""Moving ``main``: step 2 of a publish, the one compare-and-swap loop every write goes through.

A write is either a *change* (new content of one procedure's file committed on top of
``main``, :func:`commit_change`) or a *merge* of a branch whose tip holds the new content
(a review draft on ``refs/heads/reviews/<id>``, :func:`merge_branch`). Both run
:func:`_cas`: read the head of ``main``, check that the procedure's file is still the one
the writer started from (else :class:`~webapp.exceptions.Conflict` with both sides),
build the file with the caller's ``text_for``, write with the head as the expected old
value. When ``main`` moved only because *other* files changed, the check is repeated on
the new head and the write retried. Nothing else writes ``main`` for a publish.

A review's *release* (:func:`commit_release`) runs the same idea for several files at once:
the new versions, withdrawals and the change record in one commit (a merge of the review
branch when it adopts drafts), each draft merged three-way with what ``main`` changed since.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import repo_store
from accounts.models import User
from procedures import document, trailers
from procedures.publishing import validate
from webapp.exceptions import Conflict, NotFound, ValidationError
from webapp.i18n import _l
from webapp.store import get_store

__all__ = ["CAS_RETRIES", "Committed", "Released", "signature_for", "conflict", "ensure_unchanged",
           "commit_change", "merge_branch", "commit_release"]

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


# ---------------------------------------------------------------------------
# a review's release: several procedures and the change record in one commit
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Released:
    """What a release left: the commit, the new version of each changed procedure, every version before."""

    sha: str
    docs: dict[str, document.ProcedureDoc]  # code -> new version (revised and withdrawn codes, in item order)
    previous: dict[str, str]  # code -> version at the head it was made on (every item)
    old_head: str


#: ``message_for(docs)`` → ``(subject, body, trailers)`` once the new versions are known.
MessageFor = Callable[[list[document.ProcedureDoc]], tuple[str, str, list[tuple[str, str]]]]
#: ``record_for(docs, previous)`` → the change record's text.
RecordFor = Callable[[dict[str, document.ProcedureDoc], dict[str, str]], str]


def _adopted(store, base_file, head_file, draft, version: str, effective: date) -> str | None:
    """The draft's text, three-way merged with what ``main`` changed in the file since ``base``
    (``git merge-file``); None on a real conflict. The version and effective lines, which the
    release sets anyway, are made equal on all three sides first so they never conflict."""
    if head_file.blob == base_file.blob:
        return draft.data.decode("utf-8", "replace")

    def prepared(file) -> bytes:
        text = validate.with_front_value(file.data.decode("utf-8", "replace"), "version", version)
        return validate.with_front_value(text, "effective", effective.isoformat()).encode("utf-8")

    merged = store.merge_text(prepared(base_file), prepared(head_file), prepared(draft))
    return merged.decode("utf-8", "replace") if merged is not None else None


def _release_conflict(store, conflicts: dict[str, str], head: str, base: str | None, summary: str) -> Conflict:
    """One Conflict naming every procedure whose draft and ``main`` changed the same lines."""
    files = {}
    for code, yours in conflicts.items():
        details = conflict(store, code, head, base, yours, summary).details
        files[code] = {key: details[key] for key in ("base_markdown", "theirs", "yours")}
    return Conflict(
        _l("%(codes)s changed on main after the review's draft was started, in the same places as the draft. "
           "Nothing was released: merge the changes in the draft and release again.", codes=", ".join(conflicts)),
        paths=list(conflicts), files=files, base=base, current=head)


def _code_error(code: str, exc: ValidationError) -> ValidationError:
    """``exc`` naming the procedure it is about (a release checks several)."""
    return ValidationError(_l("%(code)s: %(problem)s", code=code, problem=exc.message), errors=exc.errors,
                           code=code)


def _exists(store, path: str, rev: str) -> bool:
    try:
        store.blob_sha(path, rev)
    except repo_store.NotFound:
        return False
    return True


def commit_release(decisions: Sequence[tuple[str, str]], *, tip: str | None, drafts: Mapping, base: str | None,
                   base_files: Mapping, effective: date, record_path: str, record_for: RecordFor,
                   message_for: MessageFor, summary: str, author: User) -> Released:
    """Commit a review's outcome on top of ``main`` in one commit, through the same CAS retry as a publish.

    ``decisions``: ``(code, "revise" | "withdraw" | "no_change")``. A revised file is the draft
    (``drafts[code]``, from the branch at ``tip`` started from ``base``; ``base_files[code]``
    is the file there) numbered as the next revision and effective on ``effective``, three-way
    merged with what ``main`` changed in it since ``base``; a withdrawn one is built as by
    :func:`~.validate.withdrawal`; ``record_path`` gets ``record_for(docs, previous)``. With
    revisions the commit's second parent is ``tip``. Conflict (``paths``, ``files``) when a
    draft cannot be merged, or when the record exists already; nothing is written then.
    """
    store = get_store()
    records: dict[tuple, str] = {}
    for _attempt in range(CAS_RETRIES):
        head = store.head()
        if head is not None and _exists(store, record_path, head):
            raise Conflict(_l("The change record %(path)s is already in the store: this review was released.",
                              path=record_path), path=record_path, current=head)
        files, previous = {}, {}
        for code, _decision in decisions:
            files[code] = validate.head_file(store, code, head)
            if files[code] is None:
                raise NotFound(_l("There is no procedure %(code)s.", code=code))
            try:
                previous[code] = validate.head_version(files[code], store)
            except ValidationError as exc:
                raise _code_error(code, exc) from None
        merged, conflicts = {}, {}
        for code, decision in decisions:
            if decision == "revise":
                text = _adopted(store, base_files[code], files[code], drafts[code],
                                document.next_revision(previous[code]), effective)
                if text is None:
                    conflicts[code] = drafts[code].data.decode("utf-8", "replace")
                merged[code] = text
        if conflicts:
            raise _release_conflict(store, conflicts, head, base, summary)
        docs, changes = {}, {}
        for code, decision in decisions:
            try:
                if decision == "revise":
                    docs[code], changes[document.path_for(code)] = validate.revision(
                        code, files[code], merged[code], effective, store=store)
                elif decision == "withdraw":
                    docs[code], changes[document.path_for(code)] = validate.withdrawal(code, files[code])
            except ValidationError as exc:
                raise _code_error(code, exc) from None
        # The record names the new versions: written again only when a retry numbered them differently.
        key = tuple((code, doc.version, doc.effective) for code, doc in docs.items()) + tuple(previous.items())
        if key not in records:
            records[key] = validate.check_record(record_for(docs, previous))
        changes[record_path] = records[key]
        subject, body, trailer_list = message_for(list(docs.values()))
        parents = [tip] if tip and merged and store.merge_base(head, tip) != tip else []
        try:
            sha = store.commit(changes, base=head, summary=subject, body=body, trailers=trailer_list,
                               author=signature_for(author), parents=parents)
        except repo_store.Conflict:
            continue  # main moved under us; everything is checked again on the new head
        except repo_store.InvalidPath:  # e.g. a folder of the record's path is a file
            raise validate.field_error("record_path", _l("The change record cannot be stored at this path.")) \
                from None
        except repo_store.InvalidArgument as exc:
            raise validate.field_error("summary", _l("The change summary cannot be stored: %(problem)s",
                                                     problem=str(exc))) from None
        return Released(sha=sha, docs=docs, previous=previous, old_head=head)
    raise Conflict(_l("The store is too busy right now; please release the review again."))
