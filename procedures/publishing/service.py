"""Publishing procedures: create, publish a new version, withdraw, preview, upload.

Git is the source of truth, the database is derived from it. Every write therefore
runs in this order:

1. validate everything that can be validated (front matter, departments, owner,
   approver, summary, base revision) — nothing is written when any check fails;
2. commit to the git store with a compare-and-swap on ``main``; this single step
   makes the new version exist, or not;
3. the audit entry (committed; retried when concurrent writers collide), then
   :func:`procedures.catalog.sync`, which mirrors git into the catalogue tables.

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

import logging
import random
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import date

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

import repo_store
from accounts.models import Department, User
from audit import service as audit
from procedures import document, rendering
from procedures.permissions import REVIEWS_MANAGE
from webapp import dates
from webapp.exceptions import Conflict, InvalidTransition, NotFound, ValidationError
from webapp.extensions import db
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
    "editor_state",
    "new_document_template",
    "publish",
    "create",
    "withdraw",
    "preview",
    "check",
    "read_upload",
    "signature_for",
]

#: A procedure is a few to a few dozen KB; anything far larger is a mistake (or an attack).
#: Bounds both what is sent and what is stored (the serialised file).
MAX_DOCUMENT_BYTES = document.MAX_FILE_BYTES
MAX_SUMMARY_LENGTH = 2000
MAX_REASON_LENGTH = 1000
UPLOAD_SUFFIXES = (".md", ".markdown", ".txt")
#: How often a publish re-checks and retries when *other* procedures moved ``main`` meanwhile.
CAS_RETRIES = 20
DB_RETRIES = 8

log = logging.getLogger(__name__)

_SHA_RE = re.compile(r"\A[0-9a-f]{40}\Z")
_VERSION_LINE_RE = re.compile(r"^version[ \t]*:.*$", re.MULTILINE)


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


# ---------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------


def _field_error(field: str, message) -> ValidationError:
    return ValidationError(message, errors={field: [message]})


def signature_for(user: User) -> repo_store.Signature:
    """The git author for a user: display name and e-mail (a reserved ``.invalid`` address if none)."""
    name = " ".join((user.display_name or user.login).replace("<", "").replace(">", "").split()) or user.login
    email = (user.email or "").strip()
    if not email or any(c in email for c in "<> \t\r\n"):
        email = f"{user.login}@users.procdesk.invalid"
    return repo_store.Signature(name=name, email=email)


def _approver_line(user: User) -> str:
    from procedures import trailers

    sig = signature_for(user)
    return trailers.person(sig.name, sig.email)


def _check_summary(summary, field: str = "summary", *, limit: int = MAX_SUMMARY_LENGTH,
                   message=None) -> str:
    summary = (summary or "").replace("\r\n", "\n").strip() if isinstance(summary, str) else ""
    if not summary:
        raise _field_error(field, message or _l("Describe what changed in this version."))
    if len(summary) > limit:
        raise _field_error(field, _l("Keep it under %(max)d characters.", max=limit))
    if "\x00" in summary:
        raise _field_error(field, _l("The text contains characters that are not allowed."))
    return summary


def _check_size(markdown_text) -> str:
    if not isinstance(markdown_text, str) or not markdown_text.strip():
        raise _field_error("markdown", _l("The procedure text is empty."))
    if len(markdown_text.encode("utf-8")) > MAX_DOCUMENT_BYTES:
        raise _field_error("markdown", _l("The procedure text is larger than %(kb)d KB.",
                                          kb=MAX_DOCUMENT_BYTES // 1024))
    if "\x00" in markdown_text:
        raise _field_error("markdown", _l("The text contains characters that are not allowed."))
    return markdown_text


def _check_base(base) -> str:
    if not isinstance(base, str) or not _SHA_RE.match(base.strip().lower()):
        raise _field_error("base", _l("The editor's base revision is missing or invalid. Reload the editor."))
    return base.strip().lower()


# ---------------------------------------------------------------------------
# approvers
# ---------------------------------------------------------------------------


def approvers() -> list[User]:
    """Active users who may approve a version: those who run reviews, and management."""
    users = db.session.execute(
        select(User).where(User.active.is_(True)).order_by(User.display_name, User.login)).scalars()
    return [u for u in users
            if u.can(REVIEWS_MANAGE) or u.participant_category == "management" or u.has_role("manager")]


def resolve_approver(login: str | None, publisher: User) -> User:
    """The approving user for ``login``; none given → the publisher approves their own version."""
    login = (login or "").strip()
    if not login:
        return publisher
    for user in approvers():
        if user.login == login:
            return user
    raise _field_error("approved_by", _l("%(login)s cannot approve procedures.", login=login))


# ---------------------------------------------------------------------------
# reading for the editor
# ---------------------------------------------------------------------------


def _head_file(store, code: str, head: str | None) -> repo_store.FileVersion | None:
    if head is None:
        return None
    try:
        return store.read(document.path_for(code), head)
    except repo_store.NotFound:
        return None


_parsed: OrderedDict[str, document.ProcedureDoc | ValidationError] = OrderedDict()
_parsed_lock = threading.Lock()


def _parse_stored(file: repo_store.FileVersion) -> document.ProcedureDoc:
    """``document.parse`` of a stored file, memoised by blob sha (content-addressed, never stale)."""
    with _parsed_lock:
        found = _parsed.get(file.blob)
        if found is not None:
            _parsed.move_to_end(file.blob)
    if found is None:
        try:
            found = document.parse(file.data)
        except ValidationError as exc:
            found = exc
        with _parsed_lock:
            _parsed[file.blob] = found
            while len(_parsed) > 256:
                _parsed.popitem(last=False)
    if isinstance(found, ValidationError):
        raise found
    return found


def _head_version(file: repo_store.FileVersion) -> str:
    """The version in the head file; a file pushed with plain git may be broken, then its trailers count."""
    try:
        return _parse_stored(file).version
    except ValidationError:
        pass
    from procedures import trailers

    store = get_store()
    history = store.history(file.path, rev=file.commit, limit=1)
    version = trailers.parse_commit(history[0], store=store, path=file.path).version if history else None
    if not version or not document.VERSION_RE.match(version):
        # No trailers either (a plain git push): the newest valid version before it counts, so
        # a fixed version can still be published on top of a broken one; failing that (a new
        # file that was never valid), the version line the broken file itself carries.
        version = _last_valid_version(store, file) or _version_line(file.data)
    if not version or not document.VERSION_RE.match(version):
        raise ValidationError(_l("The current file of this procedure in the store is not valid; "
                                 "ask an administrator to repair it."))
    return version


def _version_line(data: bytes) -> str | None:
    """``A/1`` from a ``version: A/1`` line near the top of a file that does not parse."""
    match = re.search(r"^version[ \t]*:[ \t]*['\"]?([A-Z]/\d{1,3})['\"]?[ \t]*$",
                      data[:4096].decode("utf-8", "replace"), re.MULTILINE)
    return match.group(1) if match else None


def _last_valid_version(store, file: repo_store.FileVersion, limit: int = 20) -> str | None:
    """The version of the newest earlier file of ``file.path`` that parses (None when there is none)."""
    for commit in store.history(file.path, rev=file.commit, limit=limit)[1:]:
        try:
            return _parse_stored(store.read(file.path, commit.sha)).version
        except (ValidationError, repo_store.NotFound):
            continue
    return None


def editor_state(code: str) -> EditorState:
    """The text of ``code`` at the head of ``main`` plus the base revision for the editor."""
    path = document.path_for(code)
    store = get_store()
    head = store.head()
    file = _head_file(store, code, head)
    if file is None:
        raise NotFound(_l("There is no procedure %(code)s.", code=code))
    version = _head_version(file)
    try:
        doc = _parse_stored(file)
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
    assert path == file.path
    return EditorState(code=code, base=head, markdown=file.data.decode("utf-8", "replace"), version=version,
                       next_revision=nxt_rev, next_edition=nxt_ed, status=status, title=title)


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
# validation shared by preview, publish and create
# ---------------------------------------------------------------------------


def _with_version(markdown_text: str, version: str) -> str:
    """Put ``version: <version>`` into the front matter (the service owns the version number)."""
    text = markdown_text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if text.lstrip().startswith("---"):
        text = text.lstrip(" \t\n")  # blank lines before the front matter are not an error
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        return text  # parse() reports the missing front matter
    for index in range(1, len(lines)):
        if lines[index].rstrip() in ("---", "..."):
            front = "\n".join(lines[1:index])
            if _VERSION_LINE_RE.search(front):
                front = _VERSION_LINE_RE.sub(f"version: {version}", front, count=1)
            else:
                front = (front + "\n" if front else "") + f"version: {version}"
            return "\n".join(["---", front, *lines[index:]])
    return text


def _serialized(doc: document.ProcedureDoc) -> str:
    """The file to store; refused when it would be larger than what the editor may send."""
    text = document.serialize(doc)
    if len(text.encode("utf-8")) > MAX_DOCUMENT_BYTES:
        raise _field_error("markdown", _l("The procedure file would be larger than %(kb)d KB once stored.",
                                          kb=MAX_DOCUMENT_BYTES // 1024))
    return text


def _body_line(markdown_text: str, body: str) -> int:
    """The line of the author's text on which the body starts (after the front matter)."""
    text = markdown_text.replace("\r\n", "\n").replace("\r", "\n")
    return text[: len(text) - len(body)].count("\n") + 1 if body and text.endswith(body) else 1


