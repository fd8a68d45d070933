"""Git-backed store for procedure documents.

The store is a *bare* git repository. Branch ``main`` holds the current documents,
review drafts live on ``refs/heads/reviews/<id>``. Commits are built with git
plumbing (objects written directly into the object database, never through an
index or work tree) and branches move with an atomic compare-and-swap
(``git update-ref <ref> <new> <old>``), so any number of threads and gunicorn
worker processes can publish concurrently without losing an update.

Reading is the hot path (the procedure page must sustain ~1,000 req/s), hence:

* ``head()`` reads the loose ref file / ``packed-refs`` directly instead of
  spawning git; ref values are *never* cached, so a plain ``git push`` into the
  bare repository is visible on the very next call;
* everything addressed by an immutable sha (commit -> tree, tree entries,
  (commit, path) -> blob, blob -> bytes, file listings, history pages, grep
  results) is kept in per-process LRU caches shared by every :class:`GitStore`
  opened on the same repository.

This module deliberately imports nothing from Flask or the rest of the app: only
the standard library and GitPython (plus gitdb, which ships with it).
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
import weakref
import zlib
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import git
import gitdb.exc

from .errors import (
    Conflict,
    InvalidArgument,
    InvalidPath,
    MergeConflict,
    NotFound,
    NothingToCommit,
    StoreCorrupt,
    StoreError,
    StoreLocked,
)

__all__ = [
    "GitStore",
    "Signature",
    "FileVersion",
    "CommitInfo",
    "GrepHit",
    "LockFile",
    "StoreHealth",
    "FsckResult",
    "validate_path",
    "validate_rev",
    "validate_branch",
    "EMPTY_TREE",
]

ZERO_SHA = "0" * 40
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

_TREE_MODE = "40000"
_FILE_MODES = ("100644", "100755", "120000")  # gitlinks (160000) are never documents
_DEFAULT_FILE_MODE = "100644"

# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------

_HEX40_RE = re.compile(r"\A[0-9a-fA-F]{40}\Z")
_HEX40_BYTES_RE = re.compile(rb"\A[0-9a-fA-F]{40}\s*\Z")
_REV_RE = re.compile(r"\A(?:[0-9a-fA-F]{4,40}|[A-Za-z0-9][A-Za-z0-9._/-]{0,200})\Z")
_BRANCH_RE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._/-]{0,200}\Z")
_CTRL_RE = re.compile(r"[\x00-\x1f\x7f]")
_TRAILER_KEY_RE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9-]{0,99}\Z")
_TRAILER_LINE_RE = re.compile(r"\A([A-Za-z0-9][A-Za-z0-9-]*)[ \t]*:[ \t]?(.*)\Z")
_MAX_PATH = 4096


def validate_path(path: str) -> str:
    """Check that ``path`` is a safe, relative POSIX document path and return it.

    Rejects non-strings, empty paths, absolute paths, a leading ``-`` (option
    injection), NUL / control characters and backslashes, empty segments (``a//b``,
    trailing ``/``), ``.`` / ``..`` segments and any ``.git`` segment (compared
    case-insensitively, as git itself does on case-insensitive file systems).
    Raises :class:`InvalidPath`; nothing is normalised, so a path that passes is
    exactly the path stored in git.
    """
    if not isinstance(path, str) or not path:
        raise InvalidPath(f"invalid path: {path!r}")
    if len(path) > _MAX_PATH or path[0] in "/-" or "\\" in path or _CTRL_RE.search(path):
        raise InvalidPath(f"invalid path: {path!r}")
    for seg in path.split("/"):
        if not seg or seg in (".", "..") or seg.lower() == ".git":
            raise InvalidPath(f"invalid path: {path!r}")
    return path


def _ref_name_ok(name: str) -> bool:
    # The subset of `git check-ref-format` rules not already implied by the
    # character-class regexes (which exclude spaces, ~^:?*[\ and "@{").
    if ".." in name or "//" in name or name.endswith(("/", ".")):
        return False
    return all(not (c.startswith(".") or c.endswith(".lock")) for c in name.split("/"))


def validate_rev(rev: str) -> str:
    """Check that ``rev`` is an acceptable revision and return it.

    Accepted are abbreviated or full hex object names (4-40 digits) and ref-like
    names (``main``, ``reviews/42``, ``refs/tags/v1``, ``HEAD``) that obey the
    rules of ``git check-ref-format``. Anything that could be interpreted as an
    option (leading ``-``) or as revision syntax (``..``, ``@{``, ``^``, ``~``,
    ``:``) is refused with :class:`InvalidPath` before it gets near git.
    """
    if not isinstance(rev, str) or not _REV_RE.match(rev):
        raise InvalidPath(f"invalid revision: {rev!r}")
    if not _ref_name_ok(rev):
        raise InvalidPath(f"invalid revision: {rev!r}")
    return rev


def validate_branch(name: str) -> str:
    """Check that ``name`` is a valid short branch name (without ``refs/heads/``).

    Applies the ``git check-ref-format --branch`` rules in regex form and also
    refuses ``HEAD``, names starting with ``refs/`` (they would nest under
    ``refs/heads/refs/...``) and 40-hex names (indistinguishable from shas).
    Raises :class:`InvalidPath`.
    """
    if (
        not isinstance(name, str)
        or not _BRANCH_RE.match(name)
        or not _ref_name_ok(name)
        or name == "HEAD"
        or name.startswith("refs/")
        or _HEX40_RE.match(name)
    ):
        raise InvalidPath(f"invalid branch name: {name!r}")
    return name


def _validate_sha(sha: str, what: str = "commit") -> str:
    if not isinstance(sha, str) or not _HEX40_RE.match(sha):
        raise InvalidPath(f"invalid {what} sha (need 40 hex digits): {sha!r}")
    return sha.lower()


def _check_line(value: str, what: str, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise InvalidArgument(f"{what} must be a string")
    value = value.strip()
    if (not value and not allow_empty) or _CTRL_RE.search(value):
        raise InvalidArgument(f"invalid {what}: {value!r}")
    return value


# ---------------------------------------------------------------------------
# Result types
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    """A person (author or committer): display name and e-mail address."""

    name: str
    email: str


@dataclass(frozen=True)
class FileVersion:
    """The content of ``path`` as of commit ``commit`` (blob ``blob``)."""

    path: str
    commit: str
    blob: str
    data: bytes = field(repr=False)

    @property
    def text(self) -> str:
        """The content decoded as UTF-8 (raises ``UnicodeDecodeError`` if it is not)."""
        return self.data.decode("utf-8")


@dataclass(frozen=True)
class CommitInfo:
    """One commit as shown in a history page; timestamps are UTC-aware."""

    sha: str
    parents: tuple[str, ...]
    author: Signature
    authored_at: datetime
    committed_at: datetime
    summary: str
    body: str
    trailers: tuple[tuple[str, str], ...]

    def trailer(self, key: str) -> str | None:
        """Return the value of the last trailer named ``key`` (case-insensitive), or None."""
        values = self.trailer_all(key)
        return values[-1] if values else None

    def trailer_all(self, key: str) -> tuple[str, ...]:
        """Return every value of trailers named ``key`` (case-insensitive), in order."""
        k = key.lower()
        return tuple(v for tk, v in self.trailers if tk.lower() == k)


@dataclass(frozen=True)
class GrepHit:
    """One matching line of :meth:`GitStore.grep` (``line_no`` is 1-based)."""

    path: str
    line_no: int
    line: str


@dataclass(frozen=True)
class LockFile:
    """A git lock file in the repository: ``name`` relative to the git dir, ``age`` in seconds."""

    path: str
    name: str
    age: float
    identity: tuple = field(repr=False, compare=False, default=())


@dataclass(frozen=True)
class StoreHealth:
    """What :meth:`GitStore.health` found.

    ``status`` is ``"ok"``, ``"locked"`` (a lock file has been held longer than a writer
    ever holds one), ``"corrupt"`` (objects of the default branch's head, or objects this
    process failed to read, are missing or unreadable) or ``"unreachable"``.
    """

    status: str
    locks: tuple[LockFile, ...] = ()
    damaged: tuple[str, ...] = ()


@dataclass(frozen=True)
class FsckResult:
    """Outcome of :meth:`GitStore.fsck`: ``ok`` and git's report (``problems`` = its error lines)."""

    ok: bool
    problems: tuple[str, ...]
    output: str


# ---------------------------------------------------------------------------
# Commit messages with trailers
# ---------------------------------------------------------------------------


def _build_message(summary: str, body: str, trailers: Iterable[tuple[str, str]]) -> str:
    summary = _check_line(summary, "summary")
    if not isinstance(body, str) or "\x00" in body:
        raise InvalidArgument("body must be a string without NUL")
    body = body.replace("\r\n", "\n").strip()
    lines = []
    for item in trailers:
        try:
            key, value = item
        except (TypeError, ValueError):
            raise InvalidArgument(f"trailer must be a (key, value) pair: {item!r}") from None
        if not isinstance(key, str) or not _TRAILER_KEY_RE.match(key):
            raise InvalidArgument(f"invalid trailer key: {key!r}")
        value = _check_line(value, f"trailer {key!r} value", allow_empty=True)
        lines.append(f"{key}: {value}")
    msg = summary + "\n"
    if body:
        msg += "\n" + body + "\n"
    if lines:
        # git trailer format: the last paragraph, separated by a blank line.
        msg += "\n" + "\n".join(lines) + "\n"
    return msg


def _parse_trailer_block(paragraph: str) -> tuple[tuple[str, str], ...] | None:
    out: list[tuple[str, str]] = []
    for line in paragraph.split("\n"):
        if line[:1] in (" ", "\t") and out:  # folded continuation line (RFC 822 style)
            key, value = out[-1]
            out[-1] = (key, (value + " " + line.strip()).strip())
            continue
        m = _TRAILER_LINE_RE.match(line)
        if not m:
            return None
        out.append((m.group(1), m.group(2).strip()))
    return tuple(out) if out else None


def _split_message(message: str) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    message = message.replace("\r\n", "\n").strip("\n")
    summary, _, rest = message.partition("\n")
    paragraphs = [p for p in re.split(r"\n[ \t]*\n", rest.strip("\n")) if p.strip()]
    trailers: tuple[tuple[str, str], ...] = ()
    if paragraphs:
        parsed = _parse_trailer_block(paragraphs[-1].strip("\n"))
        if parsed is not None:
            trailers = parsed
            paragraphs.pop()
    return summary.strip(), "\n\n".join(paragraphs).strip(), trailers


def _sig_line(sig: Signature, when: int) -> str:
    if not isinstance(sig, Signature):
        raise InvalidArgument("author/committer must be a Signature")
    name = _check_line(sig.name, "signature name")
    email = _check_line(sig.email, "signature email")
    if any(c in name + email for c in "<>"):
        raise InvalidArgument(f"invalid signature: {sig!r}")
    # Always stored in UTC (+0000): the app deals in UTC-aware datetimes only.
    return f"{name} <{email}> {when} +0000"


# ---------------------------------------------------------------------------
# Per-process caches (keyed by immutable shas only)
# ---------------------------------------------------------------------------

_MISS = object()
_ALL_LRUS: weakref.WeakSet[_LRU] = weakref.WeakSet()


class _LRU:
    """Small thread-safe LRU bounded by item count and optionally total cost."""

    def __init__(self, max_items: int, max_cost: int = 0, max_item_cost: int = 0):
        self._data: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self._max_items = max_items
        self._max_cost = max_cost
        self._max_item_cost = max_item_cost
        self._cost = 0
        _ALL_LRUS.add(self)

    def get(self, key):
        with self._lock:
            entry = self._data.get(key, _MISS)
            if entry is _MISS:
                return _MISS
            self._data.move_to_end(key)
            return entry[0]

    def put(self, key, value, cost: int = 1) -> None:
        if self._max_item_cost and cost > self._max_item_cost:
            return  # a single huge object would flush everything else
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._cost -= old[1]
            self._data[key] = (value, cost)
            self._cost += cost
            while self._data and (
                len(self._data) > self._max_items or (self._max_cost and self._cost > self._max_cost)
            ):
                _, (_, c) = self._data.popitem(last=False)
                self._cost -= c

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._cost = 0

    def _reset_lock(self) -> None:
        self._lock = threading.Lock()


class _Caches:
    """All caches of one repository; shared by every GitStore on that path."""

    def __init__(self) -> None:
        self.commit_tree = _LRU(65536)  # commit sha -> (tree sha, parents)
        self.trees = _LRU(16384)  # tree sha -> {name: (mode, sha)}
        self.blob_at = _LRU(65536)  # (commit sha, path) -> blob sha
        self.blobs = _LRU(100_000, max_cost=128 << 20, max_item_cost=8 << 20)  # blob sha -> bytes
        self.flat = _LRU(64)  # root tree sha -> _Flat
        self.history = _LRU(512, max_cost=200_000)  # (sha, path, limit, fp) -> tuple[CommitInfo]
        self.grep = _LRU(256, max_cost=200_000)  # (tree, pattern, flags, paths) -> tuple[GrepHit]
        # packed-refs parsed content keyed by the file's identity; replaced atomically.
        self.packed: tuple[tuple, dict[str, str]] = ((), {})
        # Objects this process found missing or corrupt (sha -> description), for health().
        self.damaged: dict[str, str] = {}
        # (head sha, monotonic time, problems) of the last object check of health().
        self.verified: tuple[str | None, float, tuple[str, ...]] = (None, 0.0, ())


_CACHES: dict[str, _Caches] = {}
_CACHES_LOCK = threading.Lock()


def _caches_for(git_dir: str) -> _Caches:
    key = os.path.realpath(git_dir)
    with _CACHES_LOCK:
        c = _CACHES.get(key)
        if c is None:
            c = _CACHES[key] = _Caches()
        return c


def _after_fork_in_child() -> None:
    # A lock held by another thread at fork time would stay locked forever in the
    # child: give every cache a fresh lock. Cached data stays valid (immutable).
    global _CACHES_LOCK
    _CACHES_LOCK = threading.Lock()
    for lru in list(_ALL_LRUS):
        lru._reset_lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


@dataclass(frozen=True)
class _Flat:
    files: tuple[tuple[str, str], ...]  # (path, blob) sorted by path
    entries: Mapping[str, tuple[str, str]]  # path -> (mode, blob)


_UTF8_ENV = {"LC_ALL": "C.UTF-8"}  # glibc falls back to "C" if unavailable
_GIT_VERSION: tuple[int, ...] | None = None


def _git_version() -> tuple[int, ...]:
    global _GIT_VERSION
    if _GIT_VERSION is None:
        try:
            _GIT_VERSION = tuple(git.Git().version_info)
        except Exception:  # unknown git: assume old, the fallback path always works
            _GIT_VERSION = (0,)
    return _GIT_VERSION


#: git's complaint about a lock file it could not create ("Unable to create '<path>.lock': File exists.").
_LOCK_ERR_RE = re.compile(r"'([^'\n]+\.lock)': File exists")
#: git's ways of saying an object is missing or damaged (LC_ALL=C: GitPython runs git untranslated).
_CORRUPT_ERR_RE = re.compile(
    r"(?i)\bcorrupt|bad object|unable to read|could not read [0-9a-f]{40}|inflate|unable to unpack|"
    r"hash mismatch|sha1 mismatch|missing (?:blob|tree|commit)|object file .* is empty|bad (?:tree|commit) object|"
    r"could not parse commit|invalid object"
)
_SHA_IN_TEXT_RE = re.compile(r"\b[0-9a-f]{40}\b")
#: ``clear_stale_locks`` refuses ages below this: a live writer may hold a younger lock.
MIN_STALE_SECONDS = 60.0
_MAX_DAMAGED = 100


class _GitFailed(Exception):
    def __init__(self, args: Sequence[str], status: int, stderr: str):
        self.status = status
        self.stderr = stderr
        super().__init__(f"git {' '.join(args[:2])} exited {status}: {stderr.strip()[:500]}")


# ---------------------------------------------------------------------------
# The store
# ---------------------------------------------------------------------------


_STAMP_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")

class GitStore:
    """Document store on a bare git repository; safe across threads and processes.

    One instance may be shared by all threads of a process: every thread lazily
    gets its own ``git.Repo`` (GitPython is not thread-safe and its persistent
    ``git cat-file`` helpers must not be shared), re-created after ``fork()``.
    Writers never share an index or work tree; branch moves are atomic CAS.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        default_branch: str = "main",
        committer: Signature | None = None,
        auto_gc_every: int = 100,
        lock_patience: float = 1.0,
    ):
        """Open the existing repository at ``path`` (bare repo dir, or a work tree's top).

        ``default_branch`` is the branch :meth:`ping` checks and :meth:`delete_branch`
        refuses to delete; ``committer`` is the store identity written as committer
        (default: the author of each commit). Every ``auto_gc_every`` writes of this
        instance a detached ``git gc --auto`` is started, as git porcelain would do
        (0 disables it). A writer finding the same lock file in its way for
        ``lock_patience`` seconds (git holds a ref lock for milliseconds) gives up with
        :class:`StoreLocked` instead of waiting. Raises :class:`StoreError` if ``path``
        is not a git repository.
        """
        self.path = os.path.abspath(os.fspath(path))
        self.default_branch = validate_branch(default_branch)
        self.committer = committer
        try:
            repo = git.Repo(self.path)
        except (git.exc.GitError, OSError) as exc:
            raise StoreError(f"not a git repository: {self.path}") from exc
        try:
            self.git_dir = os.path.abspath(repo.common_dir)
        finally:
            repo.close()
        self._caches = _caches_for(self.git_dir)
        self._local = threading.local()
        self._repos_lock = threading.Lock()
        self._repos: list[tuple[int, weakref.ref[git.Repo]]] = []
        self._objects_dir = os.path.join(self.git_dir, "objects")
        # reftable (git >= 2.45) has no ref files to read; always ask git then.
        self._fast_refs = not os.path.exists(os.path.join(self.git_dir, "reftable"))
        self._use_merge_tree = _git_version() >= (2, 38)
        self.auto_gc_every = auto_gc_every
        self.lock_patience = float(lock_patience)
        self._writes = 0

    @classmethod
    def open_or_init(cls, path: str | os.PathLike, **kw) -> GitStore:
        """Open the bare repository at ``path``, creating it first if it does not exist.

        Creation is race-free between processes: the repository is initialised in
        a private sibling directory (initial branch = ``default_branch``) and moved
        into place with an atomic ``rename``; the loser of a race discards its copy
        and opens the winner's. Idempotent. Keyword arguments go to the constructor.
        """
        path = os.path.abspath(os.fspath(path))
        branch = validate_branch(kw.get("default_branch", "main"))
        if not _looks_like_git_dir(path):
            parent = os.path.dirname(path)
            tmp = os.path.join(parent, f".{os.path.basename(path)}.init-{uuid.uuid4().hex}")
            try:
                os.makedirs(parent, exist_ok=True)
                git.Git(parent).execute(
                    ["git", "init", "--quiet", "--bare", f"--initial-branch={branch}", tmp]
                )
                try:
                    os.rename(tmp, path)  # replaces only a missing or *empty* directory
                except OSError:
                    if not _looks_like_git_dir(path):
                        raise StoreError(f"cannot create repository at {path}: path is in use") from None
            except (git.exc.GitError, OSError) as exc:
                raise StoreError(f"cannot create repository at {path}: {exc}") from exc
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        return cls(path, **kw)

    # -- plumbing helpers -------------------------------------------------

    def _repo(self) -> git.Repo:
        # One Repo per (thread, process): GitPython objects and their persistent
        # cat-file pipes must never be shared between threads, and a forked child
        # must not talk to its parent's cat-file processes.
        loc = self._local
        pid = os.getpid()
        repo = getattr(loc, "repo", None)
        if repo is None or loc.pid != pid:
            repo = git.Repo(self.git_dir)
            # Explicit GIT_DIR skips repository discovery (and its safe.directory
            # ownership check when the repo is owned by another uid).
            repo.git.update_environment(GIT_DIR=self.git_dir)
            loc.repo, loc.pid = repo, pid
            # Weak references only: when a thread ends, its thread-local Repo is
            # collected and GitPython terminates its cat-file helpers.
            with self._repos_lock:
                self._repos = [(p, r) for p, r in self._repos if p == pid and r() is not None]
                self._repos.append((pid, weakref.ref(repo)))
        return repo

    def _discard_repo(self) -> None:
        repo = getattr(self._local, "repo", None)
        if repo is not None and self._local.pid == os.getpid():
            self._local.repo = None
            with self._repos_lock:
                self._repos = [(p, r) for p, r in self._repos if r() is not repo]
            try:
                repo.close()
            except Exception:
                pass

    def close(self) -> None:
        """Close the ``git.Repo`` handles (and their cat-file helpers) of this process.

        Call at shutdown or in tests when no other thread is using the store; the
        store stays usable afterwards (handles are re-opened lazily).
        """
        pid = os.getpid()
        with self._repos_lock:
            mine = [r() for p, r in self._repos if p == pid]
            self._repos = []
        self._local = threading.local()
        for repo in mine:
            try:
                if repo is not None:
                    repo.close()
            except Exception:
                pass

    def __enter__(self) -> GitStore:
        """Use the store as a context manager; :meth:`close` runs on exit."""
        return self

    def __exit__(self, *exc) -> None:
        """Close this process's repository handles (see :meth:`close`)."""
        self.close()

    def __repr__(self) -> str:
        """Show the repository the store is bound to."""
        return f"GitStore({self.git_dir!r})"

    @contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        # Single choke point that turns GitPython / gitdb / OS errors into
        # StoreError so they never leak to callers.
        try:
            yield
        except StoreError:
            raise
        except _GitFailed as exc:
            if _CORRUPT_ERR_RE.search(exc.stderr):
                m = _SHA_IN_TEXT_RE.search(exc.stderr)
                if m:
                    self._note_damaged(m.group(0), "object")
                raise StoreCorrupt(f"{what}: {exc}", object=m.group(0) if m else None) from exc
            raise StoreError(f"{what}: {exc}") from exc
        except (git.exc.GitError, gitdb.exc.ODBError, OSError, ValueError, EOFError) as exc:
            self._discard_repo()  # the cat-file pipe may be out of sync now
            raise StoreError(f"{what} failed: {exc}") from exc

    def _run(
        self,
        *args: str,
        ok: Sequence[int] = (0,),
        config: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> tuple[int, bytes]:
        cmd = ["git"]
        for c in config:
            cmd += ["-c", c]
        cmd += list(args)
        status, out, err = self._repo().git.execute(
            cmd,
            with_extended_output=True,
            with_exceptions=False,
            stdout_as_string=False,
            strip_newline_in_stdout=False,
            env=env,
        )
        if status not in ok:
            raise _GitFailed(cmd[1 + 2 * len(config) :], status, err if isinstance(err, str) else repr(err))
        return status, out

    def _read_object(self, sha: str, kind: str, *, referenced: bool = True) -> bytes:
        # ``referenced``: the sha was named by a ref or another object, so its absence
        # means damage (StoreCorrupt), not a wrong guess by the caller (NotFound).
        try:
            _, typ, size, data = self._repo().git.get_object_data(sha)
        except ValueError as exc:
            if "missing" not in str(exc):
                raise
            if referenced:
                self._note_damaged(sha, kind)
                raise StoreCorrupt(object=sha, kind=kind) from None
            raise NotFound(f"no such object: {sha}") from None
        if isinstance(typ, bytes):
            typ = typ.decode()
        if len(data) != size:
            # cat-file died half way through inflating it (truncated or damaged
            # file); its pipe is useless now.
            self._discard_repo()
            self._note_damaged(sha, kind)
            raise StoreCorrupt(object=sha, kind=kind)
        if typ != kind:
            raise NotFound(f"{sha} is a {typ}, not a {kind}")
        if len(sha) == 40:
            # Bit rot that still inflates: cheap (hashing runs at ~1 GB/s, once per
            # object and process thanks to the caches) and it keeps wrong content
            # from ever being served as this version.
            h = hashlib.sha1(f"{typ} {size}\0".encode("ascii"))
            h.update(data)
            if h.hexdigest() != sha.lower():
                self._note_damaged(sha, kind)
                raise StoreCorrupt(f"store damaged: {kind} {sha} does not match its hash", object=sha, kind=kind)
        return data

    def _note_damaged(self, sha: str, kind: str, path: str | None = None) -> None:
        damaged = self._caches.damaged
        if sha in damaged or len(damaged) < _MAX_DAMAGED:
            damaged[sha] = f"{kind} {sha}" + (f" ({path})" if path else "")

    def _store_object(self, kind: str, data: bytes) -> str:
        # Equivalent of `git hash-object -w` without spawning a process: a loose
        # object written to a temp file and renamed into place, which is atomic
        # and idempotent, so concurrent writers of one object cannot corrupt it.
        header = f"{kind} {len(data)}\0".encode("ascii")
        h = hashlib.sha1(header)
        h.update(data)
        sha = h.hexdigest()
        obj_dir = os.path.join(self._objects_dir, sha[:2])
        obj_path = os.path.join(obj_dir, sha[2:])
        try:
            # Already there: "freshen" it like git does, so a concurrent
            # `git gc --prune` cannot delete it before our ref points to it.
            os.utime(obj_path)
            return sha
        except FileNotFoundError:
            pass
        except OSError:
            return sha  # exists but owned by someone else; nothing to write
        for attempt in range(5):
            os.makedirs(obj_dir, exist_ok=True)
            try:
                # "tmp_obj_" like git, so `git gc` removes leftovers of crashes.
                fd, tmp = tempfile.mkstemp(prefix="tmp_obj_", dir=obj_dir)
                break
            except FileNotFoundError:
                # A concurrent `git prune-packed` (gc) removed the empty fan-out
                # directory between makedirs and mkstemp: create it again.
                if attempt == 4:
                    raise
        try:
            with os.fdopen(fd, "wb") as fh:
                z = zlib.compressobj()
                fh.write(z.compress(header))
                fh.write(z.compress(data))
                fh.write(z.flush())
            os.chmod(tmp, 0o444)
            os.replace(tmp, obj_path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        return sha

    def _commit_meta(self, commit: str, *, referenced: bool = True) -> tuple[str, tuple[str, ...]]:
        meta = self._caches.commit_tree.get(commit)
        if meta is _MISS:
            raw = self._read_object(commit, "commit", referenced=referenced)
            tree, parents = "", []
            for line in raw.split(b"\n"):
                if not line:
                    break
                if line.startswith(b"tree "):
                    tree = line[5:].decode()
                elif line.startswith(b"parent "):
                    parents.append(line[7:].decode())
            meta = (tree, tuple(parents))
            self._caches.commit_tree.put(commit, meta)
        return meta

    def _tree_entries(self, tree: str) -> dict[str, tuple[str, str]]:
        entries = self._caches.trees.get(tree)
        if entries is _MISS:
            raw = self._read_object(tree, "tree")
            entries = {}
            i, n = 0, len(raw)
            while i < n:  # "<mode> <name>\0<20-byte sha>" repeated
                sp = raw.index(b" ", i)
                nul = raw.index(b"\0", sp)
                name = raw[sp + 1 : nul].decode("utf-8", "surrogateescape")
                mode = raw[i:sp].decode()
                if mode == "040000":  # zero-padded tree mode written by some old tools
                    mode = _TREE_MODE
                entries[name] = (mode, raw[nul + 1 : nul + 21].hex())
                i = nul + 21
            self._caches.trees.put(tree, entries, 1)
        return entries

    def _write_tree(self, entries: Mapping[str, tuple[str, str]]) -> str:
        def sort_key(item: tuple[str, tuple[str, str]]) -> bytes:
            # git orders tree entries bytewise, comparing directories as "name/".
            name, (mode, _) = item
            b = name.encode("utf-8", "surrogateescape")
            return b + b"/" if mode == _TREE_MODE else b

        raw = b"".join(
            mode.encode() + b" " + name.encode("utf-8", "surrogateescape") + b"\0" + bytes.fromhex(sha)
            for name, (mode, sha) in sorted(entries.items(), key=sort_key)
        )
        sha = self._store_object("tree", raw)
        self._caches.trees.put(sha, dict(entries), 1)
        return sha

    def _blob_at(self, commit: str, path: str) -> str:
        key = (commit, path)
        blob = self._caches.blob_at.get(key)
        if blob is _MISS:
            tree, _ = self._commit_meta(commit)
            parts = path.split("/")
            entry = None
            for i, part in enumerate(parts):
                entry = self._tree_entries(tree).get(part)
                if entry is None:
                    raise NotFound(f"{path} not found at {commit[:12]}")
                if i < len(parts) - 1:
                    if entry[0] != _TREE_MODE:
                        raise NotFound(f"{path} not found at {commit[:12]}")
                    tree = entry[1]
            if entry is None or entry[0] not in _FILE_MODES:
                raise NotFound(f"{path} is not a file at {commit[:12]}")
            blob = entry[1]
            self._caches.blob_at.put(key, blob)
        return blob

    def _blob_data(self, blob: str) -> bytes:
        data = self._caches.blobs.get(blob)
        if data is _MISS:
            data = self._read_object(blob, "blob")
            self._caches.blobs.put(blob, data, len(data) + 64)
        return data

    def _flat(self, tree: str) -> _Flat:
        flat = self._caches.flat.get(tree)
        if flat is _MISS:
            entries: dict[str, tuple[str, str]] = {}

            def walk(t: str, prefix: str) -> None:
                for name, (mode, sha) in self._tree_entries(t).items():
                    if mode == _TREE_MODE:
                        walk(sha, prefix + name + "/")
                    elif mode in _FILE_MODES:
                        entries[prefix + name] = (mode, sha)

            walk(tree, "")
            files = tuple(sorted((p, s) for p, (_, s) in entries.items()))
            flat = _Flat(files=files, entries=entries)
            self._caches.flat.put(tree, flat, 1)
        return flat

    def _ref_value(self, refname: str) -> str | None:
        # FAST path: a loose ref is a 41-byte file, written by git via lock file +
        # rename, so reading it is atomic. Never cached: pushes must show up.
        if self._fast_refs:
            raw = None
            try:
                fd = os.open(os.path.join(self.git_dir, refname), os.O_RDONLY)
                try:
                    raw = os.read(fd, 256)
                finally:
                    os.close(fd)
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                # Not a loose ref ("reviews" while "reviews/1" exists is a
                # directory): it can only be in packed-refs, if anywhere.
                return self._packed_refs().get(refname)
            except OSError:
                pass
            if raw is not None and _HEX40_BYTES_RE.match(raw):
                return raw[:40].decode("ascii").lower()
            # symbolic ref, unreadable or odd content: let git resolve it
        return self._ref_value_slow(refname)

    def _ref_value_slow(self, refname: str) -> str | None:
        with self._guard("resolve ref"):
            status, out = self._run("rev-parse", "--verify", "--quiet", refname + "^{commit}", ok=(0, 1))
        return out.decode().strip() if status == 0 else None

    def _packed_refs(self) -> dict[str, str]:
        path = os.path.join(self.git_dir, "packed-refs")
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc}") from exc
        try:
            st = os.fstat(fd)
            ident = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
            cached_ident, refs = self._caches.packed
            if cached_ident == ident:
                return refs
            chunks = []
            while True:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc}") from exc
        finally:
            os.close(fd)
        refs = {}
        for line in b"".join(chunks).decode("utf-8", "replace").splitlines():
            if not line or line[0] in "#^":
                continue  # header or peeled-tag line
            sha, _, name = line.partition(" ")
            if len(sha) == 40:
                refs[name] = sha.lower()
        self._caches.packed = (ident, refs)
        return refs

    def _cas(self, branch: str, new: str, old: str | None, *, delete: bool = False) -> None:
        """Atomically move ``refs/heads/<branch>`` from ``old`` to ``new`` or raise Conflict."""
        ref = "refs/heads/" + branch
        args = ["update-ref", "-d", ref, old or ""] if delete else ["update-ref", ref, new, old or ZERO_SHA]
        if delete and old is None:
            args = ["update-ref", "-d", ref]
        deadline = time.monotonic() + 10.0
        delay = 0.002
        seen: tuple[tuple, float] | None = None  # (lock file identity, when first seen)
        while True:
            try:
                self._run(*args)
                return
            except _GitFailed as exc:
                current = self._ref_value(ref)
                if current != old:
                    raise Conflict(current=current, expected=old) from None
                err = exc.stderr
                if "exists; cannot create" in err or "cannot process" in err:
                    raise InvalidPath(f"branch name {branch!r} clashes with an existing branch") from None
                if "File exists" not in err:
                    raise StoreError(f"cannot update {ref}: {err.strip()}") from None
                # Another writer holds the lock (git already waits core.filesRefLockTimeout)
                # and its outcome decides whether we conflict -- or a crashed process left
                # the lock behind. Live writers hold it for milliseconds and each one makes
                # a new file, so the same file for lock_patience seconds (or one last
                # modified longer ago than that) is stale: say so now, not after 10 s.
                m = _LOCK_ERR_RE.search(err)
                lock_path = m.group(1) if m else os.path.join(self.git_dir, ref + ".lock")
                now = time.monotonic()
                found = self._lock_state(lock_path)
                if found is not None:
                    identity, age = found
                    if seen is None or seen[0] != identity:
                        seen = (identity, now)
                    if age >= self.lock_patience or now - seen[1] >= self.lock_patience or now > deadline:
                        raise StoreLocked(lock_path, age=age, ref=ref) from None
                elif now > deadline:
                    raise StoreLocked(lock_path, ref=ref) from None
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 0.05)

    @staticmethod
    def _lock_state(lock_path: str) -> tuple[tuple, float] | None:
        """(identity, seconds since last modified) of a lock file, None when it is gone."""
        try:
            st = os.stat(lock_path)
        except OSError:
            return None
        identity = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        return identity, max(0.0, time.time() - st.st_mtime)

    def _changes_to_tree(
        self, base_tree: str | None, changes: Mapping[tuple[str, ...], tuple[str | None, str] | None]
    ) -> str:
        tree = self._apply(base_tree, changes, ())
        if tree is None:
            return self._write_tree({})
        return tree

    def _apply(
        self,
        tree: str | None,
        changes: Mapping[tuple[str, ...], tuple[str | None, str] | None],
        prefix: tuple[str, ...],
    ) -> str | None:
        # Rebuild only the trees on the changed paths; untouched subtrees are
        # reused by sha. Returns None when the resulting tree is empty (git does
        # not store empty directories).
        original = self._tree_entries(tree) if tree else {}
        entries = dict(original)
        direct: dict[str, tuple[str | None, str] | None] = {}
        nested: dict[str, dict[tuple[str, ...], tuple[str | None, str] | None]] = {}
        for parts, value in changes.items():
            if len(parts) == 1:
                direct[parts[0]] = value
            else:
                nested.setdefault(parts[0], {})[parts[1:]] = value

        def shown(name: str) -> str:
            return "/".join(prefix + (name,))

        for name, value in direct.items():
            cur = entries.get(name)
            if value is None:
                if cur is None:
                    continue  # deleting a missing file is a no-op
                if cur[0] == _TREE_MODE and name not in nested:
                    raise InvalidPath(f"{shown(name)} is a directory")
                if cur[0] != _TREE_MODE:
                    del entries[name]
                continue
            if name in nested:
                raise InvalidPath(f"{shown(name)} cannot be both a file and a directory")
            if cur is not None and cur[0] == _TREE_MODE:
                raise InvalidPath(f"{shown(name)} is a directory")
            mode, sha = value
            if mode is None:  # keep e.g. the executable bit of an existing file
                mode = cur[0] if cur is not None and cur[0] in _FILE_MODES else _DEFAULT_FILE_MODE
            entries[name] = (mode, sha)

        for name, sub in nested.items():
            cur = entries.get(name)
            if cur is not None and cur[0] != _TREE_MODE:
                raise InvalidPath(f"{shown(name)} is a file")
            new_sub = self._apply(cur[1] if cur else None, sub, prefix + (name,))
            if new_sub is None:
                entries.pop(name, None)
            else:
                entries[name] = (_TREE_MODE, new_sub)

        if not entries:
            return None
        if entries == original:
            return tree
        return self._write_tree(entries)

    def _write_commit(
        self,
        tree: str,
        parents: Sequence[str],
        author: Signature,
        message: str,
    ) -> str:
        now = int(time.time())
        author_line = _sig_line(author, now)
        committer_line = _sig_line(self.committer, now) if self.committer else author_line
        head = [f"tree {tree}"] + [f"parent {p}" for p in parents]
        head += [f"author {author_line}", f"committer {committer_line}"]
        raw = ("\n".join(head) + "\n\n" + message).encode("utf-8")
        sha = self._store_object("commit", raw)
        self._caches.commit_tree.put(sha, (tree, tuple(parents)))
        return sha

    # -- public API: reading ----------------------------------------------

    def ping(self) -> bool:
        """Return True when the repository is reachable and its refs are readable.

        Cheap enough for a ``/healthz`` probe (no git process is spawned in the
        normal case); never raises.
        """
        try:
            if not (
                os.path.isfile(os.path.join(self.git_dir, "HEAD"))
                and os.path.isdir(os.path.join(self.git_dir, "objects"))
            ):
                return False
            self.head(self.default_branch)
            return True
        except Exception:
            return False

    def head(self, branch: str = "main") -> str | None:
        """Return the commit sha ``branch`` currently points to, or None if it does not exist.

        FAST: reads ``refs/heads/<branch>`` or ``packed-refs`` straight from disk
        (falls back to ``git rev-parse`` for symbolic refs / reftable). The value
        is never cached, so commits pushed with plain git are seen immediately.
        """
        return self._ref_value("refs/heads/" + validate_branch(branch))

    # -- change stamps -----------------------------------------------------

    def stamp(self, name: str) -> str:
        """The current value of change stamp ``name`` (``""`` before its first :meth:`bump_stamp`).

        Change stamps are small files beside the repository (``<git dir>/procdesk-stamps/``),
        shared by every process and host that shares the store: a per-process cache of
        anything (not only git data) keys itself by a stamp and drops its copies when the
        value moves. FAST: one read of a small file, never cached.
        """
        try:
            fd = os.open(self._stamp_path(name), os.O_RDONLY)
        except FileNotFoundError:
            return ""
        except OSError as exc:
            raise StoreError(f"cannot read stamp {name}: {exc}") from exc
        try:
            return os.read(fd, 128).decode("ascii", "replace").strip()
        finally:
            os.close(fd)

    def bump_stamp(self, name: str) -> str:
        """Give change stamp ``name`` a new unique value (written to a temporary file, then
        renamed over the old one, so a reader sees the old or the new value, never half)."""
        path = self._stamp_path(name)
        value = uuid.uuid4().hex
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=f".{name}.")
            try:
                os.write(fd, value.encode("ascii"))
            finally:
                os.close(fd)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except OSError as exc:
            raise StoreError(f"cannot write stamp {name}: {exc}") from exc
        return value

    def _stamp_path(self, name: str) -> str:
        if not isinstance(name, str) or not _STAMP_NAME_RE.match(name):
            raise InvalidPath(f"bad stamp name: {name!r}")
        return os.path.join(self.git_dir, "procdesk-stamps", name)

    def resolve(self, rev: str) -> str:
        """Resolve a validated revision (sha, short sha, branch, tag, ``HEAD``) to a full commit sha.

        Full 40-hex shas are checked to exist and be commits; branch names use the
        fast ref reader; anything else is handed to ``git rev-parse --verify``.
        Raises :class:`InvalidPath` for unacceptable input, :class:`NotFound` if
        nothing matches.
        """
        rev = validate_rev(rev)
        with self._guard("resolve"):
            if _HEX40_RE.match(rev):
                sha = rev.lower()
                self._commit_meta(sha, referenced=False)  # NotFound unless it is an existing commit
                return sha
            if rev.startswith("refs/heads/"):
                sha = self._ref_value(rev)
            elif not rev.startswith("refs/") and _BRANCH_RE.match(rev) and rev != "HEAD":
                sha = self._ref_value("refs/heads/" + rev)
            else:
                sha = None
            if sha is not None:
                return sha
            status, out = self._run(
                "rev-parse", "--verify", "--quiet", "--end-of-options", rev + "^{commit}", ok=(0, 1, 128)
            )
            if status != 0:
                raise NotFound(f"unknown revision: {rev}")
            return out.decode().strip()

    def read(self, path: str, rev: str = "main") -> FileVersion:
        """Return the content of ``path`` at ``rev`` (raises :class:`NotFound` if missing).

        ``FileVersion.commit`` is the commit ``rev`` resolved to (not the commit
        that last changed the file). With a warm cache this costs one ref-file
        read plus two dictionary look-ups; no git process is involved.
        """
        path = validate_path(path)
        commit = self.resolve(rev)
        with self._guard("read"):
            blob = self._blob_at(commit, path)
            try:
                data = self._blob_data(blob)
            except StoreCorrupt as exc:
                self._note_damaged(blob, "blob", path)
                raise StoreCorrupt(object=blob, kind="blob", path=path) from exc
            return FileVersion(path=path, commit=commit, blob=blob, data=data)

    def blob_sha(self, path: str, rev: str = "main") -> str:
        """Return the blob sha of ``path`` at ``rev`` without loading its content.

        Useful as a cheap ETag or to detect whether two revisions differ for a file.
        Raises :class:`NotFound` when the file does not exist at ``rev``.
        """
        path = validate_path(path)
        commit = self.resolve(rev)
        with self._guard("blob_sha"):
            return self._blob_at(commit, path)

    def list_files(self, rev: str = "main", prefix: str = "", suffix: str = "") -> list[tuple[str, str]]:
        """Return ``(path, blob sha)`` of every file at ``rev``, sorted by path.

        ``prefix`` / ``suffix`` are plain string filters on the full path (e.g.
        ``prefix="procedures/"``, ``suffix=".md"``). The complete listing is
        cached per root tree sha, so repeated calls on an unchanged branch cost
        one ref read plus a filter pass.
        """
        if not isinstance(prefix, str) or not isinstance(suffix, str):
            raise InvalidArgument("prefix and suffix must be strings")
        commit = self.resolve(rev)
        with self._guard("list_files"):
            tree, _ = self._commit_meta(commit)
            files = self._flat(tree).files
        if not prefix and not suffix:
            return list(files)
        return [(p, s) for p, s in files if p.startswith(prefix) and p.endswith(suffix)]

    _LOG_FORMAT = "%H%x00%P%x00%an%x00%ae%x00%at%x00%ct%x00%B"
    _LOG_FIELDS = 7

    def history(
        self,
        path: str | None = None,
        rev: str = "main",
        limit: int | None = None,
        *,
        first_parent: bool = False,
    ) -> list[CommitInfo]:
        """Return the commits reachable from ``rev``, newest first, optionally limited to ``path``.

        Implemented as ONE ``git log -z`` call with a custom format, parsed in
        Python, and cached by (head sha, path, limit, first_parent). A path-limited
        history uses git's default history simplification (commits that changed the
        path); pass ``first_parent=True`` to list only the commits of the branch
        itself, i.e. the merge commits of reviews instead of the review's drafts.
        """
        if path is not None:
            path = validate_path(path)
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
            raise InvalidArgument(f"invalid limit: {limit!r}")
        head = self.resolve(rev)
        key = (head, path, limit, bool(first_parent))
        cached = self._caches.history.get(key)
        if cached is not _MISS:
            return list(cached)
        args = ["log", "-z", "--format=" + self._LOG_FORMAT]
        if limit is not None:
            args.append(f"--max-count={limit}")
        if first_parent:
            args.append("--first-parent")
        args.append(head)
        if path is not None:
            args += ["--", path]
        with self._guard("history"):
            _, out = self._run(
                "--literal-pathspecs",
                *args,
                # Repository/user config must not change the output we parse.
                config=("log.follow=false", "log.showSignature=false", "i18n.logOutputEncoding=UTF-8"),
            )
            result = tuple(self._parse_log(out))
        self._caches.history.put(key, result, len(result) + 1)
        return list(result)

    def _parse_log(self, out: bytes) -> Iterator[CommitInfo]:
        fields = out.split(b"\0")
        if fields and fields[-1] == b"":
            fields.pop()  # terminator of the last record
        n = self._LOG_FIELDS
        if len(fields) % n:
            raise StoreError("unexpected git log output (NUL in a commit message?)")
        utc = UTC
        for i in range(0, len(fields), n):
            sha, parents, an, ae, at, ct, msg = fields[i : i + n]
            sha_s = sha.decode("ascii", "replace").strip()
            if not _HEX40_RE.match(sha_s):
                raise StoreError("unexpected git log output")
            summary, body, trailers = _split_message(msg.decode("utf-8", "replace"))
            yield CommitInfo(
                sha=sha_s,
                parents=tuple(parents.decode().split()),
                author=Signature(an.decode("utf-8", "replace"), ae.decode("utf-8", "replace")),
                authored_at=datetime.fromtimestamp(int(at), utc),
                committed_at=datetime.fromtimestamp(int(ct), utc),
                summary=summary,
                body=body,
                trailers=trailers,
            )

    def diff_paths(self, rev_a: str, rev_b: str) -> list[tuple[str, str]]:
        """Return ``(status, path)`` for every file that differs from ``rev_a`` to ``rev_b``.

        Status is ``A`` (only in b), ``D`` (only in a) or ``M`` (content or mode
        changed); renames are reported as D + A. Sorted by path. Computed from the
        cached flat listings of both trees, so no git process is spawned when warm.
        """
        a, b = self.resolve(rev_a), self.resolve(rev_b)
        with self._guard("diff_paths"):
            ea = self._flat(self._commit_meta(a)[0]).entries
            eb = self._flat(self._commit_meta(b)[0]).entries
        out = []
        for p in sorted(ea.keys() | eb.keys()):
            x, y = ea.get(p), eb.get(p)
            if x == y:
                continue
            out.append(("A" if x is None else "D" if y is None else "M", p))
        return out

    def grep(
        self,
        pattern: str,
        rev: str = "main",
        *,
        fixed: bool = True,
        ignore_case: bool = True,
        paths: Sequence[str] = (),
    ) -> list[GrepHit]:
        """Search file contents at ``rev`` with ``git grep`` (works on the bare repo).

        ``fixed=True`` matches a literal string, otherwise ``pattern`` is a POSIX
        extended regex (invalid ones raise :class:`InvalidArgument`). ``paths``
        restricts the search to files/directories (literal, no globbing). Binary
        files are skipped; matching is bytewise, so UTF-8 (e.g. Chinese) works.
        Results are cached per (tree sha, query).
        """
        if not isinstance(pattern, str) or not pattern or len(pattern) > 1000 or _CTRL_RE.search(pattern):
            raise InvalidArgument("invalid search pattern")
        if isinstance(paths, str):
            paths = (paths,)
        paths = tuple(validate_path(p) for p in paths)
        commit = self.resolve(rev)
        with self._guard("grep"):
            tree, _ = self._commit_meta(commit)
            key = (tree, pattern, bool(fixed), bool(ignore_case), paths)
            cached = self._caches.grep.get(key)
            if cached is not _MISS:
                return list(cached)
            args = ["--literal-pathspecs", "grep", "-z", "-n", "-I", "--no-color"]
            args.append("-F" if fixed else "-E")
            if ignore_case:
                args.append("-i")
            args += ["-e", pattern, tree, "--", *paths]
            try:
                # GitPython forces LC_ALL=C, under which regex "." and -i work
                # on bytes; a UTF-8 locale makes them character-aware (Chinese).
                status, out = self._run(*args, ok=(0, 1), env=_UTF8_ENV)
            except _GitFailed as exc:
                if not fixed and exc.status == 128 and not _CORRUPT_ERR_RE.search(exc.stderr):
                    raise InvalidArgument(f"invalid regular expression: {pattern!r}") from None
                raise
        hits: list[GrepHit] = []
        if status == 0:
            strip = len(tree) + 1  # output paths are "<tree>:<path>"
            for m in re.finditer(rb"([^\0]*)\0(\d+)\0([^\n]*)\n", out):
                hits.append(
                    GrepHit(
                        path=m.group(1)[strip:].decode("utf-8", "replace"),
                        line_no=int(m.group(2)),
                        line=m.group(3).decode("utf-8", "replace").rstrip("\r"),
                    )
                )
        result = tuple(hits)
        self._caches.grep.put(key, result, len(result) + 1)
        return list(result)

    # -- public API: writing ----------------------------------------------

    def commit(
        self,
        changes: Mapping[str, bytes | str | None],
        *,
        summary: str,
        author: Signature,
        base: str | None,
        branch: str = "main",
        body: str = "",
        trailers: Iterable[tuple[str, str]] = (),
    ) -> str:
        """Commit ``changes`` on top of ``base`` and move ``branch`` there atomically.

        ``changes`` maps paths to new content (``str`` is UTF-8 encoded) or to
        ``None`` to delete the file (deleting a missing file is a no-op).
        ``base`` must be the branch head the caller started from (40-hex sha), or
        ``None`` meaning "the branch must not exist yet". Raises :class:`Conflict`
        (with ``current``) when the branch is elsewhere - nothing is overwritten;
        :class:`NothingToCommit` when the tree would not change. Returns the new
        commit sha. The message is ``summary``, ``body`` and git ``trailers``.
        """
        branch = validate_branch(branch)
        base = _validate_sha(base, "base") if base is not None else None
        if not isinstance(changes, Mapping):
            raise InvalidArgument("changes must be a mapping of path -> content")
        normalized: dict[str, bytes | None] = {}
        for p, v in changes.items():
            p = validate_path(p)
            if v is None:
                normalized[p] = None
            elif isinstance(v, str):
                normalized[p] = v.encode("utf-8")
            elif isinstance(v, (bytes, bytearray, memoryview)):
                normalized[p] = bytes(v)
            else:
                raise InvalidArgument(f"content of {p} must be bytes, str or None")
        if not normalized:
            raise NothingToCommit("no changes given")
        message = _build_message(summary, body, trailers)
        _sig_line(author, 0)  # validate before writing any object

        with self._guard("commit"):
            current = self.head(branch)
            if current != base:  # cheap early exit; the CAS below is authoritative
                raise Conflict(current=current, expected=base)
            base_tree = self._commit_meta(base)[0] if base else None
            tree_changes: dict[tuple[str, ...], tuple[str | None, str] | None] = {}
            for p, data in normalized.items():
                tree_changes[tuple(p.split("/"))] = (
                    None if data is None else (None, self._store_object("blob", data))
                )
            tree = self._changes_to_tree(base_tree, tree_changes)
            if tree == (base_tree or EMPTY_TREE):
                raise NothingToCommit("the change does not modify any file")
            sha = self._write_commit(tree, [base] if base else [], author, message)
            self._cas(branch, sha, base)
        self._after_write()
        return sha

    def create_branch(self, name: str, start: str = "main") -> str:
        """Create branch ``name`` at revision ``start`` and return its commit sha.

        Raises :class:`Conflict` (``current`` = its head) if the branch already
        exists, :class:`NotFound` if ``start`` does not resolve.
        """
        name = validate_branch(name)
        sha = self.resolve(start)
        with self._guard("create_branch"):
            self._cas(name, sha, None)
        return sha

    def delete_branch(self, name: str, expected: str | None = None) -> None:
        """Delete branch ``name``; if ``expected`` is given only while it still points there.

        Raises :class:`NotFound` if the branch does not exist, :class:`Conflict`
        if it moved away from ``expected``, and :class:`InvalidArgument` for the
        store's default branch (which is never deleted through this API).
        """
        name = validate_branch(name)
        if name == self.default_branch:
            raise InvalidArgument(f"refusing to delete the default branch {name!r}")
        expected = _validate_sha(expected, "expected") if expected is not None else None
        with self._guard("delete_branch"):
            current = self.head(name)
            if current is None:
                raise NotFound(f"no such branch: {name}")
            if expected is not None and current != expected:
                raise Conflict(current=current, expected=expected)
            self._cas(name, ZERO_SHA, expected or current, delete=True)

    def branches(self, prefix: str = "") -> list[str]:
        """Return the sorted short names of all branches starting with ``prefix``.

        E.g. ``branches("reviews/")`` lists open review branches. Uses
        ``git for-each-ref`` so loose and packed refs are both seen.
        """
        if not isinstance(prefix, str):
            raise InvalidArgument("prefix must be a string")
        with self._guard("branches"):
            _, out = self._run("for-each-ref", "--format=%(refname)", "refs/heads/")
        names = [line[len("refs/heads/") :] for line in out.decode("utf-8", "replace").splitlines() if line]
        return sorted(n for n in names if n.startswith(prefix))

    def merge(
        self,
        source_branch: str,
        *,
        into: str = "main",
        author: Signature,
        summary: str,
        body: str = "",
        trailers: Iterable[tuple[str, str]] = (),
        base: str | None = None,
    ) -> str:
        """Three-way merge ``source_branch`` into ``into`` with a two-parent merge commit.

        A merge commit is always created (never a fast-forward), so the publish
        and its trailers stay visible on ``into``. Uses ``git merge-tree
        --write-tree`` (git >= 2.38) or a per-file ``git merge-file`` fallback.
        Raises :class:`MergeConflict` (``.paths``) on content conflicts,
        :class:`NothingToCommit` if the source is already merged, and
        :class:`Conflict` if ``into`` is not at ``base`` (default: the head read at
        the start). Returns the merge commit sha; the source branch is kept.
        """
        source_branch = validate_branch(source_branch)
        into = validate_branch(into)
        base = _validate_sha(base, "base") if base is not None else None
        message = _build_message(summary, body, trailers)
        _sig_line(author, 0)
        with self._guard("merge"):
            ours = self.head(into)
            if ours is None:
                raise NotFound(f"no such branch: {into}")
            if base is not None and ours != base:
                raise Conflict(current=ours, expected=base)
            theirs = self.head(source_branch)
            if theirs is None:
                raise NotFound(f"no such branch: {source_branch}")
            status, _ = self._run("merge-base", "--is-ancestor", theirs, ours, ok=(0, 1))
            if status == 0:
                raise NothingToCommit(f"{source_branch} is already merged into {into}")
            if self._use_merge_tree:
                tree, conflicts = self._merge_tree(ours, theirs)
            else:
                tree, conflicts = self._merge_fallback(ours, theirs)
            if conflicts:
                raise MergeConflict(conflicts, current=ours, expected=ours)
            sha = self._write_commit(tree, [ours, theirs], author, message)
            self._cas(into, sha, ours)
        self._after_write()
        return sha

    def _merge_tree(self, ours: str, theirs: str) -> tuple[str, list[str]]:
        status, out = self._run(
            "merge-tree", "--write-tree", "--no-messages", "--name-only", "-z", ours, theirs, ok=(0, 1)
        )
        fields = out.split(b"\0")
        tree = fields[0].decode().strip()
        if not _HEX40_RE.match(tree):
            raise StoreError("unexpected git merge-tree output")
        conflicts = list(dict.fromkeys(f.decode("utf-8", "replace") for f in fields[1:] if f))
        if status == 1 and not conflicts:
            conflicts = ["<unknown>"]
        return tree, conflicts

    def _merge_fallback(self, ours: str, theirs: str) -> tuple[str, list[str]]:
        # Per-file three-way merge for git < 2.38 (no `merge-tree --write-tree`).
        status, out = self._run("merge-base", ours, theirs, ok=(0, 1))
        if status != 0:
            raise StoreError("branches have no common ancestor")
        mb = out.decode().split()[0]
        flat_b = self._flat(self._commit_meta(mb)[0]).entries
        ours_tree = self._commit_meta(ours)[0]
        flat_o = self._flat(ours_tree).entries
        flat_t = self._flat(self._commit_meta(theirs)[0]).entries
        changes: dict[tuple[str, ...], tuple[str | None, str] | None] = {}
        conflicts: list[str] = []
        for p in sorted(flat_b.keys() | flat_o.keys() | flat_t.keys()):
            b, o, t = flat_b.get(p), flat_o.get(p), flat_t.get(p)
            if o == t or t == b:
                continue  # ours already has the result
            if o == b:
                changes[tuple(p.split("/"))] = t  # only theirs changed (maybe deleted)
                continue
            if o is None or t is None:
                conflicts.append(p)  # modify/delete
                continue
            if o[0] == t[0]:
                mode = o[0]
            elif b is not None and o[0] == b[0]:
                mode = t[0]
            elif b is not None and t[0] == b[0]:
                mode = o[0]
            else:
                conflicts.append(p)
                continue
            if o[1] == t[1]:
                changes[tuple(p.split("/"))] = (mode, o[1])
                continue
            merged = self._merge_file(b[1] if b else None, o[1], t[1])
            if merged is None:
                conflicts.append(p)
            else:
                changes[tuple(p.split("/"))] = (mode, self._store_object("blob", merged))
        if conflicts:
            return "", conflicts
        try:
            return self._changes_to_tree(ours_tree, changes), []
        except InvalidPath as exc:  # file/directory clash
            return "", [str(exc)]

    def _merge_file(self, base: str | None, ours: str, theirs: str) -> bytes | None:
        with tempfile.TemporaryDirectory(prefix="procdesk-merge-") as tmp:
            names = []
            for label, sha in (("ours", ours), ("base", base), ("theirs", theirs)):
                fn = os.path.join(tmp, label)
                with open(fn, "wb") as fh:
                    fh.write(self._blob_data(sha) if sha else b"")
                names.append(fn)
            status, out = self._run(
                "merge-file",
                "-p",
                "--quiet",
                "-L",
                "ours",
                "-L",
                "base",
                "-L",
                "theirs",
                *names,
                ok=range(0, 256),
            )
        return out if status == 0 else None

    # -- maintenance ---------------------------------------------------------

    def _after_write(self) -> None:
        # Every commit leaves a handful of loose objects, and path-limited
        # `git log` over thousands of loose objects is several times slower than
        # over a pack. Git porcelain runs `gc --auto` after commits; we do the
        # same, with a lower threshold. gc takes its own lock (concurrent runs
        # just skip) and detaches, so the publishing request does not wait.
        self._writes += 1
        if self.auto_gc_every and self._writes % self.auto_gc_every == 0:
            try:
                with self._guard("auto gc"):
                    self._run("gc", "--auto", "--quiet", config=("gc.auto=1000", "gc.autoDetach=true"))
            except StoreError:
                pass  # housekeeping must never fail a publish

    def lock_files(self, older_than: float = 0.0) -> list[LockFile]:
        """Return git's lock files in the repository last modified at least ``older_than`` seconds ago.

        Looks at ``refs/`` (every ref lock), the top of the git dir (``HEAD.lock``,
        ``packed-refs.lock``, ``index.lock``, ``config.lock``, ...) and
        ``objects/info/`` (commit-graph locks): a few ``stat`` calls, cheap enough
        for a health check. Sorted oldest first.
        """
        found: list[LockFile] = []
        now = time.time()

        def consider(path: str) -> None:
            try:
                st = os.stat(path)
            except OSError:
                return  # released meanwhile
            age = max(0.0, now - st.st_mtime)
            if age >= older_than:
                identity = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
                name = os.path.relpath(path, self.git_dir).replace(os.sep, "/")
                found.append(LockFile(path=path, name=name, age=age, identity=identity))

        def scan(directory: str, recursive: bool) -> None:
            try:
                entries = list(os.scandir(directory))
            except OSError:
                return
            for entry in entries:
                if entry.name.endswith(".lock"):
                    consider(entry.path)
                elif recursive and entry.is_dir(follow_symlinks=False):
                    scan(entry.path, True)

        scan(self.git_dir, False)
        scan(os.path.join(self.git_dir, "refs"), True)
        scan(os.path.join(self._objects_dir, "info"), True)
        return sorted(found, key=lambda lock: (-lock.age, lock.name))

    def clear_stale_locks(self, older_than: float) -> tuple[list[LockFile], list[LockFile]]:
        """Remove lock files last modified at least ``older_than`` seconds ago; return (removed, kept).

        ``kept`` lists the younger lock files, which are left alone: a writer may
        hold them. ``older_than`` below :data:`MIN_STALE_SECONDS` is refused with
        :class:`InvalidArgument`. A lock file that changed since it was looked at
        (released and taken again) is kept.
        """
        if not isinstance(older_than, int | float) or older_than < MIN_STALE_SECONDS:
            raise InvalidArgument(f"a lock younger than {MIN_STALE_SECONDS:.0f} s may belong to a live writer")
        removed, kept = [], []
        for lock in self.lock_files():
            if lock.age < older_than:
                kept.append(lock)
                continue
            state = self._lock_state(lock.path)
            if state is None or state[0] != lock.identity:
                continue  # released (and maybe taken again) since it was listed
            try:
                os.unlink(lock.path)
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise StoreError(f"cannot remove {lock.path}: {exc}") from exc
            removed.append(lock)
        return removed, kept

    def fsck(self) -> FsckResult:
        """Check every object and its connectivity with ``git fsck --full`` (slow on big stores).

        ``ok`` is git's verdict (exit status 0); ``problems`` are the lines naming
        missing, corrupt or broken objects; ``output`` is everything git printed.
        Dangling objects are normal (abandoned drafts) and not reported.
        """
        try:
            proc = subprocess.run(
                ["git", "--git-dir", self.git_dir, "fsck", "--full", "--no-dangling", "--no-progress"],
                capture_output=True, env={**os.environ, "LC_ALL": "C"}, check=False,
            )
        except OSError as exc:
            raise StoreError(f"cannot run git fsck: {exc}") from exc
        output = (proc.stdout + proc.stderr).decode("utf-8", "replace")
        problems = tuple(
            line.strip() for line in output.splitlines()
            if line.strip() and not line.lower().startswith(("warning", "checking", "notice", "dangling"))
        )
        ok = proc.returncode == 0
        if not ok and not problems:
            problems = (f"git fsck exited with status {proc.returncode}",)
        return FsckResult(ok=ok, problems=problems if not ok else (), output=output)

    def health(self, *, lock_age: float | None = None, verify_seconds: float = 30.0) -> StoreHealth:
        """Cheap check for a ``/healthz`` probe: reachable, not locked, head objects readable.

        Locked: a lock file older than ``lock_age`` (default: ``lock_patience``, the
        time after which writers give up). Corrupt: an object of the default branch's
        head (commit, trees, blobs -- one ``git cat-file --batch-check``, which sees
        deleted and unreadable objects but not damage deep inside a file) is missing,
        or an object this process failed to read is still unreadable. The object
        check is repeated at most every ``verify_seconds`` per process unless the head
        moves. Full verification is :meth:`fsck`'s job. Never raises.
        """
        try:
            if not self.ping():
                return StoreHealth("unreachable")
            head = self.head(self.default_branch)
            locks = tuple(self.lock_files(self.lock_patience if lock_age is None else lock_age))
            damaged = self._damaged_objects(head, verify_seconds)
        except Exception:  # the probe reports, it never fails
            return StoreHealth("unreachable")
        if damaged:
            return StoreHealth("corrupt", locks=locks, damaged=damaged)
        if locks:
            return StoreHealth("locked", locks=locks)
        return StoreHealth("ok")

    def _damaged_objects(self, head: str | None, verify_seconds: float) -> tuple[str, ...]:
        caches = self._caches
        checked_head, checked_at, problems = caches.verified
        now = time.monotonic()
        if checked_head != head or now - checked_at >= verify_seconds:
            problems = self._check_head_objects(head) if head else ()
            # Objects this process failed to read: forget those readable again (repaired).
            for sha in list(caches.damaged)[:16]:
                if self._object_readable(sha):
                    caches.damaged.pop(sha, None)
            caches.verified = (head, now, problems)
        return tuple(dict.fromkeys((*problems, *caches.damaged.values())))

    def _check_head_objects(self, head: str) -> tuple[str, ...]:
        names: dict[str, str] = {head: f"commit {head}"}
        problems: list[str] = []
        try:
            with self._guard("health"):
                root, _ = self._commit_meta(head)
                stack = [(root, "")]
                while stack:
                    tree, prefix = stack.pop()
                    names.setdefault(tree, f"tree {tree}" + (f" ({prefix.rstrip('/')})" if prefix else ""))
                    try:
                        entries = self._tree_entries(tree)
                    except StoreCorrupt:
                        problems.append(names[tree])
                        continue
                    for name, (mode, sha) in entries.items():
                        if mode == _TREE_MODE:
                            stack.append((sha, prefix + name + "/"))
                        elif mode in _FILE_MODES:
                            names.setdefault(sha, f"blob {sha} ({prefix}{name})")
        except StoreCorrupt:
            problems.append(names[head])
        try:
            proc = subprocess.run(
                ["git", "--git-dir", self.git_dir, "cat-file", "--batch-check", "--buffer"],
                input="".join(sha + "\n" for sha in names).encode("ascii"),
                capture_output=True, env={**os.environ, "LC_ALL": "C"},
                timeout=60, check=False,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise StoreError(f"cannot run git cat-file: {exc}") from exc
        if proc.returncode != 0:
            raise StoreError(f"git cat-file --batch-check exited {proc.returncode}")
        for line in proc.stdout.decode("ascii", "replace").splitlines():
            sha, _, rest = line.partition(" ")
            if rest.strip() == "missing" and sha in names:
                problems.append(names[sha])
        return tuple(dict.fromkeys(problems))

    def _object_readable(self, sha: str) -> bool:
        # A fresh `git cat-file --batch` (git dies on a damaged object) and the hash check.
        if not _HEX40_RE.match(sha):
            return False
        try:
            proc = subprocess.run(
                ["git", "--git-dir", self.git_dir, "cat-file", "--batch"], input=(sha + "\n").encode("ascii"),
                capture_output=True, env={**os.environ, "LC_ALL": "C"}, timeout=30, check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return False
        header, _, rest = proc.stdout.partition(b"\n")
        parts = header.split()
        if proc.returncode != 0 or len(parts) != 3 or not parts[2].isdigit():
            return False
        size = int(parts[2])
        data = rest[:size]
        h = hashlib.sha1(parts[1] + b" " + parts[2] + b"\0")
        h.update(data)
        return len(data) == size and h.hexdigest() == sha.lower()

    def maintenance(self) -> None:
        """Pack loose objects and refresh the commit-graph; run it periodically (e.g. nightly).

        Runs ``git repack -d`` (packs reachable loose objects incrementally),
        ``git gc --auto`` (consolidates packs, prunes old garbage) and writes a
        commit-graph with changed-path Bloom filters, which keeps path-limited
        :meth:`history` fast. Synchronous; safe while the application is serving.
        """
        with self._guard("maintenance"):
            self._run("repack", "-d", "-q")
            self._run("gc", "--auto", "--quiet", config=("gc.autoDetach=false",))
            self._run("commit-graph", "write", "--reachable", "--changed-paths")


def _looks_like_git_dir(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "HEAD")) and os.path.isdir(os.path.join(path, "objects"))
