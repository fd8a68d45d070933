"""Publishing procedures: create, publish a new version, publish a review's draft, withdraw.

The entry points that views, the API, the CLI and the demo call. Git is the source of
truth, the database is derived from it. Every write is three steps, one module each:

1. :mod:`.validate` — check everything that can be checked (front matter, version
   numbering, effective date, rendering, size, departments, owner, approver, summary,
   base revision) and build the file; nothing is written when any check fails;
2. :mod:`.commit` — the compare-and-swap on ``main``, the only place a publish moves it;
   this single step makes the new version exist, or not;
3. :mod:`.after` — the audit entry linked to the commit and the ``version_published``
   signal (one transaction, retried when concurrent writers collide), then
   :func:`procedures.catalog.sync`, which mirrors git into the catalogue tables, and the
   audit anchor.

A crash between 2 and 3 leaves the new version in git and the old one in the
database; the next ``sync()`` (run at the start of every procedures request)
catches up. Should the audit entry of that one publish be missing, the commit
itself still names the author, the approver, the time and the change summary.

No lost update: the editor sends the ``base`` revision it loaded the procedure
from. A publish goes through only when the procedure's file is still the one the
editor started from; otherwise :class:`webapp.exceptions.Conflict` carries both
sides (theirs: the version that landed in between; yours: the submitted text) so
the user can merge and resubmit. Commits to *other* procedures in between do not
conflict: the service re-checks the file and retries the CAS on the new head.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from accounts.models import User
from procedures import document, trailers
from procedures.publishing import after, commit, editing, validate
from procedures.publishing.commit import signature_for
from procedures.publishing.editing import DocumentFields
from procedures.publishing.validate import (
    AS_WRITTEN,
    MAX_DOCUMENT_BYTES,
    MAX_REASON_LENGTH,
    MAX_SUMMARY_LENGTH,
    NoChange,
    approvers,
    check,
    preview,
    read_upload,
    resolve_approver,
    self_approval_allowed,
)
from webapp import dates
from webapp.exceptions import NotFound, ValidationError
from webapp.i18n import _l
from webapp.store import get_store

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "MAX_SUMMARY_LENGTH",
    "MAX_REASON_LENGTH",
    "PublishResult",
    "EditorState",
    "approvers",
    "resolve_approver",
    "self_approval_allowed",
    "AS_WRITTEN",
    "NoChange",
    "DocumentFields",
    "editor_state",
    "new_document_template",
    "publish",
    "publish_branch",
    "create",
    "withdraw",
    "ReleaseItem",
    "ReleaseResult",
    "REVISE",
    "WITHDRAW",
    "NO_CHANGE",
    "release_review",
    "preview",
    "check",
    "read_upload",
    "signature_for",
]


@dataclass(frozen=True)
class PublishResult:
    code: str
    version: str
    commit: str
    effective: date


@dataclass(frozen=True)
class EditorState:
    """What the editor page needs: the text at the head of ``main`` and the revision it came from."""

    code: str
    base: str
    markdown: str
    version: str
    next_revision: str | None
    next_edition: str | None
    status: str
    title: str
    #: The text a new version starts from: the stored one, effective today and in force.
    draft: str = ""


def _result(code: str, done: commit.Committed) -> PublishResult:
    return PublishResult(code=code, version=done.doc.version, commit=done.sha, effective=done.doc.effective)


# ---------------------------------------------------------------------------
# reading for the editor
# ---------------------------------------------------------------------------


def editor_state(code: str) -> EditorState:
    """The text of ``code`` at the head of ``main`` plus the base revision for the editor."""
    store = get_store()
    head = store.head()
    file = validate.head_file(store, code, head)
    if file is None:
        raise NotFound(_l("There is no procedure %(code)s.", code=code))
    version = validate.head_version(file, store)
    try:
        doc = validate.parse_stored(file)
        status, title = doc.status, doc.title
    except ValidationError:
        status, title = document.STATUS_EFFECTIVE, code
    nxt_rev = nxt_ed = None
    try:
        nxt_rev = document.next_revision(version)
    except ValidationError:
        pass
    try:
        nxt_ed = document.next_edition(version)
    except ValidationError:
        pass
    markdown = file.data.decode("utf-8", "replace")
    draft = validate.with_front_value(markdown, "effective", dates.local_today().isoformat())
    if status != document.STATUS_EFFECTIVE:
        draft = validate.with_front_value(draft, "status", document.STATUS_EFFECTIVE)
    return EditorState(code=code, base=head, markdown=markdown, version=version, next_revision=nxt_rev,
                       next_edition=nxt_ed, status=status, title=title, draft=draft)


def new_document_template(owner: str | None = None) -> str:
    """The skeleton a new procedure starts from (front matter with today's date)."""
    lines = [
        "---",
        "code: ",
        "title: ",
        "departments: []",
        "version: A/0",
        f"effective: {dates.local_today().isoformat()}",
        f"review_months: {document.DEFAULT_REVIEW_MONTHS}",
        "status: effective",
    ]
    if owner:
        lines.append(f"owner: {owner}")
    lines += ["---", "", "## 1.0 " + str(_l("Purpose")), "", "1.1 ", "", "## 2.0 " + str(_l("Scope")), "",
              "2.1 ", "", "## 3.0 " + str(_l("Responsibilities")), "", "3.1 ", "",
              "## 4.0 " + str(_l("Procedure")), "", "4.1 ", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------


def _next_version_text(code: str, markdown_text: str, new_edition: bool, store, effective=None,
                       first_line: int | None = None):
    """``text_for`` of a new version of ``markdown_text``: validated once per stored file it builds on."""
    prepared: dict[str, tuple] = {}

    def text_for(file):
        if file.blob not in prepared:
            prepared[file.blob] = validate.new_version(code, file, markdown_text, new_edition=new_edition,
                                                       store=store, effective=effective, first_line=first_line)
        return prepared[file.blob]

    return text_for


def _document_text(document_or_fields: str | DocumentFields, *, code: str | None = None,
                   version: str | None = None) -> tuple[str, int | None]:
    """``(text, first line of the body)``: the file as sent, or composed from the editor's form fields
    (whose body the user saw from its line 1)."""
    if isinstance(document_or_fields, DocumentFields):
        return editing.compose(document_or_fields, code=code, version=version), 1
    return document_or_fields, None


def _approved(author: User, approved_by: User | None, check: Callable[[], object]):
    """``(approver, check())``: the approver (:func:`~.validate.check_approver`) and the document's
    checks, both run, so that a refused submit names every problem at once."""
    try:
        result = check()
    except ValidationError as exc:
        try:
            validate.check_approver(author, approved_by)
        except ValidationError as other:
            raise ValidationError(exc.message, errors={**other.errors, **exc.errors}) from None
        raise
    return validate.check_approver(author, approved_by), result


def publish(code: str, markdown_text: str | DocumentFields, *, summary: str, base: str | None, author: User,
            approved_by: User | None, effective=None, review_id: int | None = None,
            new_edition: bool = False) -> PublishResult:
    """Publish a new version of an existing procedure on top of ``base`` (the revision the editor loaded).

    ``markdown_text``: the whole file, or the editor's :class:`DocumentFields` (composed into one).
    The version number is the next revision of the version at the head (or the next edition
    when ``new_edition``). ``effective``: the date it takes effect, today (company time zone)
    when None, the document's own with :data:`AS_WRITTEN`; today or later, a later date makes
    it upcoming. ``approved_by`` must be someone other than ``author`` unless the setting
    ``PUBLISH_ALLOW_SELF_APPROVAL`` allows it (None then means the author). A version that
    changes nothing in the document is refused (:class:`NoChange`, 422). Raises
    ValidationError (field errors, nothing written), NotFound, or Conflict with both sides
    when the procedure changed since ``base``.
    """
    path = document.path_for(code)
    summary = validate.check_summary(summary)
    base = validate.check_base(base)
    markdown_text, first_line = _document_text(markdown_text, code=code)
    validate.check_size(markdown_text)
    store = get_store()
    base_blob = validate.base_blob(store, path, base)
    head = store.head()
    head_file = validate.head_file(store, code, head)
    # A stale base is reported first: the user must see the other change before anything else.
    commit.ensure_unchanged(store, code, head, head_file, base, base_blob, markdown_text, summary)
    text_for = _next_version_text(code, markdown_text, new_edition, store, effective, first_line)
    approver, _checked = _approved(author, approved_by, lambda: text_for(head_file))  # before anything is written
    done = commit.commit_change(code, base=base, base_blob=base_blob, text_for=text_for, summary=summary,
                                author=author, approver=approver, review_id=review_id, yours=markdown_text)
    after.finish("procedure.published", code, sha=done.sha, doc=done.doc, previous=done.previous,
                 old_head=done.old_head, actor=author, approver=approver, summary=summary)
    return _result(code, done)


def publish_branch(code: str, branch: str, *, base: str, summary: str, author: User, approved_by: User | None,
                   effective=None, review_id: int | None = None, new_edition: bool = False) -> PublishResult:
    """Publish the file of ``code`` at the tip of ``branch`` (an adopted review draft) as its new version.

    For the review workflow, which must not write ``main`` itself: it keeps the draft on a
    branch such as ``reviews/<id>`` started from ``base`` (the revision of ``main`` that
    :meth:`repo_store.GitStore.create_branch` returned) and calls this when the draft is
    adopted. The draft is checked and numbered exactly as the editor's text in
    :func:`publish` (``effective``, the approver and a draft that changes nothing too; the
    branch may change nothing but this procedure's file), then the
    branch is merged into ``main`` with a merge commit carrying the same trailers as a
    publish (plus ``Review: <review_id>``), the same audit entry (``procedure.published``,
    linked to the merge commit) and the same ``version_published`` signal. Raises
    ValidationError, NotFound (no such procedure or branch), or Conflict with both sides
    (yours: the draft) when the procedure changed on ``main`` since ``base``; commits to
    other procedures in between are not a conflict. The branch is kept (deleting it is
    the workflow's business).
    """
    path = document.path_for(code)
    summary = validate.check_summary(summary)
    base = validate.check_base(base)
    store = get_store()
    base_blob = validate.base_blob(store, path, base)
    tip, draft = validate.draft_on_branch(store, code, branch, base)
    yours = draft.data.decode("utf-8", "replace")
    head = store.head()
    head_file = validate.head_file(store, code, head)
    commit.ensure_unchanged(store, code, head, head_file, base, base_blob, yours, summary)
    text_for = _next_version_text(code, yours, new_edition, store, effective)
    approver, _checked = _approved(author, approved_by, lambda: text_for(head_file))  # before anything is written
    done = commit.merge_branch(code, branch, tip=tip, draft=draft.data, base=base, base_blob=base_blob,
                               text_for=text_for, summary=summary, author=author, approver=approver,
                               review_id=review_id, yours=yours)
    after.finish("procedure.published", code, sha=done.sha, doc=done.doc, previous=done.previous,
                 old_head=done.old_head, actor=author, approver=approver, summary=summary)
    return _result(code, done)


def create(code: str | None, markdown_text: str | DocumentFields, *, summary: str, author: User,
           approved_by: User | None, effective=None, review_id: int | None = None) -> PublishResult:
    """Publish the first version (A/0) of a new procedure; Conflict when the code exists.

    ``code`` may be None: the code is then taken from the front matter (or the fields).
    ``effective`` and ``approved_by`` as for :func:`publish`, except that a first version may
    take effect on an earlier day: the procedure may have applied on paper before.
    """
    summary = validate.check_summary(summary)
    markdown_text, first_line = _document_text(markdown_text, code=code, version="A/0")
    approver, (doc, text) = _approved(author, approved_by, lambda: validate.first_version(
        code, markdown_text, effective=effective, first_line=first_line))
    done = commit.commit_change(doc.code, base=None, base_blob=None, text_for=lambda _file: (doc, text),
                                summary=summary, author=author, approver=approver, review_id=review_id,
                                yours=markdown_text)
    after.finish("procedure.created", doc.code, sha=done.sha, doc=done.doc, previous=None, old_head=None,
                 actor=author, approver=approver, summary=summary)
    return _result(doc.code, done)


def withdraw(code: str, *, reason: str, base: str | None, user: User,
             approved_by: User | None = None) -> PublishResult:
    """Withdraw a procedure: a new revision with ``status: withdrawn``, effective today, and a
    ``Withdrawn: <reason>`` trailer, approved as :func:`publish` is (someone other than ``user``
    unless self-approval is allowed). Nothing is deleted; the history stays readable."""
    path = document.path_for(code)
    reason = validate.check_summary(reason, "reason", limit=validate.MAX_REASON_LENGTH,
                                    message=_l("Give the reason for withdrawing this procedure."))
    base = validate.check_base(base)
    approver = validate.check_approver(user, approved_by)
    store = get_store()
    base_blob = validate.base_blob(store, path, base)
    head = store.head()
    head_file = validate.head_file(store, code, head)

    def text_for(file):
        return validate.withdrawal(code, file)

    if head_file is not None:
        text_for(head_file)  # already withdrawn → InvalidTransition, before the base check
    commit.ensure_unchanged(store, code, head, head_file, base, base_blob, "", reason)
    done = commit.commit_change(code, base=base, base_blob=base_blob, text_for=text_for, summary=reason,
                                author=user, approver=approver, extra=(("Withdrawn", " ".join(reason.split())),),
                                yours="")
    after.finish("procedure.withdrawn", code, sha=done.sha, doc=done.doc, previous=done.previous,
                 old_head=done.old_head, actor=user, approver=approver, summary=reason, reason=reason)
    return _result(code, done)


# ---------------------------------------------------------------------------
# a review's release
# ---------------------------------------------------------------------------

REVISE, WITHDRAW, NO_CHANGE = "revise", "withdraw", "no_change"
DECISIONS = (REVISE, WITHDRAW, NO_CHANGE)


@dataclass(frozen=True)
class ReleaseItem:
    """A review's decision on one procedure: ``revise`` (adopt the draft on the branch), ``withdraw``
    (``reason`` required) or ``no_change``."""

    code: str
    decision: str
    reason: str = ""


@dataclass(frozen=True)
class ReleaseResult:
    commit: str  # the one new commit on main
    versions: dict[str, PublishResult]  # code -> new version (revised and withdrawn procedures)
    previous: dict[str, str]  # code -> version before (every item)


def _check_items(items) -> list[ReleaseItem]:
    """The decisions, each code once, a reason for every withdrawal (ValidationError otherwise)."""
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence) or not items:
        raise validate.field_error("items", _l("A review covers at least one procedure."))
    checked, seen = [], set()
    for item in items:
        if not isinstance(item, ReleaseItem) or item.decision not in DECISIONS \
                or not isinstance(item.code, str) or not document.CODE_RE.match(item.code):
            raise validate.field_error("items", _l("Every procedure needs a decision: revise, withdraw or no "
                                                   "change."))
        if item.code in seen:
            raise validate.field_error("items", _l("%(code)s is listed twice.", code=item.code))
        seen.add(item.code)
        if item.decision == WITHDRAW:
            reason = validate.check_summary(item.reason, "reason", limit=validate.MAX_REASON_LENGTH,
                                            message=_l("Give the reason for withdrawing %(code)s.", code=item.code))
            item = ReleaseItem(item.code, WITHDRAW, reason)
        checked.append(item)
    return checked


def _approvers(signatures: Sequence[str]) -> list[str]:
    """``Approved-by`` values: the signer (``"Name <email>"``, the first field) of every signature whose
    second and third fields say ``management`` and ``approved``."""
    found = []
    for text in signatures:
        fields = [f.strip() for f in text.split("|")]
        if len(fields) >= 3 and fields[1].lower() == "management" and fields[2].lower() == "approved" and fields[0]:
            found.append(fields[0])
    return found


def release_review(branch: str | None, *, base: str | None, items: Sequence[ReleaseItem], record_path: str,
                   record_text: Callable[[dict[str, PublishResult], dict[str, str]], str], effective: date,
                   summary: str, author: User, signatures: Sequence[str], review_id: int,
                   review_number: str) -> ReleaseResult:
    """Release a closed review's outcome onto ``main`` as ONE commit; the review workflow calls this.

    The commit holds every ``revise`` item's file from the tip of ``branch`` (started from
    ``base``, a revision of ``main``), numbered as the next revision as :func:`publish_branch`
    does and effective on ``effective`` (today or later: a later date makes it upcoming);
    every ``withdraw`` item withdrawn as :func:`withdraw` does; and the change record at
    ``record_path``, whose text ``record_text(versions, previous)`` gives once the numbers are
    known (``versions[code].commit`` is still empty then: the commit cannot name itself).
    ``no_change`` items change no file; a review with only those commits its record alone
    (``branch`` and ``base`` may then be None). With revisions the commit is a merge: its
    second parent is the branch tip, so the drafts stay reachable (the branch is kept).

    The branch may change only the covered procedures' files. A covered file that ``main``
    changed since ``base`` is merged three-way with the draft; where both changed the same
    lines :class:`~webapp.exceptions.Conflict` is raised with ``paths`` (the codes) and
    ``files[code]`` = ``base_markdown`` / ``theirs`` / ``yours`` as for one publish (after
    resolving on the branch, release again with ``base`` = ``details["current"]``). Commits
    to other files meanwhile are retried over. The record path must be new (Conflict: the
    review was released). Trailers: ``Review``, ``Review-Number``, one ``Signature`` each,
    ``Approved-by`` for each management approval (see :func:`_approvers`); the publish
    trailers when exactly one procedure changes. Then, per changed procedure, the audit
    entry of a publish or withdrawal and ``version_published`` for revisions; the catalogue
    sync. Does not mark the procedures reviewed (:func:`procedures.catalog.mark_reviewed`).
    """
    items = _check_items(items)
    summary = validate.check_summary(summary)
    effective = validate.check_effective(effective)
    record_path = validate.check_record_path(record_path)
    review_number = validate.check_line(review_number, "review_number", limit=100)
    if isinstance(signatures, (str, bytes)) or not isinstance(signatures, Sequence):
        raise validate.field_error("signatures", _l("This value cannot be stored in the commit."))
    signatures = [validate.check_line(text, "signatures") for text in signatures]
    if isinstance(review_id, bool) or not isinstance(review_id, int) or not 0 < review_id < 2**31:
        raise validate.field_error("review_id", _l("This value cannot be stored in the commit."))
    revised = [item.code for item in items if item.decision == REVISE]
    store = get_store()
    tip, drafts, base_files = None, {}, {}
    if revised:
        if not branch:
            raise validate.field_error("branch", _l("The review's draft branch is missing."))
        base = validate.check_base(base)
        base_files = {code: validate.base_file(store, code, base) for code in revised}
        tip, drafts = validate.drafts_on_branch(store, branch, base, [item.code for item in items], revised)
        for code in revised:
            if drafts[code].blob == base_files[code].blob:
                raise validate.field_error("branch", _l("The draft does not change %(code)s.", code=code))
    withdrawn = {item.code: item.reason for item in items if item.decision == WITHDRAW}
    approved = _approvers(signatures)

    def record_for(docs, previous):
        return record_text({code: PublishResult(code, doc.version, "", doc.effective) for code, doc in docs.items()},
                           dict(previous))

    def message_for(docs):
        return trailers.build_release_message(docs, summary, review_id=review_id, review_number=review_number,
                                              approved_by=approved, withdrawn=withdrawn, signatures=signatures)

    done = commit.commit_release([(item.code, item.decision) for item in items], tip=tip, drafts=drafts, base=base,
                                 base_files=base_files, effective=effective, record_path=record_path,
                                 record_for=record_for, message_for=message_for, summary=summary, author=author)
    changes = [after.Change("procedure.withdrawn" if item.code in withdrawn else "procedure.published", item.code,
                            done.docs[item.code], done.previous[item.code], reason=withdrawn.get(item.code, ""))
               for item in items if item.code in done.docs]
    after.finish_all(changes, sha=done.sha, old_head=done.old_head, actor=author, approver=None, summary=summary,
                     facts={"review_id": review_id, "review_number": review_number, "record": record_path,
                            "approvers": approved, "signatures": signatures},
                     record=("procedure.review_recorded", "review", str(review_id)))
    return ReleaseResult(commit=done.sha,
                         versions={code: PublishResult(code, doc.version, done.sha, doc.effective)
                                   for code, doc in done.docs.items()},
                         previous=dict(done.previous))
