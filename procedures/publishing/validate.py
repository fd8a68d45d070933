"""Checking a proposed version and building the file to store: step 1 of a publish.

Everything here reads (the store, the database) and raises domain errors
(:class:`~webapp.exceptions.ValidationError` with field errors, ``NotFound``,
``InvalidTransition``); nothing here writes to git or commits the database. The
version number is the service's: :func:`new_version`, :func:`first_version` and
:func:`withdrawal` put it into the front matter and return ``(doc, text)``, the
parsed document and the exact file content that :mod:`.commit` then writes.
"""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime

from flask import current_app
from markupsafe import Markup
from sqlalchemy import select

import repo_store
from accounts.models import Department, User
from procedures import document, rendering, trailers
from procedures.permissions import REVIEWS_MANAGE
from support.caching import LockedLRU
from webapp import dates
from webapp.exceptions import InvalidTransition, NotFound, ValidationError
from webapp.extensions import db
from webapp.i18n import _l
from webapp.store import get_store

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "MAX_SUMMARY_LENGTH",
    "MAX_REASON_LENGTH",
    "field_error",
    "check_summary",
    "check_size",
    "check_base",
    "base_blob",
    "base_file",
    "check_record_path",
    "check_record",
    "check_line",
    "approvers",
    "resolve_approver",
    "self_approval_allowed",
    "check_approver",
    "AS_WRITTEN",
    "NoChange",
    "head_file",
    "parse_stored",
    "head_version",
    "new_version",
    "first_version",
    "withdrawal",
    "draft_on_branch",
    "drafts_on_branch",
    "revision",
    "check_effective",
    "unchanged",
    "with_front_value",
    "check",
    "preview",
    "read_upload",
]

#: A procedure is a few to a few dozen KB; anything far larger is a mistake (or an attack).
#: Bounds both what is sent and what is stored (the serialised file).
MAX_DOCUMENT_BYTES = document.MAX_FILE_BYTES
MAX_SUMMARY_LENGTH = 2000
MAX_REASON_LENGTH = 1000
UPLOAD_SUFFIXES = (".md", ".markdown", ".txt")

_SHA_RE = re.compile(r"\A[0-9a-f]{40}\Z")
_INVALID_IN_STORE = _l("The current file of this procedure in the store is not valid; "
                       "ask an administrator to repair it.")


# ---------------------------------------------------------------------------
# the submitted fields
# ---------------------------------------------------------------------------


def field_error(field: str, message) -> ValidationError:
    """A ValidationError carrying ``message`` for one form field."""
    return ValidationError(message, errors={field: [message]})


def check_summary(summary, field: str = "summary", *, limit: int = MAX_SUMMARY_LENGTH, message=None) -> str:
    """The change summary (or withdrawal reason), trimmed; field error when empty, too long or with NULs."""
    summary = (summary or "").replace("\r\n", "\n").strip() if isinstance(summary, str) else ""
    if not summary:
        raise field_error(field, message or _l("Describe what changed in this version."))
    if len(summary) > limit:
        raise field_error(field, _l("Keep it under %(max)d characters.", max=limit))
    if "\x00" in summary:
        raise field_error(field, _l("The text contains characters that are not allowed."))
    return summary


