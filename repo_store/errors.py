"""Exceptions raised by :mod:`repo_store`.

Every failure of the git store surfaces as a subclass of :class:`StoreError`, so
callers never have to know about GitPython / gitdb exception types (and the web
layer can map them to HTTP statuses in one place).
"""

from __future__ import annotations

__all__ = [
    "StoreError",
    "NotFound",
    "Conflict",
    "MergeConflict",
    "InvalidArgument",
    "InvalidPath",
    "NothingToCommit",
    "StoreLocked",
    "StoreCorrupt",
]


class StoreError(Exception):
    """Base class of every error raised by the document store.

    Raised directly for infrastructure problems (repository missing or corrupt, a
    git command failing unexpectedly); more specific situations use the subclasses
    below so callers can react to them (404, 409, 400, ...).
    """


class NotFound(StoreError, LookupError):
    """A path, revision, branch or object does not exist.

    Also a :class:`LookupError` so generic "missing key" handling works.
    """


class Conflict(StoreError):
    """A compare-and-swap ref update lost the race: the branch is not at ``expected``.

    ``current`` is the branch head observed when the update was refused (``None``
    when the branch does not exist) and ``expected`` the base the caller worked on
    (``None`` meaning "the branch must not exist yet"). The usual reaction is to
    reload ``current``, re-apply the change on top of it and retry.
    """

    def __init__(self, message: str = "", *, current: str | None = None, expected: str | None = None):
        self.current = current
        self.expected = expected
        if not message:
            message = f"branch moved: expected {expected or '<absent>'}, found {current or '<absent>'}"
        super().__init__(message)


class MergeConflict(Conflict):
    """A three-way merge hit content conflicts; ``paths`` lists the conflicting files.

    It subclasses :class:`Conflict` because nothing was written, but unlike a stale
    base it does NOT go away by retrying: catch it before ``Conflict``.
    """

    def __init__(
        self,
        paths: tuple[str, ...] | list[str],
        *,
        current: str | None = None,
        expected: str | None = None,
    ):
        self.paths = tuple(paths)
        super().__init__(
            "merge conflict in: " + ", ".join(self.paths),
            current=current,
            expected=expected,
        )


class InvalidArgument(StoreError, ValueError):
    """A caller-supplied value (message, signature, trailer, pattern) is unacceptable.

    Also a :class:`ValueError`; nothing has been written when this is raised.
    """


class InvalidPath(InvalidArgument):
    """A document path, revision or branch name failed validation.

    Raised before anything reaches git, which protects against path traversal and
    option injection (values starting with ``-``).
    """


class NothingToCommit(StoreError):
    """The requested commit or merge would not change the tree of the branch."""


class StoreLocked(StoreError):
    """A git lock file blocks the write: another writer holds it, or one crashed and left it.

    ``lock_path`` is the lock file (absolute), ``age`` how many seconds ago it was last
    modified (``None`` when it vanished meanwhile) and ``ref`` the ref being updated.
    Nothing has been written when this is raised. A live writer holds a ref lock for
    milliseconds; a lock that stays is stale and must be removed by an administrator
    once no git process is running (``GitStore.clear_stale_locks``).
    """

    def __init__(self, lock_path: str, *, age: float | None = None, ref: str | None = None):
        self.lock_path = lock_path
        self.age = age
        self.ref = ref
        held = f" (last modified {age:.0f} s ago)" if age is not None else ""
        target = f" cannot update {ref}:" if ref else ""
        super().__init__(f"store locked:{target} lock file {lock_path} exists{held}; "
                         "if no git process is running it is stale and may be removed")


class StoreCorrupt(StoreError):
    """An object the repository refers to is missing or unreadable (disk damage, a bad copy).

    ``object`` is the object's sha (when known), ``kind`` its type (``blob``, ``tree``,
    ``commit``) and ``path`` the document path it was read for (when known). Only what
    needs that object fails; ``git fsck`` lists the full damage.
    """

    def __init__(self, message: str = "", *, object: str | None = None, kind: str | None = None,
                 path: str | None = None):
        self.object = object
        self.kind = kind
        self.path = path
        if not message:
            what = " ".join(x for x in (kind or "object", object or "") if x)
            message = f"store damaged: {what} is missing or corrupt" + (f" (read for {path})" if path else "")
        super().__init__(message)
