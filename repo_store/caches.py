"""Per-process caches of one repository, keyed by immutable shas only.

Every :class:`GitStore` opened on the same repository (same real path) shares one
:class:`_Caches`. Ref values are never cached here: they move, shas do not.
"""

from __future__ import annotations

import os
import threading

from support.caching import LockedLRU

#: What a cache answers for a key it does not hold (None is never cached, but be explicit).
_MISS = object()


class _Caches:
    """All caches of one repository; shared by every GitStore on that path."""

    def __init__(self) -> None:
        self.commit_tree = LockedLRU(65536)  # commit sha -> (tree sha, parents)
        self.trees = LockedLRU(16384)  # tree sha -> {name: (mode, sha)}
        self.blob_at = LockedLRU(65536)  # (commit sha, path) -> blob sha
        self.blobs = LockedLRU(100_000, max_cost=128 << 20, max_item_cost=8 << 20)  # blob sha -> bytes
        self.flat = LockedLRU(64)  # root tree sha -> _Flat
        self.history = LockedLRU(512, max_cost=200_000)  # (sha, path, limit, fp) -> tuple[CommitInfo]
        self.grep = LockedLRU(256, max_cost=200_000)  # (tree, pattern, flags, paths) -> tuple[GrepHit]
        # packed-refs parsed content keyed by the file's identity; replaced atomically.
        self.packed: tuple[tuple, dict[str, str]] = ((), {})
        # Objects this process found missing or corrupt (sha -> description), for health().
        self.damaged: dict[str, str] = {}
        # (head sha, monotonic time, problems) of the last object check of health().
        self.verified: tuple[str | None, float, tuple[str, ...]] = (None, 0.0, ())

    def forget(self) -> None:
        """Drop everything (what a freshly started worker knows about the repository)."""
        for cache in (self.commit_tree, self.trees, self.blob_at, self.blobs, self.flat, self.history, self.grep):
            cache.clear()
        self.packed = ((), {})
        self.damaged.clear()
        self.verified = (None, 0.0, ())


_CACHES: dict[str, _Caches] = {}
_CACHES_LOCK = threading.Lock()


def _caches_for(git_dir: str) -> _Caches:
    key = os.path.realpath(git_dir)
    with _CACHES_LOCK:
        c = _CACHES.get(key)
        if c is None:
            c = _CACHES[key] = _Caches()
        return c


def forget_all() -> None:
    """Empty the caches of every repository in this process (tests: a worker started just now)."""
    with _CACHES_LOCK:
        every = list(_CACHES.values())
    for caches in every:
        caches.forget()


def _after_fork_in_child() -> None:
    # A lock held by another thread at fork time would stay locked forever in the
    # child. (support.caching renews the locks of the caches themselves; their
    # data stays valid, it is immutable.)
    global _CACHES_LOCK
    _CACHES_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
