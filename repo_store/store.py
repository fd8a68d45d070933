"""Git-backed store for procedure documents: :class:`GitStore`, the one public class.

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

:class:`GitStore` is composed of one part per concern, each in its own module and each
building only on the ones before it:

* :mod:`~repo_store.values` -- value types, constants, input validation;
* :mod:`~repo_store.messages` -- commit messages with trailers, ``git log`` parsing;
* :mod:`~repo_store.caches` -- the per-process caches of a repository;
* :mod:`~repo_store.objects` -- running git, reading and writing objects (:class:`ObjectStore`);
* :mod:`~repo_store.refs` -- heads, revisions, branches, compare-and-swap (:class:`Refs`);
* :mod:`~repo_store.reading` -- files, listings, history, diffs, grep, bulk reads (:class:`Reading`);
* :mod:`~repo_store.writing` -- commits (:class:`Writing`);
* :mod:`~repo_store.merging` -- merges of review branches (:class:`Merging`);
* :mod:`~repo_store.maintenance` -- locks, health, fsck, packing (:class:`Maintenance`);
* :mod:`~repo_store.hooks` -- hook files, store config, what an incoming push changes (:class:`Hooks`);
* :mod:`~repo_store.stamps` -- change stamps (files beside the repository, not git).

This package deliberately imports nothing from Flask or the rest of the app: only
the standard library, GitPython (plus gitdb, which ships with it) and ``support``.
"""

from __future__ import annotations

import os
import shutil
import uuid

import git

from .errors import StoreError
from .hooks import Hooks
from .maintenance import Maintenance
from .merging import Merging, _git_version
from .reading import Reading
from .stamps import Stamps
from .values import Signature, validate_branch

__all__ = ["GitStore"]


class GitStore(Reading, Merging, Maintenance, Hooks):
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
        self.default_branch = validate_branch(default_branch)
        super().__init__(path)
        self.committer = committer
        # reftable (git >= 2.45) has no ref files to read; always ask git then.
        self._fast_refs = not os.path.exists(os.path.join(self.git_dir, "reftable"))
        self.use_merge_tree = _git_version() >= (2, 38)
        self.auto_gc_every = auto_gc_every
        self.lock_patience = float(lock_patience)
        self._writes = 0
        self._stamps = Stamps(os.path.join(self.git_dir, "procdesk-stamps"))

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

    def __enter__(self) -> GitStore:
        """Use the store as a context manager; :meth:`close` runs on exit."""
        return self

    def __exit__(self, *exc) -> None:
        """Close this process's repository handles (see :meth:`close`)."""
        self.close()

    def __repr__(self) -> str:
        """Show the repository the store is bound to."""
        return f"GitStore({self.git_dir!r})"

    # -- change stamps (files beside the repository; see repo_store.stamps) ----

    def stamp(self, name: str) -> str:
        """The current value of change stamp ``name`` (``""`` before its first :meth:`bump_stamp`).

        Change stamps are small files beside the repository (``<git dir>/procdesk-stamps/``),
        shared by every process and host that shares the store: a per-process cache of
        anything (not only git data) keys itself by a stamp and drops its copies when the
        value moves. FAST: one read of a small file, never cached.
        """
        return self._stamps.get(name)

    def bump_stamp(self, name: str) -> str:
        """Give change stamp ``name`` a new unique value (readers see the old or the new one, never half)."""
        return self._stamps.bump(name)


def _looks_like_git_dir(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "HEAD")) and os.path.isdir(os.path.join(path, "objects"))
