"""A small thread-safe LRU for per-process caches keyed by immutable values (shas, dates, codes).

(``repo_store`` keeps its own: the storage layer depends on nothing of the app.)
"""
from __future__ import annotations

import threading
from collections import OrderedDict

_MISSING = object()


class LRU:
    """Bounded by entries and (optionally) by a total cost such as characters."""

    def __init__(self, size: int, max_cost: int = 0):
        self._data: OrderedDict = OrderedDict()
        self._size = size
        self._max_cost = max_cost
        self._cost = 0
        self._lock = threading.Lock()

    def get(self, key, default=None):
        with self._lock:
            entry = self._data.get(key, _MISSING)
            if entry is _MISSING:
                return default
            self._data.move_to_end(key)
            return entry[0]

    def put(self, key, value, cost: int = 1) -> None:
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._cost -= old[1]
            self._data[key] = (value, cost)
            self._cost += cost
            while len(self._data) > self._size or (self._max_cost and self._cost > self._max_cost
                                                   and len(self._data) > 1):
                _key, (_value, c) = self._data.popitem(last=False)
                self._cost -= c

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._cost = 0

    def __len__(self) -> int:
        return len(self._data)
