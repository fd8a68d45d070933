"""The catalogue: a database mirror of the procedures on ``main``, and the read services on it.

Git is the source of truth. :func:`sync` copies every commit of ``main`` that changed
a procedure file into ``procedure_versions`` (one row per commit and file) and keeps
``procedures`` describing each file's newest version; ``store_state`` remembers up to
which head that was done. Everything here can be rebuilt from git (``flask procedures
sync --rebuild``).

Which version is *current* is a matter of the date, not of a stored flag: the newest
version (in commit order) whose effective date has come (Asia/Shanghai) is in force; a
newer one with a later date is *upcoming* and takes over on its date without anyone
acting.

Reading is the hot path. :func:`sync` costs one ref-file read when nothing changed (the
head it last saw is remembered per process, which is safe: the mirror of a given head
never changes), and the views built from the mirror are cached per process keyed by
(synced head, today, …) — immutable values, so a cache can never serve stale data.
"""
from __future__ import annotations

import logging
import random
import re
import time
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from flask import current_app, has_app_context
from flask_babel import force_locale
from sqlalchemy import delete, event, func, select, update
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from audit import service as audit_service
from procedures import redline, redline_blocks
from procedures.document import (
    MAX_FILE_BYTES,
    STATUS_WITHDRAWN,
    ProcedureDoc,
    code_from_path,
    next_review_date,
    parse,
    path_for,
)
from procedures.models import Procedure, ProcedureVersion, StoreProblem, StoreState
from procedures.rendering import Rendered, render_cached
from procedures.trailers import parse_commit, person_name
from repo_store import NotFound as StoreNotFound
from repo_store import StoreError
from support.caching import LockedLRU
from webapp import dates
from webapp.db import utcnow
from webapp.exceptions import Conflict, DomainError, NotFound, ValidationError
from webapp.extensions import app_state, db
from webapp.i18n import _l
from webapp.store import get_store

log = logging.getLogger(__name__)

__all__ = [
    "BRANCH", "VersionView", "Comparison", "sync", "ensure_synced", "synced_head",
    "get_current", "list_versions", "get_version", "current_versions", "all_versions", "list_procedures", "compare",
    "parse_ref", "REVIEW_SOON_DAYS", "DocumentUnreadable", "render_view", "problems", "open_problems_count",
    "clear_caches", "mark_reviewed", "review_anchor",
]

BRANCH = "main"
HEAD_KEY = "main.head"
LENGTH_KEY = "main.length"

STATE_CURRENT = "current"
STATE_UPCOMING = "upcoming"
STATE_SUPERSEDED = "superseded"

#: A review falling due within this many days is flagged "due soon".
REVIEW_SOON_DAYS = 30

_SHA_REF_RE = re.compile(r"^[0-9a-f]{7,40}$")
_SLUG_RE = re.compile(r"^([A-Z])[-/](\d{1,3})$")



#: blob sha -> (front matter text, body); shared by every app (content addressed).
_bodies = LockedLRU(6000, max_cost=64_000_000)
#: (old blob, new blob) -> Comparison parts.
_comparisons = LockedLRU(128)
#: blob sha -> when rendering it failed (monotonic): a bomb is not re-run on every view.
_unrenderable = LockedLRU(512)
#: How long a failed rendering is remembered before it is tried again.
UNRENDERABLE_RETRY_SECONDS = 600
#: How long a failing catalogue sync waits before the next request tries again.
SYNC_RETRY_SECONDS = 30
#: What rendering one stored document can fail with; caught per document, never for a whole page.
RENDER_FAILURES = (RecursionError, MemoryError, ValueError, OverflowError, TimeoutError)

PROBLEM_INVALID = "invalid"
PROBLEM_UNREADABLE = "unreadable"


class DocumentUnreadable(DomainError):
    """A version is in the store but cannot be shown (e.g. its text is nested too deeply to render).

    Only that version's page shows it; lists, search and other procedures keep working.
    """

    status_code = 503


@dataclass
class _AppState:
    """Per-app, per-process memory: the head the mirror is known to reflect, and views of it."""

    synced_head: str | None = None
    #: The rebuild stamp the views were built under (see :func:`_check_rebuilt`).
    rebuilt: str | None = None
    #: (head, monotonic time) of the last sync that failed: retried after SYNC_RETRY_SECONDS.
    failed_sync: tuple[str, float] | None = None
    views: LockedLRU = field(default_factory=lambda: LockedLRU(2048))
    #: Rendered page parts and search indexes, at most ~16 M characters per worker.
    fragments: LockedLRU = field(default_factory=lambda: LockedLRU(1024, max_cost=16_000_000))


_STATE_KEY = "procedures.catalog"


def _app_state() -> _AppState:
    return app_state(_STATE_KEY, _AppState)


def clear_caches(app=None) -> None:
    """Forget what this process remembers of stored documents (bodies, comparisons, failed
    renderings, shared by every app) and, given ``app``, that app's synced head and views:
    what a worker started just now knows. For tests and tools; running code never needs it.
    """
    for cache in (_bodies, _comparisons, _unrenderable):
        cache.clear()
    if app is not None:
        app.extensions.pop(_STATE_KEY, None)


