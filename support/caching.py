"""The one per-process cache of the code base: :class:`LockedLRU`, a ``cachetools`` LRU behind a lock.

Every layer keeps its memo of immutable things here (git objects by sha, rendered pages by
blob sha, views by (head, date)): keys name values that never change, so a cache is only
ever bounded, never invalidated.
"""
from __future__ import annotations

import os
import threading
import weakref
from operator import itemgetter

from cachetools import LRUCache

__all__ = ["LockedLRU"]

_cost_of = itemgetter(1)
#: Every cache of the process, so that a forked child can give each a fresh lock.
_ALL: weakref.WeakSet[LockedLRU] = weakref.WeakSet()


class LockedLRU:
    """A thread-safe LRU bounded by its number of entries and, optionally, by their total cost.

    ``max_cost`` bounds the sum of the ``cost`` given to :meth:`put` (bytes, characters);
    an entry costing more than ``max_item_cost`` (default: ``max_cost``) is not kept, so
    one huge value cannot flush everything else.
    """

    __slots__ = ("maxsize", "max_cost", "max_item_cost", "_cache", "_lock", "_hits", "_misses", "__weakref__")

    def __init__(self, maxsize: int, *, max_cost: int = 0, max_item_cost: int = 0):
        """An empty cache of at most ``maxsize`` entries (and ``max_cost`` in total when given)."""
        if maxsize < 1 or max_cost < 0 or max_item_cost < 0:
            raise ValueError("cache bounds must be positive")
        self.maxsize = maxsize
        self.max_cost = max_cost
        self.max_item_cost = min(max_item_cost or max_cost, max_cost)
        self._cache = self._empty()
        self._lock = threading.Lock()
        self._hits = self._misses = 0
        _ALL.add(self)

    def _empty(self) -> LRUCache:
        # With a cost bound the entries are (value, cost) pairs and cachetools weighs them by
        # the cost; the entry bound is then kept by put().
        if self.max_cost:
            return LRUCache(self.max_cost, getsizeof=_cost_of)
        return LRUCache(self.maxsize)

    def get(self, key, default=None):
        """The value cached for ``key`` (now the most recently used), or ``default``."""
        with self._lock:
            cache = self._cache
            if key not in cache:  # cheaper than the two KeyErrors cachetools raises on a miss
                self._misses += 1
                return default
            entry = cache[key]
            self._hits += 1
        return entry[0] if self.max_cost else entry

    def put(self, key, value, cost: int = 1) -> None:
        """Cache ``value`` for ``key``, evicting the least recently used entries beyond the bounds."""
        with self._lock:
            if not self.max_cost:
                self._cache[key] = value
                return
            if cost > self.max_item_cost:
                self._cache.pop(key, None)
                return
            self._cache[key] = (value, cost)
            while len(self._cache) > self.maxsize:
                self._cache.popitem()

    def clear(self) -> None:
        """Drop every entry (and the hit / miss counts)."""
        with self._lock:
            self._cache = self._empty()
            self._hits = self._misses = 0

    def info(self) -> dict[str, int]:
        """Hits and misses since the last :meth:`clear`, entries, entry bound and total cost held."""
        with self._lock:
            cost = self._cache.currsize if self.max_cost else len(self._cache)
            return {"hits": self._hits, "misses": self._misses, "size": len(self._cache),
                    "maxsize": self.maxsize, "cost": cost}

    def __len__(self) -> int:
        """The number of entries held."""
        return len(self._cache)

    def __repr__(self) -> str:
        """Bounds and fill, never the values."""
        return f"LockedLRU({len(self._cache)}/{self.maxsize} entries, max_cost={self.max_cost})"


def _after_fork_in_child() -> None:
    # A lock held by another thread at fork time would stay locked forever in the child:
    # give every cache a fresh one. The cached values stay valid (they are immutable).
    for cache in list(_ALL):
        cache._lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
