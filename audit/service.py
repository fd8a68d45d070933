"""Write, anchor and verify the audit log.

Every service that changes a record calls :func:`record` in the same transaction as
the change, so the change and its audit entry commit (or roll back) together.

What the log proves, and how:

* **Every column is sealed.** Each entry's ``hash`` is an HMAC-SHA256, under a key kept
  outside the database (``AUDIT_KEY``, else ``instance/audit_key``), of all its other
  columns — id, time, actor id *and* login, action, object, before/after, reason, git
  commit — and of the previous entry's hash. Editing any column, or recomputing the
  chain after an edit, needs the key.
* **The head is anchored outside the database.** :func:`anchor` commits the newest
  entry's id, hash and the entry count to the git store, on the branch
  ``procdesk/audit`` (never ``main``, which holds procedures only), after every publish
  and from ``flask audit anchor`` (daily cron). Deleting the last entries leaves a
  chain that no longer reaches the anchored head.
* **Every commit on main has exactly one entry.** Entries name the commit they account
  for (``git_commit``, unique). The catalogue sync calls :func:`record_unaudited_commits`
  for the commits it mirrors, so a commit made by a plain ``git push``, or by a publish
  that crashed before its audit write, still gets one — written from git's own record
  (author, time, summary, files) and marked ``source: git``.

:func:`verify` walks the chain in batches and names each kind of tampering separately
(see :data:`PROBLEM_KINDS`).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select, text

import repo_store
from audit.models import GENESIS_HASH, AuditEntry
from webapp.db import utcnow
from webapp.exceptions import Conflict
from webapp.extensions import db
from webapp.i18n import _l
from webapp.store import get_store

log = logging.getLogger(__name__)

# Any constant works; it names the PostgreSQL advisory lock that serialises appends.
_PG_LOCK_KEY = 0x50524F43  # "PROC"

#: Tag of the hashing scheme, inside every hashed payload.
SCHEME = "procdesk-audit/2"
#: The columns the keyed hash covers: every column except ``hash`` itself. A test holds
#: this equal to the table's columns, so a new column cannot be left unsealed.
HASHED_COLUMNS = ("id", "at", "actor_id", "actor_login", "action", "object_type", "object_id", "before",
                  "after", "reason", "git_commit", "prev_hash")

#: Where the chain's head is anchored: a branch of the git store that is not ``main``.
ANCHOR_BRANCH = "procdesk/audit"
ANCHOR_FILE = "audit-anchor.json"
#: Entries older than this and still not anchored make ``verify`` warn (anchor daily).
ANCHOR_MAX_AGE = timedelta(hours=26)

#: Action of an entry written from git for a commit on ``main`` that had none.
GIT_ACTION = "procedure.committed_outside_app"
#: A commit carrying the app's trailers this young may be a publish whose own audit entry is
#: still being written (in another process): the sync leaves it to a later pass.
IN_FLIGHT_SECONDS = 120
#: How many recent commits of ``main`` every sync looks back over for deferred commits.
RECENT_COMMITS = 32

#: The kinds of problem :func:`verify` reports, and what they mean.
PROBLEM_KINDS = (
    "content",      # an entry's data no longer matches its keyed hash: edited after it was written
    "link",         # an entry's hash or link was altered: it does not follow the entry before it
    "missing",      # entries were deleted in the middle (an intact entry names a predecessor that is gone)
    "forged",       # a run of entries re-hashed without the key: edited, then the chain recomputed
    "truncated",    # the chain ends before the head anchored in git: entries deleted at the end
    "anchor",       # the anchored entry is there with another hash (rewritten), or the anchor is unreadable
    "unaudited_commit",  # a commit on main with no audit entry
    "stray_commit",      # an entry naming a commit that is not on main
)

_MAX_TEXT = 1000
_MAX_FILES = 200
_MAX_LISTED = 100


class AnchorMismatch(Conflict):
    """The chain no longer reaches the head anchored in the git store: refused to anchor over it."""


# ---------------------------------------------------------------------------
# hashing
# ---------------------------------------------------------------------------


def to_jsonable(value):
    """Turn dates, decimals and sets into JSON values so before/after snapshots store cleanly."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def audit_key() -> bytes:
    """The chain's HMAC key (``AUDIT_KEY``; ``webapp.config`` creates ``instance/audit_key`` once)."""
    from flask import current_app

    return str(current_app.config["AUDIT_KEY"]).strip().encode("utf-8")