def fragment_cache() -> LockedLRU:
    """A per-app LRU for rendered page parts; callers key it by immutable values only."""
    return _app_state().fragments


# --------------------------------------------------------------------------
# Views
# --------------------------------------------------------------------------

def _split(text: str) -> tuple[str, str]:
    """(front matter, body) of a procedure file, without parsing the YAML."""
    if text.startswith("\ufeff"):
        text = text[1:]
    text = text.replace("\r\n", "\n")
    if text.startswith("---\n"):
        end = text.find("\n---", 3)
        while end != -1:
            line_end = text.find("\n", end + 1)
            line = text[end + 1: line_end if line_end != -1 else len(text)].rstrip()
            if line in ("---", "..."):
                return text[4:end + 1], (text[line_end + 1:] if line_end != -1 else "")
            end = text.find("\n---", end + 1)
    return "", text


def _file_parts(code: str, commit: str, blob: str) -> tuple[str, str, str]:
    """(whole file, front matter, body) of a version; cached by blob sha."""
    parts = _bodies.get(blob)
    if parts is None:
        store = get_store()
        path = path_for(code)
        # Usually the version wanted is the one at the head, whose tree is already cached;
        # reading it "at its own commit" would parse that commit's root tree first.
        head = store.head(BRANCH)
        found = None
        if head is not None:
            try:
                found = store.read(path, head)
            except StoreNotFound:
                found = None
        if found is None or found.blob != blob:
            found = store.read(path, commit)
        parts = _parts(found.data)
        _bodies.put(blob, parts, len(parts[0]) * 2)
    return parts


def _parts(data: bytes) -> tuple[str, str, str]:
    text = data.decode("utf-8", "replace")
    return (text, *_split(text))


def preload(views) -> None:
    """Load the texts of many versions at once (:meth:`repo_store.GitStore.read_blobs`), e.g. before a search."""
    missing = {v.blob: v for v in views if _bodies.get(v.blob) is None}
    if len(missing) < 8:
        return  # one by one is as quick
    for blob, data in _read_blobs(get_store(), missing).items():
        parts = _parts(data)
        _bodies.put(blob, parts, len(parts[0]) * 2)


@dataclass(frozen=True)
class VersionView:
    """One version of a procedure as readers see it on a given day (immutable, cacheable)."""

    code: str
    title: str
    version: str
    effective: date
    status: str
    departments: tuple[str, ...]
    review_months: int
    owner: str | None
    commit: str
    blob: str
    seq: int
    author: str
    author_email: str
    committed_at: datetime
    approved_by: str | None
    summary: str
    review_id: int | None
    withdrawn_reason: str | None
    #: The procedure's next review: (its last review, else its first effective date) + ``review_months``.
    next_review: date
    #: "current", "upcoming" (effective date still to come) or "superseded".
    state: str
    #: The version that takes over later (only on the current version).
    upcoming: VersionView | None = None
    #: The version in force now, when this one is superseded.
    superseded_by: str | None = None
    previous_version: str | None = None
    previous_commit: str | None = None
    previous_ref: str | None = None
    #: How this version is named in URLs: "A-1", or a commit sha when a later commit reused the label.
    ref: str = ""
    removed: bool = False
    versions_count: int = 1
    #: ``Signature:`` trailers of the review that released this version (formatted by the workflow).
    signatures: tuple[str, ...] = ()
    #: When the procedure's last review closed (None: never reviewed in ProcDesk).
    last_reviewed: date | None = None

    @property
    def path(self) -> str:
        return path_for(self.code)

    @property
    def slug(self) -> str:
        return self.version.replace("/", "-")

    @property
    def is_withdrawn(self) -> bool:
        return self.status == STATUS_WITHDRAWN or self.removed

    @property
    def is_current(self) -> bool:
        return self.state == STATE_CURRENT

    @property
    def is_upcoming(self) -> bool:
        return self.state == STATE_UPCOMING

    @property
    def is_superseded(self) -> bool:
        return self.state == STATE_SUPERSEDED

    @property
    def approver_name(self) -> str:
        return person_name(self.approved_by)

    def review_state(self, today: date) -> str:
        """``"overdue"``, ``"soon"`` (within :data:`REVIEW_SOON_DAYS`) or ``"ok"``."""
        if self.next_review < today:
            return "overdue"
        if self.next_review <= today + timedelta(days=REVIEW_SOON_DAYS):
            return "soon"
        return "ok"

    def source(self) -> str:
        """The file as stored in git (front matter and body)."""
        return _file_parts(self.code, self.commit, self.blob)[0]

    def markdown(self) -> str:
        """The Markdown body (front matter removed)."""
        return _file_parts(self.code, self.commit, self.blob)[2]

    def rendered(self) -> Rendered:
        """Sanitised HTML and table of contents, rendered once per blob.

        Raises :class:`DocumentUnreadable` when this version cannot be rendered."""
        return render_view(self)

    def doc(self) -> ProcedureDoc:
        return parse(self.source(), expected_code=self.code)