def _validate(code: str | None, markdown_text: str, version: str) -> document.ProcedureDoc:
    """Parse with the service's version and check what only the database knows."""
    text = _with_version(_check_size(markdown_text), version)
    doc = document.parse(text, expected_code=code, date_bounds=dates.date_bounds())
    errors: dict[str, list] = {}
    try:  # refused now, not on every view after publishing; lines counted as in the editor
        rendering.check_renderable(doc.body, first_line=_body_line(markdown_text, doc.body))
    except ValidationError as exc:
        errors.update(exc.errors)
    known = set(db.session.execute(
        select(Department.code).where(Department.code.in_(doc.departments))).scalars())
    for dept in doc.departments:
        if dept not in known:
            errors.setdefault("departments", []).append(
                _l("There is no department with code %(code)s.", code=dept))
    if doc.owner is not None and db.session.execute(
            select(User.id).where(User.login == doc.owner)).first() is None:
        errors.setdefault("owner", []).append(_l("There is no user with login %(login)s.", login=doc.owner))
    if doc.status != document.STATUS_EFFECTIVE:
        errors.setdefault("status", []).append(
            _l("A published version has status 'effective'; use Withdraw to withdraw a procedure."))
    if errors:
        raise ValidationError(_l("The procedure file has errors; please correct the fields listed."),
                              errors=errors)
    return doc