def _at_text(at: datetime) -> str:
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


def canonical(row) -> bytes:
    """Every column of ``row`` but ``hash``, as canonical JSON (what the HMAC covers)."""
    return _payload({name: getattr(row, name) for name in HASHED_COLUMNS})


def _payload(values: dict) -> bytes:
    values["at"] = _at_text(values["at"])
    return json.dumps([SCHEME, values], ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode("utf-8", "surrogatepass")


def chain_hash(key: bytes, row) -> str:
    """The keyed hash (HMAC-SHA256) that seals ``row`` and chains it to its predecessor."""
    return hmac.new(key, canonical(row), hashlib.sha256).hexdigest()


def _unkeyed_hashes(row) -> tuple[str, ...]:
    """What someone without the key would compute: plain SHA-256 of the payload, or the old formula."""
    payload = json.dumps(
        [row.prev_hash, _at_text(row.at), row.actor_id, row.action, row.object_type, str(row.object_id),
         row.before, row.after, row.reason or ""],
        ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return (hashlib.sha256(canonical(row)).hexdigest(),
            hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest())


# ---------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------

#: ``record(..., actor=SYSTEM)``: no user did this (the entry names who did in ``actor_login``).
SYSTEM = object()


def _lock(session) -> bool:
    """Serialise appends (PostgreSQL advisory lock until the transaction ends); True on PostgreSQL."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        return True
    return False


def record(action: str, obj, *, before=None, after=None, reason: str = "", actor=None,
           object_type: str | None = None, object_id=None, git_commit: str | None = None,
           actor_login: str | None = None) -> AuditEntry:
    """Append an audit entry for ``action`` on ``obj`` (a model or None with explicit type/id).

    ``actor`` defaults to the logged-in user; :data:`SYSTEM` records no user, with
    ``actor_login`` naming who acted (e.g. a commit's author). ``git_commit`` links the
    entry to the commit on ``main`` it accounts for. The entry is added to the current
    session; the caller commits it together with the change it describes.
    """
    if actor is SYSTEM:
        actor = None
    elif actor is None:
        actor = _current_actor()
    session = db.session
    session.flush()  # so the caller's new rows have ids before we name them
    object_type = object_type or (obj.__tablename__ if obj is not None else "system")
    if object_id is None:
        object_id = getattr(obj, "id", "") if obj is not None else ""
    postgres = _lock(session)
    last = session.execute(select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).first()
    if postgres:
        # The id is hashed, so it is drawn before the insert (under the lock: ids follow the chain).
        new_id = session.execute(text("SELECT nextval(pg_get_serial_sequence('audit_entries', 'id'))")).scalar_one()
    else:
        new_id = (last.id if last else 0) + 1  # SQLite: one writer at a time; a race fails on the unique keys
    entry = AuditEntry(
        id=new_id,
        at=utcnow(),
        actor_id=getattr(actor, "id", None),
        actor_login=(actor_login if actor_login is not None else getattr(actor, "login", "")) or "",
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        before=to_jsonable(before),
        after=to_jsonable(after),
        reason=reason or "",
        git_commit=git_commit,
        prev_hash=last.hash if last else GENESIS_HASH,
    )
    entry.hash = chain_hash(audit_key(), entry)
    session.add(entry)
    session.flush()
    return entry


def _current_actor():
    from flask import has_request_context
    from flask_login import current_user

    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user._get_current_object()
    return None


def snapshot(obj, fields) -> dict:
    """A dict of ``fields`` read from ``obj``, for before/after values."""
    return {f: to_jsonable(getattr(obj, f)) for f in fields}


def entry_for_commit(sha: str) -> AuditEntry | None:
    """The entry that accounts for commit ``sha`` on main, if there is one."""
    return db.session.execute(select(AuditEntry).where(AuditEntry.git_commit == sha)).scalar_one_or_none()


# ---------------------------------------------------------------------------
# commits on main without an entry
# ---------------------------------------------------------------------------


def _clean(value, limit: int = _MAX_TEXT) -> str:
    """Text from git made storable: no lone surrogates or NULs, bounded length."""
    value = str(value or "").encode("utf-8", "replace").decode("utf-8").replace("\x00", "")
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _looks_app_made(commit) -> bool:
    """A publish (Procedure + Version trailers) or a review's release (Review-Number) made by ProcDesk."""
    keys = {k.lower() for k, _v in commit.trailers}
    return {"procedure", "version"} <= keys or "review-number" in keys


def _audited(session, shas) -> set[str]:
    shas = list(shas)
    found: set[str] = set()
    for i in range(0, len(shas), 500):
        found.update(session.execute(select(AuditEntry.git_commit)
                                     .where(AuditEntry.git_commit.in_(shas[i:i + 500]))).scalars())
    return found


def _commit_entry(store, commit, changes) -> AuditEntry:
    unreadable = ""
    if changes is None:
        try:
            if commit.parents:
                changes = store.diff_paths(commit.parents[0], commit.sha)
            else:
                changes = [("A", path) for path, _blob in store.list_files(commit.sha)]
        except repo_store.StoreError as exc:  # a damaged object: the entry is still due, without the files
            changes, unreadable = [], _clean(exc, 300)
    files = [{"status": c[0], "path": _clean(c[1])} for c in changes]
    author = commit.author
    return record(
        GIT_ACTION, None, actor=SYSTEM, actor_login=_clean(author.email or author.name, 64),
        object_type="git_commit", object_id=commit.sha, git_commit=commit.sha,
        after={
            "source": "git",
            "commit": commit.sha,
            "parents": list(commit.parents),
            "author": _clean(author.name),
            "author_email": _clean(author.email),
            "authored_at": commit.authored_at,
            "committed_at": commit.committed_at,
            "summary": _clean(commit.summary),
            "trailers": [[_clean(k, 100), _clean(v)] for k, v in commit.trailers[:50]],
            "files": files[:_MAX_FILES],
            "files_count": len(files),
            **({"files_unreadable": unreadable} if unreadable else {}),
        },
        reason="",
    )


def record_unaudited_commits(store, commit_changes=(), *, branch: str = "main", everything: bool = False,
                             now: datetime | None = None) -> list[AuditEntry]:
    """Record one entry, from git, for each commit of ``branch`` that has none yet.

    ``commit_changes`` are the ``(CommitInfo, [(status, path, …)])`` pairs the catalogue
    sync just mirrored (oldest first); the last :data:`RECENT_COMMITS` commits of the
    branch are looked at again, for commits an earlier pass left. With ``everything`` the
    whole first-parent history is checked (``flask audit anchor``). A commit that carries
    the app's trailers and is younger than :data:`IN_FLIGHT_SECONDS` is left alone: the
    publish that made it may still be writing its own entry. Runs in the caller's
    transaction; an entry another writer adds meanwhile makes the unique ``git_commit``
    fail, and the caller retries.
    """
    session = db.session
    commit_changes = list(commit_changes)
    head = commit_changes[-1][0].sha if commit_changes else store.head(branch)
    if head is None:
        return []
    try:
        window = store.history(rev=head, first_parent=True, limit=None if everything else RECENT_COMMITS)
    except repo_store.StoreError as exc:  # never let this hold the catalogue back: the next pass looks again
        log.warning("audit: cannot list the commits of %s (%s); checking only the ones just synced", branch, exc)
        window = []
    known = {c.sha for c, _changes in commit_changes}
    ordered = [(c, None) for c in reversed(window) if c.sha not in known] + commit_changes
    cutoff = (now or utcnow()) - timedelta(seconds=IN_FLIGHT_SECONDS)
    audited = _audited(session, [c.sha for c, _changes in ordered])
    # A commit with the app's trailers this young may be a publish still writing its own entry
    # (in another process): left to a later pass, which records it if that never happens.
    due = [(c, ch) for c, ch in ordered
           if c.sha not in audited and not (c.committed_at > cutoff and _looks_app_made(c))]
    if not due:
        return []  # the usual case, and no lock taken
    _lock(session)  # look again under the append lock: a publisher may have just written its entry
    audited = _audited(session, [c.sha for c, _changes in due])
    written = []
    for commit, changes in due:
        if commit.sha in audited:
            continue
        written.append(_commit_entry(store, commit, changes))
        audited.add(commit.sha)
    if written:
        log.warning("audit: %d commit(s) on %s had no audit entry; recorded from git (%s)", len(written), branch,
                    ", ".join(e.git_commit[:12] for e in written[:10]))
    return written


# ---------------------------------------------------------------------------
# anchoring the head in the git store
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Anchor:
    """The chain's head as committed to the git store."""

    entry_id: int
    hash: str
    count: int
    at: datetime
    commit: str = ""  # the anchor commit on ANCHOR_BRANCH
    main: str | None = None  # the head of main when anchored


def _anchor_signature():
    return repo_store.Signature("ProcDesk audit", "audit@procdesk.invalid")


def read_anchor(store=None) -> Anchor | None:
    """The anchor on :data:`ANCHOR_BRANCH` (None when nothing was anchored yet).

    Raises :class:`ValueError` when the branch exists but its file is not a valid anchor.
    """
    store = store or get_store()
    head = store.head(ANCHOR_BRANCH)
    if head is None:
        return None
    try:
        data = json.loads(store.read(ANCHOR_FILE, head).data.decode("utf-8"))
        return Anchor(entry_id=int(data["entry_id"]), hash=str(data["hash"]), count=int(data["count"]),
                      at=datetime.fromisoformat(data["at"]).astimezone(UTC), commit=head, main=data.get("main"))
    except (repo_store.NotFound, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"the audit anchor at {head[:12]} cannot be read: {exc}") from None


def anchor(*, force: bool = False, store=None) -> Anchor | None:
    """Commit the chain's head (newest entry's id and hash, entry count, time) to the git store.

    A compare-and-swap on :data:`ANCHOR_BRANCH`, so several workers and hosts can anchor
    at once: whoever loses re-reads, and stops when the anchor already covers its head.
    Refuses (:class:`AnchorMismatch`) when the chain no longer holds the entry anchored
    last, unless ``force`` (after restoring an older database backup on purpose; the
    old anchor stays in the branch's history). Reads committed entries on a connection
    of its own: the caller's transaction is not touched. None when the log is empty.
    """
    store = store or get_store()
    for attempt in range(20):
        base = store.head(ANCHOR_BRANCH)
        try:
            previous = read_anchor(store)
        except ValueError:
            if not force:
                raise
            previous = None
        with db.engine.connect() as conn:
            tail = conn.execute(select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).first()
            held = None
            if previous is not None:
                held = conn.execute(select(AuditEntry.hash).where(AuditEntry.id == previous.entry_id)).scalar()
            count = conn.execute(select(func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.id <= (tail.id if tail else 0))).scalar()
        if previous is not None and held != previous.hash and not force:
            raise AnchorMismatch(_l("The audit log no longer contains entry %(id)d as it was anchored on "
                                    "%(at)s: entries were deleted or rewritten. Run “flask audit verify”.",
                                    id=previous.entry_id, at=previous.at.isoformat(timespec="seconds")))
        if tail is None:
            return None
        if previous is not None and held == previous.hash and previous.entry_id >= tail.id:
            return previous  # the anchor already covers this head (another worker got there first)
        now = utcnow()
        main = store.head("main")
        content = json.dumps({"entry_id": tail.id, "hash": tail.hash, "count": count,
                              "at": now.isoformat(timespec="microseconds"), "main": main,
                              "scheme": SCHEME}, indent=1, sort_keys=True) + "\n"
        trailers = [("Audit-Entry", str(tail.id)), ("Audit-Hash", tail.hash), ("Audit-Count", str(count))]
        summary = f"Audit anchor: entry {tail.id}, {count} entries"
        if force and previous is not None and held != previous.hash:
            summary = f"Audit anchor (forced over entry {previous.entry_id}): entry {tail.id}, {count} entries"
            trailers.append(("Replaces-Anchor", f"{previous.entry_id} {previous.hash}"))
        try:
            sha = store.commit({ANCHOR_FILE: content}, summary=summary, author=_anchor_signature(), base=base,
                               branch=ANCHOR_BRANCH, trailers=trailers)
        except repo_store.Conflict:
            time.sleep(random.uniform(0.002, 0.02) * (attempt + 1))
            continue  # another worker anchored meanwhile: look again
        return Anchor(entry_id=tail.id, hash=tail.hash, count=count, at=now, commit=sha, main=main)
    raise Conflict(_l("The audit anchor is being written by someone else. Please try again."))


def anchor_quietly() -> Anchor | None:
    """:func:`anchor`, logging instead of raising (after a publish, which has already succeeded)."""
    try:
        return anchor()
    except Exception:
        log.exception("audit: anchoring the chain's head in the git store failed; `flask audit verify` tells why")
        return None


# ---------------------------------------------------------------------------
# verifying
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One finding of :func:`verify` (``kind`` is one of :data:`PROBLEM_KINDS`)."""

    kind: str
    entry_id: int | None = None
    last_id: int | None = None  # ranges: "forged" (last entry), "missing" (entry before the gap)
    count: int = 0
    commit: str | None = None
    detail: str = ""
    at: datetime | None = None
    left: int | None = None  # "truncated": how many of the anchored entries are left

    @property
    def message(self):
        return describe(self)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int  # entries intact before the first problem (all entries when ok)
    broken_id: int | None = None  # the first entry with a problem
    problem: str = ""  # the kind of the first problem
    problems: tuple[Problem, ...] = ()  # at most _MAX_LISTED, in chain order, then anchor, then commits
    counts: dict = field(default_factory=dict)  # kind -> how many
    warnings: tuple[Problem, ...] = ()  # not (yet) tampering: no anchor, stale anchor, commits in flight
    total: int = 0
    anchor: Anchor | None = None


@dataclass
class _Row:
    id: int
    hash: str
    prev_hash: str
    expected: str
    authentic: bool
    linked: bool
    unkeyed: bool


@dataclass
class _Run:
    """Consecutive entries whose hashes are wrong but that still link to one another."""

    first: _Row
    last: _Row
    ids: list[int]
    n: int = 1
    unkeyed: bool = False


class _Walk:
    def __init__(self):
        self.problems: list[Problem] = []
        self.counts: dict[str, int] = {}
        self.first_bad: int | None = None
        self.clean_before = 0

    def add(self, problem: Problem) -> None:
        self.counts[problem.kind] = self.counts.get(problem.kind, 0) + (problem.count or 1)
        if len(self.problems) < _MAX_LISTED:
            self.problems.append(problem)

    def close_run(self, run: _Run, nxt: _Row | None, total_so_far: int) -> bool:
        """Classify a finished run; True when it also explains ``nxt``'s broken link."""
        vouched = nxt is not None and nxt.linked  # an intact successor vouches for the run's last hash
        if run.n == 1 and nxt is not None and nxt.authentic and not nxt.linked \
                and nxt.prev_hash == run.first.expected:
            # The entry's data is intact (its successor names its true hash): only its hash field was changed.
            self.add(Problem("link", run.first.id))
            return True
        if not vouched and (run.n >= 2 or run.unkeyed):
            whole = run.first.prev_hash == GENESIS_HASH and nxt is None and run.n == total_so_far
            self.add(Problem("forged", run.first.id, last_id=run.last.id, count=run.n,
                             detail="all" if whole else ""))
            return nxt is not None and nxt.authentic
        first = True
        for entry_id in run.ids:
            kind = "link" if first and not run.first.linked else "content"
            self.add(Problem(kind, entry_id))
            first = False
        if run.n > len(run.ids):
            self.counts["content"] = self.counts.get("content", 0) + run.n - len(run.ids)
        return False


def verify(batch: int = 2000, *, store=None) -> VerifyResult:
    """Check the whole log: keyed hashes, links, the anchored head, and one entry per commit on main.

    Walks the entries in id order, ``batch`` at a time, and reports every problem found
    (not only the first), each of a kind in :data:`PROBLEM_KINDS`.
    """
    store = store or get_store()
    key = audit_key()
    warnings: list[Problem] = []
    # The anchor first: it names an entry committed before it, which the walk must then reach.
    anchor_problem = None
    try:
        anchored = read_anchor(store)
    except ValueError as exc:
        anchored, anchor_problem = None, Problem("anchor", detail=str(exc))
    columns = [getattr(AuditEntry, name) for name in HASHED_COLUMNS] + [AuditEntry.hash]
    walk = _Walk()
    prev: _Row | None = None
    run: _Run | None = None
    explained = False
    total = 0
    last_id = 0
    oldest_unanchored: datetime | None = None
    while True:
        # Plain rows, not ORM objects: a long log must not pile up in the session.
        rows = db.session.execute(select(*columns).where(AuditEntry.id > last_id)
                                  .order_by(AuditEntry.id).limit(batch)).all()
        if not rows:
            break
        for e in rows:
            values = e._asdict()
            del values["hash"]
            expected = hmac.new(key, _payload(values), hashlib.sha256).hexdigest()
            authentic = hmac.compare_digest(expected, e.hash or "")
            row = _Row(e.id, e.hash, e.prev_hash, expected, authentic,
                       linked=e.prev_hash == (prev.hash if prev else GENESIS_HASH),
                       unkeyed=not authentic and e.hash in _unkeyed_hashes(e))
            if anchored is not None and e.id > anchored.entry_id and oldest_unanchored is None:
                oldest_unanchored = e.at
            total += 1
            last_id = e.id
            if run is not None:
                if not row.authentic and row.linked:
                    run.last, run.n, run.unkeyed = row, run.n + 1, run.unkeyed or row.unkeyed
                    if len(run.ids) < _MAX_LISTED:
                        run.ids.append(row.id)
                    prev = row
                    continue
                explained = walk.close_run(run, row, total - 1)
                run = None
            if walk.first_bad is None and not (row.authentic and row.linked):
                walk.first_bad = row.id
                walk.clean_before = total - 1
            if not row.authentic:
                run = _Run(first=row, last=row, ids=[row.id], unkeyed=row.unkeyed)
            elif not row.linked and not explained:
                if prev is None:
                    walk.add(Problem("missing", row.id))
                elif row.id > prev.id + 1:
                    walk.add(Problem("missing", row.id, last_id=prev.id))
                else:
                    walk.add(Problem("link", row.id))
            explained = False
            prev = row
    if run is not None:
        walk.close_run(run, None, total)
    problems = list(walk.problems)

    # The anchored head must still be there, with the hash it had.
    if anchor_problem is not None:
        problems.append(anchor_problem)
        walk.counts["anchor"] = walk.counts.get("anchor", 0) + 1
    elif anchored is None:
        if total:
            warnings.append(Problem("unanchored"))
    else:
        held = db.session.execute(select(AuditEntry.hash).where(AuditEntry.id == anchored.entry_id)).scalar()
        if held != anchored.hash:
            left = None
            if held is None and (last_id < anchored.entry_id or total < anchored.count):
                kind = "truncated"
                left = db.session.execute(select(func.count()).select_from(AuditEntry)
                                          .where(AuditEntry.id <= anchored.entry_id)).scalar()
            else:
                kind = "anchor"
            problems.append(Problem(kind, anchored.entry_id, count=anchored.count, at=anchored.at,
                                    last_id=last_id or None, left=left))
            walk.counts[kind] = walk.counts.get(kind, 0) + 1
        elif oldest_unanchored is not None and oldest_unanchored < utcnow() - ANCHOR_MAX_AGE:
            warnings.append(Problem("stale_anchor", anchored.entry_id, at=anchored.at))

    # Every commit on main has exactly one entry, and every linked entry names a commit on main.
    main_head = store.head("main")
    commits = store.history(rev=main_head, first_parent=True) if main_head else []
    on_main = {c.sha for c in commits}
    linked = dict(db.session.execute(select(AuditEntry.git_commit, AuditEntry.id)
                                     .where(AuditEntry.git_commit.is_not(None))).all())
    cutoff = utcnow() - timedelta(seconds=IN_FLIGHT_SECONDS)
    for c in reversed(commits):
        if c.sha in linked:
            continue
        p = Problem("unaudited_commit", commit=c.sha, at=c.committed_at,
                    detail=f"{_clean(c.author.email or c.author.name, 64)}: {_clean(c.summary, 120)}")
        if c.committed_at > cutoff:
            warnings.append(replace(p, kind="pending_commit"))
            continue
        walk.counts["unaudited_commit"] = walk.counts.get("unaudited_commit", 0) + 1
        if len(problems) < 2 * _MAX_LISTED:
            problems.append(p)
    for sha, entry_id in sorted(linked.items(), key=lambda item: item[1]):
        if sha not in on_main:
            walk.counts["stray_commit"] = walk.counts.get("stray_commit", 0) + 1
            if len(problems) < 2 * _MAX_LISTED:
                problems.append(Problem("stray_commit", entry_id, commit=sha))

    ok = not problems
    first = next((p for p in problems if p.entry_id is not None and p.kind in ("content", "link", "missing",
                                                                                 "forged")), None)
    first = first or (problems[0] if problems else None)
    return VerifyResult(
        ok=ok,
        checked=total if ok else (walk.clean_before if walk.first_bad is not None else total),
        broken_id=(walk.first_bad if walk.first_bad is not None else (first.entry_id if first else None)),
        problem=first.kind if first else "",
        problems=tuple(problems),
        counts=walk.counts,
        warnings=tuple(warnings),
        total=total,
        anchor=anchored,
    )


@dataclass(frozen=True)
class Seal:
    """What one entry's own seal says (the whole chain needs :func:`verify`): ``sealed`` — its data
    still matches its keyed hash; ``linked`` — it names the hash of the entry before it."""

    sealed: bool
    linked: bool
    previous_id: int | None
    next_id: int | None


def seal_of(entry: AuditEntry) -> Seal:
    """Check ``entry``'s keyed hash and its link to the entry before it (two small queries)."""
    sealed = hmac.compare_digest(chain_hash(audit_key(), entry), entry.hash or "")
    previous = db.session.execute(select(AuditEntry.id, AuditEntry.hash).where(AuditEntry.id < entry.id)
                                  .order_by(AuditEntry.id.desc()).limit(1)).first()
    following = db.session.execute(select(func.min(AuditEntry.id)).where(AuditEntry.id > entry.id)).scalar()
    linked = entry.prev_hash == (previous.hash if previous else GENESIS_HASH)
    return Seal(sealed=sealed, linked=linked, previous_id=previous.id if previous else None, next_id=following)


def describe(p: Problem):
    """A sentence (lazy, translated) saying what ``p`` means."""
    at = p.at.isoformat(timespec="seconds") if p.at else ""
    if p.kind == "content":
        return _l("Entry %(id)d was changed after it was written: its data no longer matches its keyed hash.",
                  id=p.entry_id)
    if p.kind == "link":
        return _l("Entry %(id)d does not follow the entry before it: its hash or link was altered.", id=p.entry_id)
    if p.kind == "missing":
        if p.last_id is None:
            return _l("Entries were deleted before entry %(id)d, the first entry left.", id=p.entry_id)
        return _l("Entries were deleted between entry %(after)d and entry %(id)d.", after=p.last_id, id=p.entry_id)
    if p.kind == "forged":
        if p.detail == "all":
            return _l("No entry matches the audit key: either the whole chain was recomputed without the key, "
                      "or AUDIT_KEY is not the key the log was written with.")
        return _l("Entries %(first)d to %(last)d (%(n)d) carry hashes not made with the audit key: they were "
                  "changed and the chain recomputed without the key.", first=p.entry_id, last=p.last_id, n=p.count)
    if p.kind == "truncated":
        return _l("The log no longer reaches the head anchored in the git store on %(at)s: entry %(id)d is gone "
                  "and %(left)d of the %(n)d entries anchored are left, so entries were deleted at the end.",
                  at=at, id=p.entry_id, n=p.count, left=p.left or 0)
    if p.kind == "anchor":
        if p.entry_id is None:
            return _l("The anchor in the git store cannot be read: %(problem)s", problem=p.detail)
        return _l("Entry %(id)d no longer has the hash anchored in the git store on %(at)s: the log was "
                  "rewritten or entries replaced after it was anchored.", id=p.entry_id, at=at)
    if p.kind == "unaudited_commit":
        return _l("Commit %(commit)s on main (%(detail)s) has no audit entry. “flask audit anchor” records it "
                  "from git.", commit=p.commit[:12], detail=p.detail)
    if p.kind == "stray_commit":
        return _l("Entry %(id)d names commit %(commit)s, which is not on main.", id=p.entry_id,
                  commit=(p.commit or "")[:12])
    if p.kind == "unanchored":
        return _l("The log has not been anchored in the git store yet, so deleting its last entries cannot be "
                  "detected. Run “flask audit anchor”.")
    if p.kind == "stale_anchor":
        return _l("Entries written more than a day ago are not anchored yet (last anchor: entry %(id)d on "
                  "%(at)s). Schedule “flask audit anchor” daily.", id=p.entry_id, at=at)
    if p.kind == "pending_commit":
        return _l("Commit %(commit)s on main (%(detail)s) has no audit entry yet; it is recent, and the publish "
                  "that made it may still be writing it.", commit=p.commit[:12], detail=p.detail)
    return p.kind