def render_view(view: VersionView) -> Rendered:
    """The rendering of ``view``, or :class:`DocumentUnreadable` when its text cannot be rendered.

    The failure is caught here, at the boundary of one document: logged, recorded for
    document controllers (:class:`StoreProblem`), and remembered for a while so the same
    bomb is not re-run on every view. Nothing is cached for the page that asked.
    """
    failed_at = _unrenderable.get(view.blob)
    if failed_at is not None and time.monotonic() - failed_at < UNRENDERABLE_RETRY_SECONDS:
        raise _unreadable(view)
    try:
        return render_cached(view.blob, view.markdown())
    except RENDER_FAILURES as exc:
        log.warning("procedure %s %s (commit %s, blob %s) cannot be rendered: %s: %s", view.code, view.version,
                    view.commit[:12], view.blob[:12], type(exc).__name__, str(exc)[:200])
        _unrenderable.put(view.blob, time.monotonic())
        # A render limit says what is wrong (rendering.Unrenderable.message); other failures get the general reason.
        _note_unreadable(view, getattr(exc, "message", None) or _UNREADABLE_MESSAGE)
        raise _unreadable(view) from None


def _unreadable(view: VersionView) -> DocumentUnreadable:
    return DocumentUnreadable(
        _l("Version %(version)s of %(code)s cannot be displayed: its text is too deeply nested or too complex "
           "to render. Document controllers have been told; the version history is still available.",
           version=view.version, code=view.code),
        code=view.code, version=view.version, revision=view.commit, problem="unreadable")


_UNREADABLE_MESSAGE = _l("The text cannot be displayed: it is too deeply nested or too complex to render.")


def _note_unreadable(view: VersionView, reason) -> None:
    """Record the version as a store problem, in a transaction of its own (best effort)."""
    try:
        with Session(db.engine) as session:
            found = session.scalar(select(StoreProblem.id).where(StoreProblem.path == view.path,
                                                                 StoreProblem.commit == view.commit))
            if found is None:
                session.add(StoreProblem(
                    path=view.path, code=view.code, commit=view.commit, blob=view.blob, kind=PROBLEM_UNREADABLE,
                    errors=_stored_errors({"body": [reason]}), author_name=_clip(view.author, 200),
                    author_email=_clip(view.author_email, 200), committed_at=view.committed_at, found_at=utcnow()))
                session.commit()
    except SQLAlchemyError as exc:  # a second worker recorded it first, or the database is busy
        log.info("could not record %s %s as unreadable: %s", view.code, view.version, exc)


def _stored_errors(errors: dict) -> dict[str, list[str]]:
    """Field messages as text in the default language (they are kept in the database)."""
    with force_locale(current_app.config.get("DEFAULT_LOCALE") or "zh_Hans"):
        return {str(key): [str(m) for m in messages] for key, messages in errors.items()}


def _clip(value, limit: int) -> str:
    """Commit metadata (author, trailers) written with plain git can be anything: fit it to its column."""
    text = "".join(ch for ch in str(value or "") if ch != "\x00" and not "\ud800" <= ch <= "\udfff")
    return text if len(text) <= limit else text[: limit - 1] + "…"


_COLUMNS = (
    ProcedureVersion.code, ProcedureVersion.title, ProcedureVersion.version, ProcedureVersion.effective,
    ProcedureVersion.status, ProcedureVersion.departments, ProcedureVersion.review_months,
    ProcedureVersion.owner, ProcedureVersion.commit, ProcedureVersion.blob, ProcedureVersion.seq,
    ProcedureVersion.author_name, ProcedureVersion.author_email, ProcedureVersion.committed_at,
    ProcedureVersion.approved_by, ProcedureVersion.summary, ProcedureVersion.review_id,
    ProcedureVersion.withdrawn_reason, ProcedureVersion.signatures, Procedure.removed, Procedure.last_reviewed,
    Procedure.first_effective,
)


def _rows_stmt():
    return select(*_COLUMNS).join(Procedure, Procedure.id == ProcedureVersion.procedure_id)


def review_anchor(last_reviewed: date | None, first_effective: date | None, newest_effective: date | None) -> date:
    """The day a procedure's review clock runs from: its last review, or the effective date of its newest
    version (a published version was approved, so it counts as reviewed on the day it takes effect), or
    its first effective date; the latest of those."""
    return max(d for d in (last_reviewed, first_effective, newest_effective) if d is not None)