def check(markdown_text: str, code: str | None = None) -> dict[str, list[str]]:
    """Field errors of a draft (for the live preview); empty when it would publish."""
    try:
        version = "A/0"
        if code:
            store = get_store()
            file = _head_file(store, code, store.head())
            version = _head_version(file) if file is not None else version
        _validate(code, markdown_text, version)
    except ValidationError as exc:
        return {k: [str(m) for m in v] for k, v in (exc.errors or {"markdown": [exc.message]}).items()}
    return {}


def preview(markdown_text: str) -> Markup:
    """Sanitised HTML of a draft's body (front matter left out when present)."""
    text = _check_size(markdown_text) if (markdown_text or "").strip() else ""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    first_line = 1
    if lines and lines[0].rstrip() == "---":
        for index in range(1, len(lines)):
            if lines[index].rstrip() in ("---", "..."):
                text = "\n".join(lines[index + 1:])
                first_line = index + 2
                break
    return rendering.check_renderable(text, first_line=first_line).html  # beyond the limits: a 400, quickly


def read_upload(filename: str | None, data: bytes) -> str:
    """The text of an uploaded ``.md`` file: size limit, UTF-8 (a BOM is dropped), no NULs."""
    name = (filename or "").strip().lower()
    if not name.endswith(UPLOAD_SUFFIXES):
        raise _field_error("file", _l("Upload a Markdown file (.md)."))
    if len(data) > MAX_DOCUMENT_BYTES:
        raise _field_error("file", _l("The file is larger than %(kb)d KB.", kb=MAX_DOCUMENT_BYTES // 1024))
    if not data.strip():
        raise _field_error("file", _l("The file is empty."))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _field_error("file", _l("The file is not UTF-8 text. Save it as UTF-8 and upload it again.")) from None
    if "\x00" in text:
        raise _field_error("file", _l("The file is not UTF-8 text. Save it as UTF-8 and upload it again."))
    return text.replace("\r\n", "\n").replace("\r", "\n")


# ---------------------------------------------------------------------------
# conflicts
# ---------------------------------------------------------------------------


def _conflict(store, code: str, head: str, base: str | None, yours: str, summary: str) -> Conflict:
    """A domain Conflict with both sides, for the conflict page and the API's 409."""
    from procedures import trailers

    path = document.path_for(code)
    theirs_file = store.read(path, head)
    commits = store.history(path, rev=head, limit=1)
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


# ---------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------


def _base_blob(store, path: str, base: str) -> str | None:
    """The blob of ``path`` in the editor's base revision (None: the file was not there)."""
    try:
        store.resolve(base)
    except (repo_store.NotFound, repo_store.InvalidArgument):
        raise _field_error("base", _l("The editor's base revision is not in the store. Reload the editor.")) \
            from None
    try:
        return store.blob_sha(path, base)
    except repo_store.NotFound:
        return None


def _ensure_unchanged(store, code: str, head: str | None, head_file, base: str | None, base_blob: str | None,
                      yours: str, summary: str) -> None:
    """Raise unless the procedure's file at ``head`` is still the one the editor started from."""
    if base is None:
        if head_file is not None:
            raise Conflict(_l("A procedure with code %(code)s already exists.", code=code), code=code,
                           current=head)
        return
    if head_file is None:
        raise NotFound(_l("There is no procedure %(code)s.", code=code))
    if head_file.blob != base_blob:
        raise _conflict(store, code, head, base, yours, summary)


def _commit(code: str, *, base: str | None, base_blob: str | None, text_for, summary: str, author: User,
            approver: User | None, review_id: int | None, extra=(), yours: str):
    """CAS-commit ``text_for(head_file)`` on the head of ``main``.

    When ``main`` moved only because *other* files changed, the file check is repeated
    on the new head and the commit retried; when this procedure changed, Conflict.
    Returns ``(sha, doc, previous_version, old_head)``.
    """
    from procedures import trailers

    store = get_store()
    path = document.path_for(code)
    signature = signature_for(author)
    for _attempt in range(CAS_RETRIES):
        head = store.head()
        head_file = _head_file(store, code, head)
        _ensure_unchanged(store, code, head, head_file, base, base_blob, yours, summary)
        doc, text = text_for(head_file)
        subject, body, trailer_list = trailers.build_message(
            doc, summary, approved_by=_approver_line(approver) if approver else None,
            review_id=review_id, extra=tuple(extra))
        try:
            sha = store.commit({path: text}, summary=subject, body=body, trailers=trailer_list,
                               author=signature, base=head)
        except repo_store.Conflict:
            continue  # main moved under us; the loop re-checks this procedure's file
        except repo_store.NothingToCommit:
            raise _field_error("markdown", _l("Nothing changed compared with the current version.")) from None
        except repo_store.InvalidArgument as exc:
            raise _field_error("summary", _l("The change summary cannot be stored: %(problem)s",
                                             problem=str(exc))) from None
        previous = None
        if head_file is not None:
            try:
                previous = _head_version(head_file)
            except ValidationError:
                previous = None
        return sha, doc, previous, head
    raise Conflict(_l("The store is too busy right now; please publish again."), code=code)


def _after_commit(action: str, code: str, *, sha: str, doc: document.ProcedureDoc, previous: str | None,
                  old_head: str | None, actor: User, approver: User | None, summary: str,
                  reason: str = "") -> None:
    """Database side of a publish: the audit entry (committed), the catalogue sync, the audit anchor.

    All are derived from the commit that already exists: when this fails, the version
    is still published, and the next ``sync()`` mirrors it and records its audit entry
    from git. The entry is linked to the commit (``git_commit``, unique): when another
    worker's sync recorded it from git first, that entry stands and none is added.
    """
    from procedures import catalog

    for attempt in range(DB_RETRIES):
        try:
            if audit.entry_for_commit(sha) is None:
                audit.record(
                    action, None, object_type="procedure", object_id=code, actor=actor, git_commit=sha,
                    before={"version": previous, "commit": old_head} if previous else None,
                    after={"version": doc.version, "commit": sha, "title": doc.title, "effective": doc.effective,
                           "status": doc.status, "departments": list(doc.departments),
                           "approved_by": approver.login if approver else None, "summary": summary},
                    reason=reason or summary,
                )
            db.session.commit()
            break
        except (IntegrityError, OperationalError):
            # Another writer extended the audit chain from the same tail, or SQLite refused a
            # stale snapshot: the version is already in git, so append the entry again.
            db.session.rollback()
            if attempt == DB_RETRIES - 1:
                raise
            time.sleep(random.uniform(0.005, 0.03) * (attempt + 1))
        except BaseException:
            db.session.rollback()
            raise
    # Mirror the new version now (and remember the head, so the next request need not).
    # The version is published whatever happens here: a failed mirror is redone by the
    # next request's sync, and reporting an error now would make the user publish again.
    try:
        catalog.sync(commit=True)
    except Exception:
        log.exception("catalogue sync after publishing %s %s failed; the next request retries", code,
                      doc.version)
        db.session.rollback()
    # The audit log's head, now including this publish, goes into the git store (outside the database).
    audit.anchor_quietly()


def publish(code: str, markdown_text: str, *, summary: str, base: str | None, author: User,
            approved_by: User | None, review_id: int | None = None, new_edition: bool = False) -> PublishResult:
    """Publish a new version of an existing procedure on top of ``base`` (the revision the editor loaded).

    The version number is the next revision of the version at the head (or the next edition
    when ``new_edition``). Raises ValidationError (field errors, nothing written), NotFound,
    or Conflict with both sides when the procedure changed since ``base``.
    """
    path = document.path_for(code)
    summary = _check_summary(summary)
    base = _check_base(base)
    _check_size(markdown_text)
    approver = approved_by or author
    store = get_store()
    base_blob = _base_blob(store, path, base)
    head = store.head()
    head_file = _head_file(store, code, head)
    # A stale base is reported first: the user must see the other change before anything else.
    _ensure_unchanged(store, code, head, head_file, base, base_blob, markdown_text, summary)

    def prepare(file):
        current = _head_version(file)
        version = document.next_edition(current) if new_edition else document.next_revision(current)
        doc = _validate(code, markdown_text, version)
        try:
            previous_doc = _parse_stored(file)
        except ValidationError:
            previous_doc = None
        # A previous date outside the sane range (stored before the range was checked) cannot
        # hold a fixed version back.
        if previous_doc is not None and previous_doc.status == document.STATUS_EFFECTIVE \
                and doc.effective < previous_doc.effective and dates.in_range(previous_doc.effective):
            raise ValidationError(
                _l("The procedure file has errors; please correct the fields listed."),
                errors={"effective": [_l("A new version cannot take effect before the version it replaces "
                                         "(%(date)s).", date=previous_doc.effective.isoformat())]})
        return doc, _serialized(doc)

    prepared = {head_file.blob: prepare(head_file)}  # validate before anything is written

    def text_for(file):
        if file.blob not in prepared:
            prepared[file.blob] = prepare(file)
        return prepared[file.blob]

    sha, doc, previous, old_head = _commit(
        code, base=base, base_blob=base_blob, text_for=text_for, summary=summary, author=author,
        approver=approver, review_id=review_id, yours=markdown_text)
    _after_commit("procedure.published", code, sha=sha, doc=doc, previous=previous, old_head=old_head,
                  actor=author, approver=approver, summary=summary)
    return PublishResult(code=code, version=doc.version, commit=sha, effective=doc.effective)


def create(code: str | None, markdown_text: str, *, summary: str, author: User, approved_by: User | None,
           review_id: int | None = None) -> PublishResult:
    """Publish the first version (A/0) of a new procedure; Conflict when the code exists.

    ``code`` may be None: the code is then taken from the front matter.
    """
    summary = _check_summary(summary)
    approver = approved_by or author
    doc = _validate(code or None, markdown_text, "A/0")
    text = _serialized(doc)
    sha, doc, _previous, _old = _commit(
        doc.code, base=None, base_blob=None, text_for=lambda _file: (doc, text), summary=summary, author=author,
        approver=approver, review_id=review_id, yours=markdown_text)
    _after_commit("procedure.created", doc.code, sha=sha, doc=doc, previous=None, old_head=None, actor=author,
                  approver=approver, summary=summary)
    return PublishResult(code=doc.code, version=doc.version, commit=sha, effective=doc.effective)


def withdraw(code: str, *, reason: str, base: str | None, user: User,
             approved_by: User | None = None) -> PublishResult:
    """Withdraw a procedure: a new revision with ``status: withdrawn``, effective today, and a
    ``Withdrawn: <reason>`` trailer. Nothing is deleted; the history stays readable."""
    path = document.path_for(code)
    reason = _check_summary(reason, "reason", limit=MAX_REASON_LENGTH,
                            message=_l("Give the reason for withdrawing this procedure."))
    base = _check_base(base)
    approver = approved_by or user
    store = get_store()
    base_blob = _base_blob(store, path, base)
    head = store.head()
    head_file = _head_file(store, code, head)

    def text_for(file):
        try:
            current = _parse_stored(file)
        except ValidationError as exc:
            raise ValidationError(_l("The current file of this procedure in the store is not valid; "
                                     "ask an administrator to repair it."), errors=exc.errors) from None
        if current.status == document.STATUS_WITHDRAWN:
            raise InvalidTransition(_l("%(code)s is already withdrawn.", code=code))
        doc = replace(current, status=document.STATUS_WITHDRAWN, version=document.next_revision(current.version),
                      effective=dates.local_today())
        return doc, _serialized(doc)

    if head_file is not None:
        text_for(head_file)  # already withdrawn → InvalidTransition, before the base check
    _ensure_unchanged(store, code, head, head_file, base, base_blob, "", reason)
    sha, doc, previous, old_head = _commit(
        code, base=base, base_blob=base_blob, text_for=text_for, summary=reason, author=user,
        approver=approver, review_id=None, extra=(("Withdrawn", " ".join(reason.split())),), yours="")
    _after_commit("procedure.withdrawn", code, sha=sha, doc=doc, previous=previous, old_head=old_head,
                  actor=user, approver=approver, summary=reason, reason=reason)
    return PublishResult(code=code, version=doc.version, commit=sha, effective=doc.effective)