def check_size(markdown_text) -> str:
    """The submitted text unchanged; field error when empty, over :data:`MAX_DOCUMENT_BYTES` or with NULs."""
    if not isinstance(markdown_text, str) or not markdown_text.strip():
        raise field_error("markdown", _l("The procedure text is empty."))
    if len(markdown_text.encode("utf-8")) > MAX_DOCUMENT_BYTES:
        raise field_error("markdown", _l("The procedure text is larger than %(kb)d KB.",
                                         kb=MAX_DOCUMENT_BYTES // 1024))
    if "\x00" in markdown_text:
        raise field_error("markdown", _l("The text contains characters that are not allowed."))
    return markdown_text


def check_base(base) -> str:
    """The editor's base revision as a lower-case 40-hex sha; field error otherwise."""
    if not isinstance(base, str) or not _SHA_RE.match(base.strip().lower()):
        raise field_error("base", _l("The editor's base revision is missing or invalid. Reload the editor."))
    return base.strip().lower()


def base_blob(store, path: str, base: str) -> str | None:
    """The blob of ``path`` in the editor's base revision (None: the file was not there)."""
    try:
        store.resolve(base)
    except (repo_store.NotFound, repo_store.InvalidArgument):
        raise field_error("base", _l("The editor's base revision is not in the store. Reload the editor.")) \
            from None
    try:
        return store.blob_sha(path, base)
    except repo_store.NotFound:
        return None


def base_file(store, code: str, base: str) -> repo_store.FileVersion:
    """The file of ``code`` at ``base`` (checked as :func:`base_blob`); field error when it was not there."""
    base_blob(store, document.path_for(code), base)  # the revision itself must be in the store
    try:
        return store.read(document.path_for(code), base)
    except repo_store.NotFound:
        raise field_error("base", _l("%(code)s is not in the store at the draft's base revision.",
                                     code=code)) from None


#: A review's change record is Markdown like a procedure, and as bounded.
MAX_RECORD_BYTES = MAX_DOCUMENT_BYTES


def check_record_path(path) -> str:
    """Where a review's change record goes (``reviews/2026/R-2026-014.md``): a safe store path that is
    not a procedure file."""
    try:
        path = repo_store.validate_path(path)
    except (repo_store.InvalidPath, repo_store.InvalidArgument):
        path = None
    if path is None or document.code_from_path(path) is not None:
        raise field_error("record_path", _l("The change record cannot be stored at this path."))
    return path


def check_record(text) -> str:
    """The change record's text: not empty, no NULs, within :data:`MAX_RECORD_BYTES`."""
    if not isinstance(text, str) or not text.strip():
        raise field_error("record", _l("The change record is empty."))
    if "\x00" in text:
        raise field_error("record", _l("The text contains characters that are not allowed."))
    if len(text.encode("utf-8")) > MAX_RECORD_BYTES:
        raise field_error("record", _l("The change record is larger than %(kb)d KB.", kb=MAX_RECORD_BYTES // 1024))
    return text


def check_line(value, field: str, *, limit: int = 500) -> str:
    """One line of text for a commit trailer (a review number, a signature): not empty, bounded."""
    value = " ".join(value.split()) if isinstance(value, str) else ""
    if not value or len(value) > limit or "\x00" in value:
        raise field_error(field, _l("This value cannot be stored in the commit."))
    return value


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
    raise field_error("approved_by", _l("%(login)s cannot approve procedures.", login=login))


def self_approval_allowed() -> bool:
    """Setting ``PUBLISH_ALLOW_SELF_APPROVAL`` (default False): may an author approve their own version?

    A small company with a single document controller turns it on; everyone else keeps the
    four-eyes rule of document control: the approver is someone other than the author."""
    return bool(current_app.config.get("PUBLISH_ALLOW_SELF_APPROVAL", False))


def check_approver(author: User, approver: User | None) -> User:
    """The approver of a change ``author`` publishes: ``approver``, or the author when none is named and
    self-approval is allowed; a field error (``approved_by``) when it would be the author and it is not."""
    approver = approver or author
    if approver.id == author.id and not self_approval_allowed():
        raise field_error("approved_by", _l("Choose who approves this version: someone other than its author."))
    return approver


# ---------------------------------------------------------------------------
# the stored file
# ---------------------------------------------------------------------------


def head_file(store, code: str, head: str | None) -> repo_store.FileVersion | None:
    """The file of ``code`` at revision ``head`` (None when there is no head or no such file)."""
    if head is None:
        return None
    try:
        return store.read(document.path_for(code), head)
    except repo_store.NotFound:
        return None


#: Parsed stored files by blob sha (content-addressed, never stale); a ValidationError is kept too.
_parsed = LockedLRU(256)


def parse_stored(file: repo_store.FileVersion) -> document.ProcedureDoc:
    """``document.parse`` of a stored file, memoised by blob sha."""
    found = _parsed.get(file.blob)
    if found is None:
        try:
            found = document.parse(file.data)
        except ValidationError as exc:
            found = exc
        _parsed.put(file.blob, found)
    if isinstance(found, ValidationError):
        raise found
    return found


def head_version(file: repo_store.FileVersion, store) -> str:
    """The version in a stored file; a file pushed with plain git may be broken, then its trailers count."""
    try:
        return parse_stored(file).version
    except ValidationError:
        pass

    # First parent: after a merged review the merge commit (with the trailers) is the one that changed it.
    history = store.history(file.path, rev=file.commit, limit=1, first_parent=True)
    version = trailers.parse_commit(history[0], store=store, path=file.path).version if history else None
    if not version or not document.VERSION_RE.match(version):
        # No trailers either (a plain git push): the newest valid version before it counts, so
        # a fixed version can still be published on top of a broken one; failing that (a new
        # file that was never valid), the version line the broken file itself carries.
        version = _last_valid_version(store, file) or _version_line(file.data)
    if not version or not document.VERSION_RE.match(version):
        raise ValidationError(_INVALID_IN_STORE)
    return version


def _version_line(data: bytes) -> str | None:
    """``A/1`` from a ``version: A/1`` line near the top of a file that does not parse."""
    match = re.search(r"^version[ \t]*:[ \t]*['\"]?([A-Z]/\d{1,3})['\"]?[ \t]*$",
                      data[:4096].decode("utf-8", "replace"), re.MULTILINE)
    return match.group(1) if match else None


def _last_valid_version(store, file: repo_store.FileVersion, limit: int = 20) -> str | None:
    """The version of the newest earlier file of ``file.path`` that parses (None when there is none)."""
    for commit in store.history(file.path, rev=file.commit, limit=limit, first_parent=True)[1:]:
        try:
            return parse_stored(store.read(file.path, commit.sha)).version
        except (ValidationError, repo_store.NotFound):
            continue
    return None


# ---------------------------------------------------------------------------
# the proposed version
# ---------------------------------------------------------------------------


def _with_version(markdown_text: str, version: str) -> str:
    """Put ``version: <version>`` into the front matter (the service owns the version number)."""
    return with_front_value(markdown_text, "version", version)


def with_front_value(markdown_text: str, key: str, value: str) -> str:
    """Put ``<key>: <value>`` into the front matter (replacing that line, or added at its end)."""
    line_re = re.compile(rf"^{re.escape(key)}[ \t]*:.*$", re.MULTILINE)
    text = markdown_text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if text.lstrip().startswith("---"):
        text = text.lstrip(" \t\n")  # blank lines before the front matter are not an error
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        return text  # parse() reports the missing front matter
    for index in range(1, len(lines)):
        if lines[index].rstrip() in ("---", "..."):
            front = "\n".join(lines[1:index])
            if line_re.search(front):
                front = line_re.sub(lambda _m: f"{key}: {value}", front, count=1)
            else:
                front = (front + "\n" if front else "") + f"{key}: {value}"
            return "\n".join(["---", front, *lines[index:]])
    return text


def _serialized(doc: document.ProcedureDoc) -> str:
    """The file to store; refused when it would be larger than what the editor may send."""
    text = document.serialize(doc)
    if len(text.encode("utf-8")) > MAX_DOCUMENT_BYTES:
        raise field_error("markdown", _l("The procedure file would be larger than %(kb)d KB once stored.",
                                         kb=MAX_DOCUMENT_BYTES // 1024))
    return text


def _body_line(markdown_text: str, body: str) -> int:
    """The line of the author's text on which the body starts (after the front matter)."""
    text = markdown_text.replace("\r\n", "\n").replace("\r", "\n")
    return text[: len(text) - len(body)].count("\n") + 1 if body and text.endswith(body) else 1


#: An unknown department's message lists the codes there are, at most this many.
MAX_CODES_LISTED = 60


def _unknown_departments(codes) -> list:
    """One message per unknown department code, each saying which codes exist."""
    known = list(db.session.execute(select(Department.code).order_by(Department.code)).scalars())
    listed = ", ".join(known[:MAX_CODES_LISTED]) + (" …" if len(known) > MAX_CODES_LISTED else "")
    return [_l("There is no department with code %(code)s. The department codes are: %(codes)s.", code=code,
               codes=listed or "—") for code in codes]


def _references(departments, owner) -> dict[str, list]:
    """Messages for the department codes and the owner login that the database does not know."""
    errors: dict[str, list] = {}
    known = set(db.session.execute(select(Department.code).where(Department.code.in_(departments))).scalars()) \
        if departments else set()
    unknown = [dept for dept in departments if dept not in known]
    if unknown:
        errors["departments"] = _unknown_departments(unknown)
    if owner is not None and db.session.execute(select(User.id).where(User.login == owner)).first() is None:
        errors["owner"] = [_l("There is no user with login %(login)s.", login=owner)]
    return errors


def _unknown_references(text: str) -> dict[str, list]:
    """:func:`_references` of a file that does not parse, for the values that are well formed."""
    try:
        data, _body = document.read_front_matter(text)
    except ValidationError:
        return {}
    departments = data.get("departments")
    departments = [d for d in departments if isinstance(d, str) and document.DEPARTMENT_RE.match(d)][
        :document.MAX_DEPARTMENTS] if isinstance(departments, list) else []
    owner = data.get("owner")
    owner = owner.strip() if isinstance(owner, str) and owner.strip() and len(owner) <= 64 \
        and not any(ch.isspace() for ch in owner.strip()) else None
    return _references(departments, owner)


def _validate(code: str | None, markdown_text: str, version: str, *,
              first_line: int | None = None) -> document.ProcedureDoc:
    """Parse with the service's version and check what only the database knows.

    ``first_line``: the line of the user's text the body starts on (None: counted in
    ``markdown_text``; 1 when the user edited the body alone, in the editor's form mode)."""
    text = _with_version(check_size(markdown_text), version)
    try:
        doc = document.parse(text, expected_code=code, date_bounds=dates.date_bounds())
    except ValidationError as exc:
        # Name the unknown departments and owner too, so that one refusal lists every problem.
        found = {key: messages for key, messages in _unknown_references(text).items() if key not in exc.errors}
        if found:
            raise ValidationError(exc.message, errors={**exc.errors, **found}) from None
        raise
    errors: dict[str, list] = {}
    try:  # refused now, not on every view after publishing; lines counted as in the editor
        rendering.check_renderable(doc.body, first_line=first_line or _body_line(markdown_text, doc.body))
    except ValidationError as exc:
        errors.update(exc.errors)
    for key, messages in _references(doc.departments, doc.owner).items():
        errors.setdefault(key, []).extend(messages)
    if doc.status != document.STATUS_EFFECTIVE:
        errors.setdefault("status", []).append(
            _l("A published version has status 'effective'; use Withdraw to withdraw a procedure."))
    if errors:
        raise ValidationError(_l("The procedure file has errors; please correct the fields listed."),
                              errors=errors)
    return doc


#: ``effective=AS_WRITTEN``: the date the document itself carries is the chosen one (the editor, whose
#: form field or ``effective:`` line is where the user chose it).
AS_WRITTEN = "as written"


class NoChange(ValidationError):
    """A new version that would change nothing in the document (422): refused, so nobody has to confirm
    the same text again."""

    status_code = 422


def with_effective(markdown_text: str, effective) -> str:
    """``markdown_text`` with the chosen effective date: ``None`` today (company time zone), a date that
    date, :data:`AS_WRITTEN` the document's own; a field error for anything else."""
    if effective == AS_WRITTEN:
        return markdown_text
    _check_written_effective(markdown_text)
    if effective is None:
        effective = dates.local_today()
    if not isinstance(effective, date) or isinstance(effective, datetime):
        raise field_error("effective", _l("Enter the date the new version takes effect."))
    return with_front_value(markdown_text, "effective", effective.isoformat())


def _check_written_effective(markdown_text: str) -> None:
    """An ``effective:`` line the chosen date replaces must still be a date: a malformed document is refused,
    not repaired behind the author's back."""
    try:
        data, _body = document.read_front_matter(markdown_text)
    except ValidationError:
        return  # parse() reports it
    if data.get("effective") is not None:
        problems = document.effective_problems(data["effective"], dates.date_bounds())
        if problems:
            raise ValidationError(_l("The procedure file has errors; please correct the fields listed."),
                                  errors={"effective": problems})


def _normalised_body(body: str) -> str:
    """The body as the document reads: line ends, trailing spaces and blank lines at either end do not count."""
    return "\n".join(line.rstrip() for line in body.replace("\r\n", "\n").strip("\n").split("\n")).strip("\n")


def unchanged(before: document.ProcedureDoc, after: document.ProcedureDoc) -> bool:
    """Whether ``after`` says the same as ``before``: every front-matter field except the version and the
    effective date (set by publishing), and the body (normalised)."""
    fields = ("code", "title", "departments", "review_months", "status", "owner", "extra")
    return all(getattr(before, f) == getattr(after, f) for f in fields) \
        and _normalised_body(before.body) == _normalised_body(after.body)


def new_version(code: str, file: repo_store.FileVersion, markdown_text: str, *, new_edition: bool,
                store, effective=None, refuse_unchanged: bool = True,
                first_line: int | None = None) -> tuple[document.ProcedureDoc, str]:
    """``(doc, text)`` of ``markdown_text`` as the version after the stored ``file``.

    The version is the next revision of the stored one (the next edition when
    ``new_edition``). ``effective`` is the chosen date (see :func:`with_effective`): today or
    later (later makes the version upcoming), never before the version it replaces. A version
    that changes nothing in the document (:func:`unchanged`) is :class:`NoChange`, unless
    ``refuse_unchanged`` is False.
    """
    current = head_version(file, store)
    version = document.next_edition(current) if new_edition else document.next_revision(current)
    doc = _validate(code, with_effective(markdown_text, effective), version, first_line=first_line)
    try:
        previous_doc = parse_stored(file)
    except ValidationError:
        previous_doc = None
    today = dates.local_today()
    if doc.effective < today:
        raise ValidationError(
            _l("The procedure file has errors; please correct the fields listed."),
            errors={"effective": [_l("A new version cannot take effect before today (%(date)s).",
                                     date=today.isoformat())]})
    # A previous date outside the sane range (stored before the range was checked) cannot
    # hold a fixed version back.
    if previous_doc is not None and previous_doc.status == document.STATUS_EFFECTIVE \
            and doc.effective < previous_doc.effective and dates.in_range(previous_doc.effective):
        raise ValidationError(
            _l("The procedure file has errors; please correct the fields listed."),
            errors={"effective": [_l("A new version cannot take effect before the version it replaces "
                                     "(%(date)s).", date=previous_doc.effective.isoformat())]})
    if refuse_unchanged and previous_doc is not None and dates.in_range(previous_doc.effective) \
            and unchanged(previous_doc, doc):
        message = _l("Nothing changed compared with the current version %(version)s: a new version would only "
                     "make everyone confirm the same text again.", version=previous_doc.version)
        raise NoChange(message, errors={"markdown": [message]})
    return doc, _serialized(doc)


def revision(code: str, file: repo_store.FileVersion, markdown_text: str, effective, *,
             store) -> tuple[document.ProcedureDoc, str]:
    """:func:`new_version` (next revision) of ``markdown_text`` with its effective date set to ``effective``
    (a review's release: a draft the same as the current text is the review's business, not refused here)."""
    return new_version(code, file, markdown_text, new_edition=False, store=store, effective=effective,
                       refuse_unchanged=False)


def check_effective(effective) -> date:
    """A release's effective date: a date, today or later (later makes the version upcoming)."""
    if not isinstance(effective, date) or isinstance(effective, datetime):
        raise field_error("effective", _l("Enter the date the new versions take effect."))
    today = dates.local_today()
    if effective < today:
        raise field_error("effective", _l("The new versions cannot take effect before today (%(date)s).",
                                          date=today.isoformat()))
    if not dates.in_range(effective):
        raise field_error("effective", dates.out_of_range_message(dates.date_bounds()))
    return effective


def first_version(code: str | None, markdown_text: str, *, effective=None,
                  first_line: int | None = None) -> tuple[document.ProcedureDoc, str]:
    """``(doc, text)`` of a new procedure's first version, A/0 (``code`` None: from the front matter).

    ``effective`` as for :func:`new_version`; a first version may take effect on an earlier day
    (within the sane range): the procedure may have applied on paper before it came here."""
    doc = _validate(code or None, with_effective(markdown_text, effective), "A/0", first_line=first_line)
    return doc, _serialized(doc)


def withdrawal(code: str, file: repo_store.FileVersion) -> tuple[document.ProcedureDoc, str]:
    """``(doc, text)`` of the stored ``file`` withdrawn: next revision, ``status: withdrawn``, effective today."""
    try:
        current = parse_stored(file)
    except ValidationError as exc:
        raise ValidationError(_INVALID_IN_STORE, errors=exc.errors) from None
    if current.status == document.STATUS_WITHDRAWN:
        raise InvalidTransition(_l("%(code)s is already withdrawn.", code=code))
    doc = replace(current, status=document.STATUS_WITHDRAWN, version=document.next_revision(current.version),
                  effective=dates.local_today())
    return doc, _serialized(doc)


def _branch_tip(store, branch) -> str:
    """The head of review branch ``branch`` (never ``main``); NotFound when there is none."""
    try:
        tip = store.head(repo_store.validate_branch(branch)) if branch != store.default_branch else None
    except repo_store.InvalidArgument:  # not a branch name at all
        tip = None
    if tip is None:
        raise NotFound(_l("There is no draft %(branch)s in the store.", branch=branch))
    return tip


def drafts_on_branch(store, branch: str, base: str, covered, revised) -> tuple[str, dict[str, repo_store.FileVersion]]:
    """``(tip, {code: file})``: the head of ``branch`` and the drafts of the ``revised`` codes there.

    Compared with ``base`` the branch may change only the files of the ``covered`` codes, none
    deleted; or, when ``base`` is a newer revision of ``main`` than the one the branch started
    from (the caller resolved a conflict against it), since the two forked. NotFound /
    ValidationError otherwise.
    """
    tip = _branch_tip(store, branch)
    allowed = {document.path_for(code) for code in covered}

    def only_covered(start: str) -> bool:
        return all(p in allowed and status != "D" for status, p in store.diff_paths(start, tip))

    if not only_covered(base):
        fork = store.merge_base(base, tip)
        if fork in (None, base) or not only_covered(fork):
            raise field_error("branch", _l("The draft on %(branch)s may change only the procedures under "
                                           "review.", branch=branch))
    drafts = {}
    for code in revised:
        try:
            drafts[code] = store.read(document.path_for(code), tip)
        except repo_store.NotFound:
            raise field_error("branch", _l("The draft on %(branch)s has no file of %(code)s.", branch=branch,
                                           code=code)) from None
    return tip, drafts


def draft_on_branch(store, code: str, branch: str, base: str) -> tuple[str, repo_store.FileVersion]:
    """``(tip, file)``: the head of ``branch`` and the procedure's file there, checked for publishing.

    The branch must exist and, compared with ``base`` (the revision of ``main`` it was
    started from), change nothing but this procedure's file: merging it then changes
    exactly that file on ``main``. NotFound / ValidationError otherwise.
    """
    path = document.path_for(code)
    tip = _branch_tip(store, branch)
    changed = {(status, p) for status, p in store.diff_paths(base, tip)}
    if any(p != path or status == "D" for status, p in changed):
        raise field_error("markdown", _l("The draft on %(branch)s may change only the file of %(code)s.",
                                         branch=branch, code=code))
    return tip, store.read(path, tip)


# ---------------------------------------------------------------------------
# the editor's helpers: live check, preview, upload
# ---------------------------------------------------------------------------


def check(markdown_text: str, code: str | None = None) -> dict[str, list[str]]:
    """Field errors of a draft (for the live preview); empty when it would publish."""
    try:
        version = "A/0"
        if code:
            store = get_store()
            file = head_file(store, code, store.head())
            version = head_version(file, store) if file is not None else version
        _validate(code, markdown_text, version)
    except ValidationError as exc:
        return {k: [str(m) for m in v] for k, v in (exc.errors or {"markdown": [exc.message]}).items()}
    return {}


def preview(markdown_text: str) -> Markup:
    """Sanitised HTML of a draft's body (front matter left out when present)."""
    text = check_size(markdown_text) if (markdown_text or "").strip() else ""
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
        raise field_error("file", _l("Upload a Markdown file (.md)."))
    if len(data) > MAX_DOCUMENT_BYTES:
        raise field_error("file", _l("The file is larger than %(kb)d KB.", kb=MAX_DOCUMENT_BYTES // 1024))
    if not data.strip():
        raise field_error("file", _l("The file is empty."))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise field_error("file", _l("The file is not UTF-8 text. Save it as UTF-8 and upload it again.")) from None
    if "\x00" in text:
        raise field_error("file", _l("The file is not UTF-8 text. Save it as UTF-8 and upload it again."))
    return text.replace("\r\n", "\n").replace("\r", "\n")