def _build(rows, today: date) -> list[VersionView]:
    """Views of one procedure's versions (rows in commit order), as they stand on ``today``."""
    rows = sorted(rows, key=lambda r: r.seq)
    current_idx = None
    for i, r in enumerate(rows):
        if r.effective <= today:
            current_idx = i
    last_label = {r.version: i for i, r in enumerate(rows)}
    removed = bool(rows and rows[-1].removed)
    last_reviewed = rows[-1].last_reviewed if rows else None
    anchor = review_anchor(last_reviewed, rows[-1].first_effective or rows[0].effective, rows[-1].effective) \
        if rows else None
    refs = [r.version.replace("/", "-") if last_label[r.version] == i else r.commit[:12] for i, r in enumerate(rows)]
    base = []
    for i, r in enumerate(rows):
        if current_idx is None or i > current_idx:
            state = STATE_UPCOMING
        elif i == current_idx:
            state = STATE_CURRENT
        else:
            state = STATE_SUPERSEDED
        prev = rows[i - 1] if i else None
        base.append(VersionView(
            code=r.code, title=r.title, version=r.version, effective=r.effective, status=r.status,
            departments=tuple(r.departments or ()), review_months=r.review_months, owner=r.owner,
            commit=r.commit, blob=r.blob, seq=r.seq, author=r.author_name, author_email=r.author_email,
            committed_at=r.committed_at, approved_by=r.approved_by, summary=r.summary or "",
            review_id=r.review_id, withdrawn_reason=r.withdrawn_reason,
            next_review=next_review_date(anchor, r.review_months), state=state,
            superseded_by=rows[current_idx].version if state == STATE_SUPERSEDED else None,
            previous_version=prev.version if prev else None, previous_commit=prev.commit if prev else None,
            previous_ref=refs[i - 1] if prev else None, ref=refs[i],
            removed=removed, versions_count=len(rows), signatures=tuple(r.signatures or ()),
            last_reviewed=last_reviewed,
        ))
    if current_idx is not None:
        later = [v for v in base[current_idx + 1:]]
        if later:
            # The one that will be in force next: earliest date; on a tie the newest commit.
            nxt = min(later, key=lambda v: (v.effective, -v.seq))
            base[current_idx] = replace(base[current_idx], upcoming=nxt)
    return base


def _head_for_cache() -> str | None:
    """The head the session's view of the mirror reflects (synced first if the store moved).

    Cached views are keyed by it: the mirror of a given head is always the same, so a
    view built from it can never go stale.
    """
    return ensure_synced()


def _build_safely(code: str, rows, today: date) -> list[VersionView] | None:
    """:func:`_build`, or None (logged) when one procedure's rows cannot be turned into views."""
    try:
        return _build(rows, today)
    except (ValueError, OverflowError, TypeError) as exc:
        log.error("procedure %s cannot be listed: %s: %s", code, type(exc).__name__, exc)
        return None


def _versions_of(code: str, today: date) -> list[VersionView]:
    if not isinstance(code, str) or not code:
        raise NotFound(_l("There is no procedure %(code)s.", code=str(code)))
    state = _app_state()
    key = ("versions", _head_for_cache(), code, today)
    views = state.views.get(key)
    if views is None:
        rows = db.session.execute(_rows_stmt().where(ProcedureVersion.code == code)).all()
        if not rows:
            raise NotFound(_l("There is no procedure %(code)s.", code=code))
        built = _build_safely(code, rows, today)
        if built is None:
            raise DocumentUnreadable(_l("Procedure %(code)s cannot be displayed: its versions in the store are not "
                                        "readable. Document controllers have been told.", code=code), code=code,
                                     problem="unreadable")
        views = tuple(built)
        state.views.put(key, views)
    return list(views)


def get_current(code: str, today: date | None = None) -> VersionView:
    """The version of ``code`` in force on ``today`` (default: today in the company's time zone).

    When no version is in force yet (a first version with a future date) the earliest
    upcoming one is returned with ``state == "upcoming"``. Raises :class:`NotFound`.
    """
    today = today or dates.local_today()
    views = _versions_of(code, today)
    for v in views:
        if v.state == STATE_CURRENT:
            return v
    return min(views, key=lambda v: (v.effective, -v.seq))


def list_versions(code: str, today: date | None = None) -> list[VersionView]:
    """Every version of ``code``, newest first. Raises :class:`NotFound`."""
    return list(reversed(_versions_of(code, today or dates.local_today())))


def parse_ref(ref: str) -> tuple[str, str]:
    """``"A-1"`` / ``"A/1"`` -> ``("version", "A/1")``; a 7–40 digit hex -> ``("commit", sha)``."""
    ref = (ref or "").strip()
    m = _SLUG_RE.match(ref)
    if m:
        return "version", f"{m.group(1)}/{int(m.group(2))}"
    if _SHA_REF_RE.match(ref.lower()):
        return "commit", ref.lower()
    raise NotFound(_l("There is no version %(version)s.", version=ref))


def get_version(code: str, version: str, today: date | None = None) -> VersionView:
    """One version by label (``A/1`` or ``A-1``: the newest commit with that label) or commit sha."""
    kind, value = parse_ref(version)
    views = _versions_of(code, today or dates.local_today())
    if kind == "version":
        found = [v for v in views if v.version == value]
    else:
        found = [v for v in views if v.commit.startswith(value)]
    if not found:
        raise NotFound(_l("Procedure %(code)s has no version %(version)s.", code=code, version=version))
    return found[-1]


def all_versions(today: date | None = None) -> dict[str, tuple[VersionView, ...]]:
    """``{code: (versions in commit order)}`` for every procedure (one query, cached per head and day)."""
    today = today or dates.local_today()
    state = _app_state()
    key = ("all", _head_for_cache(), today)
    result = state.views.get(key)
    if result is None:
        by_code: dict[str, list] = {}
        for row in db.session.execute(_rows_stmt()):
            by_code.setdefault(row.code, []).append(row)
        result = {}
        for code in sorted(by_code):
            built = _build_safely(code, by_code[code], today)
            if built is not None:  # one broken procedure is left out, the list still shows
                result[code] = tuple(built)
        state.views.put(key, result)
    return result


