"""The store's value types, constants and input validation (no git here).

Everything a caller passes in is checked by the ``validate_*`` functions before it
gets near git; everything handed back is one of the frozen dataclasses below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from .errors import InvalidArgument, InvalidPath

__all__ = [
    "ZERO_SHA",
    "EMPTY_TREE",
    "Signature",
    "FileVersion",
    "FileChange",
    "CommitInfo",
    "GrepHit",
    "LockFile",
    "StoreHealth",
    "FsckResult",
    "MaintenanceReport",
    "validate_path",
    "validate_rev",
    "validate_branch",
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


class FileChange(NamedTuple):
    """One file a commit changed: ``status`` ``A``, ``M`` or ``D``; ``blob`` is the new content (None for ``D``)."""

    status: str
    path: str
    blob: str | None


@dataclass(frozen=True)
class MaintenanceReport:
    """What :meth:`GitStore.maintenance` did and found.

    ``removed``: stale lock files deleted; ``stuck``: lock files older than a writer ever
    holds one but too young to delete safely; ``fsck``: git's verdict on every object;
    ``packed``: whether the store was packed (never when fsck found damage), ``pack_error``
    why packing failed.
    """

    removed: tuple[LockFile, ...]
    stuck: tuple[LockFile, ...]
    fsck: FsckResult
    packed: bool
    pack_error: str | None = None

    @property
    def ok(self) -> bool:
        """True when nothing needs a person: no stuck lock, no damage, packing did not fail."""
        return not self.stuck and self.fsck.ok and self.pack_error is None