def current_versions(today: date | None = None) -> dict[str, VersionView]:
    """``{code: version in force}`` for every procedure, in code order (one query, cached per head)."""
    today = today or dates.local_today()
    state = _app_state()
    key = ("current", _head_for_cache(), today)
    result = state.views.get(key)
    if result is None:
        result = {}
        for code, views in all_versions(today).items():
            current = [v for v in views if v.state == STATE_CURRENT]
            result[code] = current[0] if current else min(views, key=lambda v: (v.effective, -v.seq))
        state.views.put(key, result)
    return dict(result)


#: Filters for :func:`list_procedures` ``status``.
LIST_STATUSES = ("effective", "upcoming", "withdrawn", "review_overdue", "review_soon")


def list_procedures(department: str | None = None, status: str | None = None, include_withdrawn: bool = False,
                    today: date | None = None) -> list[VersionView]:
    """The version in force of every procedure, by code, filtered.

    ``status``: ``effective`` (in force), ``upcoming`` (a new version or the first one is
    still to take effect), ``withdrawn``, ``review_overdue``, ``review_soon``. Withdrawn
    procedures are left out unless ``include_withdrawn`` or ``status="withdrawn"``.
    """
    today = today or dates.local_today()
    items = list(current_versions(today).values())
    if department:
        items = [v for v in items if department in v.departments]
    if status == "withdrawn":
        return [v for v in items if v.is_withdrawn]
    if not include_withdrawn:
        items = [v for v in items if not v.is_withdrawn]
    if status == "effective":
        items = [v for v in items if v.is_current and not v.is_withdrawn]
    elif status == "upcoming":
        items = [v for v in items if v.is_upcoming or v.upcoming is not None]
    elif status == "review_overdue":
        items = [v for v in items if not v.is_withdrawn and v.review_state(today) == "overdue"]
    elif status == "review_soon":
        items = [v for v in items if not v.is_withdrawn and v.review_state(today) == "soon"]
    return items


# --------------------------------------------------------------------------
# Compare
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Comparison:
    old: VersionView
    new: VersionView
    redline: object  # Markup: the document redline, one <div class="rl-block"> per block, <ins>/<del> inside
    diff: object  # redline_blocks.DocumentDiff: the same comparison as data (its side_by_side_html() too)
    inserted: int  # characters
    deleted: int

    @property
    def lines(self) -> list:
        """The line-by-line redline of the Markdown source (``redline.DiffLine``), made on demand."""
        return redline.redline(self.old.markdown(), self.new.markdown())


def compare(code: str, from_ref: str | None = None, to_ref: str | None = None,
            today: date | None = None) -> Comparison:
    """Redline of two versions of ``code``: ``to`` defaults to the current version, ``from`` to
    the version before ``to``. Raises :class:`NotFound` for unknown versions and
    :class:`ValidationError` when there is nothing earlier to compare with."""
    today = today or dates.local_today()
    new = get_version(code, to_ref, today) if to_ref else get_current(code, today)
    if from_ref:
        old = get_version(code, from_ref, today)
    elif new.previous_commit:
        old = get_version(code, new.previous_commit, today)
    else:
        message = _l("Version %(version)s is the first version; there is nothing earlier to compare with.",
                     version=new.version)
        raise ValidationError(message, errors={"from": [message]})
    key = (old.blob, new.blob)
    parts = _comparisons.get(key)
    if parts is None:
        diff = redline_blocks.compare(old.markdown(), new.markdown())
        parts = (diff.inline_html(), diff, diff.inserted, diff.deleted)
        _comparisons.put(key, parts)
    return Comparison(old, new, *parts)


# --------------------------------------------------------------------------
# Problems in the store (for document controllers)
# --------------------------------------------------------------------------

def problems(*, resolved: bool = False, limit: int = 200) -> list[StoreProblem]:
    """Files on ``main`` the catalogue could not take: the open ones (or the resolved ones), newest first."""
    condition = StoreProblem.resolved_at.is_not(None) if resolved else StoreProblem.resolved_at.is_(None)
    order = StoreProblem.resolved_at.desc() if resolved else StoreProblem.found_at.desc()
    return list(db.session.scalars(select(StoreProblem).where(condition).order_by(order, StoreProblem.id.desc())
                                   .limit(limit)))


def open_problems_count() -> int:
    return db.session.scalar(select(func.count()).select_from(StoreProblem)
                             .where(StoreProblem.resolved_at.is_(None))) or 0


# --------------------------------------------------------------------------
# Sync
# --------------------------------------------------------------------------

class _Raced(Exception):
    """Another process moved the mirror while we worked: start again."""


def synced_head() -> str | None:
    """The store head this process knows the committed mirror reflects (None before the first sync)."""
    return _app_state().synced_head


def ensure_synced(*, commit: bool = False) -> str | None:
    """Sync if the store moved (one ref-file read when it did not); returns the head now mirrored.

    The procedures blueprints call it with ``commit=True`` before every request, so a
    version pushed with plain ``git push`` shows up with no manual step.
    """
    store = get_store()
    head = store.head(BRANCH)
    state = _app_state()
    _check_rebuilt(store, state)
    if head is None or head == state.synced_head:
        return head
    failed = state.failed_sync
    if failed is not None and failed[0] == head and time.monotonic() - failed[1] < SYNC_RETRY_SECONDS:
        return _STALE + head
    try:
        sync(commit=commit)
    except DomainError:
        raise
    except Exception:  # noqa: BLE001 - one bad commit must not take every procedure page down
        # Documents are isolated inside the sync; this is the net for anything else (a store
        # read failing, a database refusing a value). Readers keep the catalogue as last mirrored.
        log.exception("procedure catalogue sync up to %s failed; serving the catalogue as last mirrored", head[:12])
        if commit:
            db.session.rollback()  # without commit the sync's savepoint is already undone: keep the caller's work
        state.failed_sync = (head, time.monotonic())
        return _STALE + head
    state.failed_sync = None
    return head


#: Cache keys of views built while the mirror lags behind ``head`` (never confused with ``head``'s).
_STALE = "stale:"
#: Change stamp moved by ``sync --rebuild`` and by a committed :func:`mark_reviewed`: views of an
#: unchanged head are rebuilt too.
REBUILD_STAMP = "catalogue-rebuilt"


def _check_rebuilt(store, state: _AppState) -> None:
    """Drop this process's views when a rebuild (in any process) re-mirrored the same head."""
    try:
        stamp = store.stamp(REBUILD_STAMP)
    except StoreError:
        return
    if stamp != state.rebuilt:
        if state.rebuilt is not None:
            state.views.clear()
            state.fragments.clear()
        state.rebuilt = stamp


def sync(*, rebuild: bool = False, commit: bool = False) -> int:
    """Mirror ``main`` into the catalogue tables if its head moved; returns the versions added.

    Walks only the commits since the head synced last (all of them the first time, when
    history was rewritten, or with ``rebuild``). Works inside ``db.session`` in a
    SAVEPOINT, so it can join the caller's transaction (audit entry + sync + commit);
    with ``commit=True`` it commits the session itself (request start, CLI). Safe when
    several workers sync at once: the state row is claimed with a compare-and-swap
    first; the loser's savepoint rolls back and it finds the work done.
    """
    store = get_store()
    app_state = _app_state()
    session = db.session
    for attempt in range(10):
        head = store.head(BRANCH)
        if head is None:
            return 0
        if head == app_state.synced_head and not rebuild:
            return 0
        try:
            with session.begin_nested():
                added = _sync_into(session, store, head, rebuild)
        except (_Raced, IntegrityError, OperationalError) as exc:
            log.info("procedure catalogue sync raced (%s); retrying", type(exc).__name__)
            if not commit:
                # Inside the caller's transaction: another process is mirroring this head;
                # the next request finds it done. Never undo the caller's own work.
                return 0
            session.rollback()  # also drops a stale SQLite snapshot
            time.sleep(random.uniform(0.005, 0.05) * (attempt + 1))
            continue
        if commit:
            session.commit()
            # Only a committed mirror may be remembered: a caller's rollback would undo it.
            app_state.synced_head = head
            if rebuild:
                # The same head may now mirror differently (today's rules): every process drops its views.
                store.bump_stamp(REBUILD_STAMP)
        if added:
            log.info("procedure catalogue: %d version(s) mirrored up to %s", added, head[:12])
        return added
    raise Conflict(_l("The procedure list is being updated by someone else. Please try again."))


def _commits_since(store, head: str, old: str):
    """Commits after ``old`` on the first-parent chain of ``head``, oldest first; None if ``old`` is not on it."""
    for limit in (32, 1024, None):
        chain = store.history(rev=head, limit=limit, first_parent=True)
        for i, commit in enumerate(chain):
            if commit.sha == old:
                return list(reversed(chain[:i]))
        if limit is None or len(chain) < limit:
            return None
    return None


#: Syncs walking more commits than this ask git for all changes at once.
BULK_COMMITS = 16


def _changed_files(store, head: str, old: str | None) -> dict[str, list[tuple[str, str, str | None]]]:
    """``{commit: [(status, path, new blob)]}`` for the first-parent commits in ``old..head`` (one ``git log``).

    The store's ``diff_paths`` compares two flattened trees, which for a first sync of
    thousands of commits means parsing thousands of root trees; git does the same walk
    natively in a fraction of a second. Empty on any problem (the caller falls back).
    """
    try:
        return store.changes_since(old, head)
    except StoreError as exc:
        log.warning("listing the changes for the catalogue sync failed (%s); comparing trees instead", exc)
        return {}


def _read_blobs(store, blobs) -> dict[str, bytes]:
    """Contents of many blobs read at once (empty on any problem: the caller reads them one by one)."""
    try:
        return store.read_blobs(blobs)
    except StoreError as exc:
        log.warning("reading blobs for the catalogue sync failed (%s); reading them one by one", exc)
        return {}


_UNPARSABLE_MESSAGE = _l("The file cannot be read as a procedure file.")


@dataclass
class _Problem:
    code: str
    path: str
    commit: str
    blob: str | None
    author_name: str
    author_email: str
    committed_at: datetime | None
    position: int
    errors: dict


@dataclass
class _Problems:
    """What one sync walk found: invalid files, and the valid versions that resolve earlier problems."""

    problems: dict = field(default_factory=dict)  # (path, commit) -> _Problem
    valid_versions: dict = field(default_factory=dict)  # path -> [(position, commit)], in order
    positions: dict = field(default_factory=dict)  # commit -> position of every commit walked

    def add(self, code, path, commit, blob, position, errors) -> None:
        self.problems[(path, commit.sha)] = _Problem(
            code=code, path=path, commit=commit.sha, blob=blob, author_name=_clip(commit.author.name, 200),
            author_email=_clip(commit.author.email, 200), committed_at=commit.committed_at, position=position,
            errors=_stored_errors(errors))

    def add_valid(self, path, commit, position) -> None:
        self.valid_versions.setdefault(path, []).append((position, commit))

    def _later_valid(self, path, position) -> str | None:
        for pos, commit in self.valid_versions.get(path, ()):
            if pos > position:
                return commit
        return None

    def save(self, session, rebuild: bool) -> None:
        """Record new problems and resolve the ones a later valid version fixed.

        On a rebuild the table is made to match the walk: problems whose commit is no
        longer on ``main``, or whose file now passes, are dropped (``found_at`` is kept
        for the others).
        """
        paths = set(self.valid_versions) | {path for path, _commit in self.problems}
        if rebuild:
            rows = list(session.scalars(select(StoreProblem)))
        elif paths:
            rows = list(session.scalars(select(StoreProblem).where(StoreProblem.path.in_(paths))))
        else:
            return
        now = utcnow()
        existing = {(r.path, r.commit): r for r in rows}
        for key, p in self.problems.items():
            row = existing.pop(key, None)
            if row is None:
                row = StoreProblem(path=p.path, code=p.code, commit=p.commit, found_at=now)
                session.add(row)
            row.kind, row.blob, row.errors = PROBLEM_INVALID, p.blob, p.errors
            row.author_name, row.author_email, row.committed_at = p.author_name, p.author_email, p.committed_at
            _resolve(row, self._later_valid(p.path, p.position), now)
        for row in existing.values():
            position = self.positions.get(row.commit)
            if rebuild and (position is None or row.kind == PROBLEM_INVALID):
                session.delete(row)  # gone from main, or no longer invalid
            elif rebuild or row.resolved_at is None:
                _resolve(row, self._later_valid(row.path, -1 if position is None else position), now)


def _resolve(row: StoreProblem, commit: str | None, now: datetime) -> None:
    if commit is None:
        row.resolved_at = row.resolved_by = None
    elif row.resolved_by != commit:
        row.resolved_at, row.resolved_by = now, commit


def _sync_into(session, store, head: str | None, rebuild: bool) -> int:
    state = {s.key: s for s in session.scalars(select(StoreState).where(StoreState.key.in_((HEAD_KEY, LENGTH_KEY))))}
    old = state[HEAD_KEY].value if HEAD_KEY in state else None
    if head is None or (old == head and not rebuild):
        return 0
    commits = None
    start = 0
    if old and not rebuild:
        commits = _commits_since(store, head, old)
        if commits is not None and LENGTH_KEY in state:
            start = int(state[LENGTH_KEY].value)
        else:
            commits = None
    if commits is None:  # first sync, rewritten history or explicit rebuild
        rebuild = True
        commits = list(reversed(store.history(rev=head, first_parent=True)))

    # Claim the state first: a concurrent sync blocks here (or fails) instead of duplicating work.
    now = utcnow()
    if HEAD_KEY not in state:
        session.add_all([StoreState(key=HEAD_KEY, value=head, updated_at=now),
                         StoreState(key=LENGTH_KEY, value=str(len(commits)), updated_at=now)])
        session.flush()
    else:
        claimed = session.execute(update(StoreState).where(StoreState.key == HEAD_KEY, StoreState.value == old)
                                  .values(value=head, updated_at=now))
        if claimed.rowcount != 1:
            raise _Raced()
        length = str(start + len(commits))
        if LENGTH_KEY in state:
            session.execute(update(StoreState).where(StoreState.key == LENGTH_KEY).values(value=length, updated_at=now))
        else:
            session.add(StoreState(key=LENGTH_KEY, value=length, updated_at=now))

    # Many commits (first sync, rebuild, a big push): let git list the changes in one go.
    # A few (a publish): the store's cached trees are cheaper than two git processes.
    changed = _changed_files(store, head, None if rebuild else old) if len(commits) > BULK_COMMITS else {}
    contents = _read_blobs(store, (blob for changes in changed.values() for _s, path, blob in changes
                                   if blob and code_from_path(path)))
    commit_changes = []
    for commit in commits:
        changes = changed.get(commit.sha)
        if changes is None:
            if commit.parents:
                changes = [(st, p, None) for st, p in store.diff_paths(commit.parents[0], commit.sha)]
            else:
                changes = [("A", p, blob) for p, blob in store.list_files(commit.sha)]
        commit_changes.append((commit, changes))
    if rebuild:
        procs = {p.code: p for p in session.scalars(select(Procedure))}
        session.execute(delete(ProcedureVersion))
        for p in procs.values():
            p.versions_count = 0
    else:
        # A publish touches one procedure: loading all 2,000 rows as ORM objects cost 40-80 ms.
        touched = {code_from_path(path) for _c, changes in commit_changes for _s, path, _b in changes} - {None}
        procs = {p.code: p for p in session.scalars(select(Procedure).where(Procedure.code.in_(touched)))}
    latest: dict[str, ProcedureVersion] = {}
    firsts: set[str] = set()
    removed: set[str] = set()
    added = 0
    problems = _Problems()
    bounds = dates.date_bounds()
    for position, (commit, changes) in enumerate(commit_changes, start + 1):
        problems.positions[commit.sha] = position
        for status, path, blob in changes:
            code = code_from_path(path)
            if code is None:
                continue
            if status == "D":
                removed.add(code)
                continue
            data = contents.get(blob) if blob else None
            if data is None:
                version = store.read(path, commit.sha)
                blob, data = version.blob, version.data
            # One bad file is recorded and skipped; the version before it stays in force.
            try:
                doc = parse(data, expected_code=code, date_bounds=bounds, max_bytes=MAX_FILE_BYTES)
            except ValidationError as exc:
                log.warning("skipping %s at %s: %s %s", path, commit.sha[:12], exc, getattr(exc, "errors", ""))
                problems.add(code, path, commit, blob, position, exc.errors or {"file": [exc.message]})
                continue
            except (RecursionError, ValueError, OverflowError, UnicodeError) as exc:
                log.warning("skipping %s at %s: %s: %s", path, commit.sha[:12], type(exc).__name__, exc)
                problems.add(code, path, commit, blob, position, {"file": [_UNPARSABLE_MESSAGE]})
                continue
            meta = parse_commit(commit, doc=doc)
            review_id = meta.review_id if meta.review_id is not None and 0 < meta.review_id < 2**31 else None
            proc = procs.get(code)
            if proc is None:
                proc = procs[code] = Procedure(code=code, versions_count=0)
                session.add(proc)
            row = ProcedureVersion(
                procedure=proc, code=code, seq=position, version=doc.version, commit=commit.sha,
                blob=blob, effective=doc.effective, status=doc.status, title=doc.title,
                departments=list(doc.departments), review_months=doc.review_months, owner=doc.owner,
                author_name=_clip(commit.author.name, 200), author_email=_clip(commit.author.email, 200),
                committed_at=commit.committed_at, approved_by=_clip(meta.approved_by, 300) or None,
                summary=_clip(meta.summary, 1_000_000), review_id=review_id,
                withdrawn_reason=_clip(meta.withdrawn_reason, 1_000_000) or None,
                signatures=[_clip(s, 1000) for s in meta.signatures[:100]],
            )
            session.add(row)
            if code not in firsts and (rebuild or proc.first_effective is None):
                proc.first_effective = doc.effective  # a rebuild walks from the root: this is the first version
            firsts.add(code)
            proc.versions_count = (proc.versions_count or 0) + 1
            latest[code] = row
            removed.discard(code)
            problems.add_valid(path, commit.sha, position)
            added += 1
    for code, row in latest.items():
        proc = procs[code]
        proc.title, proc.departments, proc.version = row.title, row.departments, row.version
        proc.effective, proc.status, proc.owner = row.effective, row.status, row.owner
        proc.review_months, proc.commit, proc.blob = row.review_months, row.commit, row.blob
        proc.next_review = next_review_date(review_anchor(proc.last_reviewed, proc.first_effective, row.effective),
                                            row.review_months)
        proc.removed = False
    for code in removed:
        if code in procs:
            procs[code].removed = True
    if rebuild:
        for proc in procs.values():
            if proc.versions_count == 0:
                proc.removed = True  # its history is gone from main (rewritten)
    problems.save(session, rebuild)
    # Every commit on main has exactly one audit entry: one made by plain git, or by a publish
    # that died before its audit write, gets one now, from git's own record.
    audit_service.record_unaudited_commits(store, commit_changes)
    session.flush()
    return added


# --------------------------------------------------------------------------
# Reviews
# --------------------------------------------------------------------------

def mark_reviewed(code: str, on: date) -> None:
    """Record that a review of ``code`` closed on ``on`` (a "no change" review counts): the next review
    falls due ``review_months`` after it. In the caller's transaction, not committed; once the caller
    commits, every process rebuilds its views (the head did not move). NotFound for an unknown code."""
    if not isinstance(on, date) or isinstance(on, datetime):
        raise ValidationError(_l("The review date is not valid."), errors={"on": [_l("The review date is not valid.")]})
    proc = db.session.scalar(select(Procedure).where(Procedure.code == code)) if isinstance(code, str) else None
    if proc is None:
        raise NotFound(_l("There is no procedure %(code)s.", code=str(code)))
    proc.last_reviewed = on
    proc.next_review = next_review_date(review_anchor(on, proc.first_effective, proc.effective), proc.review_months)
    session = db.session()
    session.info[_REVIEWED_KEY] = True
    if not event.contains(db.session, "after_commit", _announce_reviewed):
        event.listen(db.session, "after_commit", _announce_reviewed)


_REVIEWED_KEY = "procedures.reviewed"


def _announce_reviewed(session) -> None:
    """After a commit that marked procedures reviewed: every process drops its views of the catalogue."""
    if not session.info.pop(_REVIEWED_KEY, False) or not has_app_context():
        return
    try:
        get_store().bump_stamp(REBUILD_STAMP)
    except StoreError:
        log.exception("cannot move the catalogue stamp; other processes show the old review dates until "
                      "the store moves")
