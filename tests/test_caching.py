"""support.caching.LockedLRU: the one per-process cache of every layer."""
from __future__ import annotations

import threading

import pytest

from support.caching import LockedLRU


def test_bounded_by_entries_least_recently_used_first():
    cache = LockedLRU(3)
    for key in "abc":
        cache.put(key, key.upper())
    assert cache.get("a") == "A"  # a is now the most recently used
    cache.put("d", "D")
    assert cache.get("b") is None and cache.get("b", "missing") == "missing"
    assert [cache.get(k) for k in "acd"] == ["A", "C", "D"] and len(cache) == 3


def test_bounded_by_cost_and_entries_and_huge_values_are_not_kept():
    cache = LockedLRU(3, max_cost=100, max_item_cost=60)
    cache.put("a", "x", 50)
    cache.put("b", "y", 40)
    cache.put("c", "z", 30)  # 120 > 100: a goes
    assert cache.get("a") is None and cache.get("b") == "y" and cache.get("c") == "z"
    cache.put("huge", "h", 61)  # would flush the rest: not kept
    assert cache.get("huge") is None and len(cache) == 2
    for key in "defg":
        cache.put(key, key, 1)
    assert len(cache) == 3  # the entry bound holds too
    assert cache.info()["cost"] <= 100


def test_info_counts_hits_and_misses_until_cleared():
    cache = LockedLRU(2)
    cache.get("a")
    cache.put("a", 1)
    cache.get("a")
    assert cache.info() == {"hits": 1, "misses": 1, "size": 1, "maxsize": 2, "cost": 1}
    cache.clear()
    assert cache.info() == {"hits": 0, "misses": 0, "size": 0, "maxsize": 2, "cost": 0}


def test_bad_bounds_are_refused():
    with pytest.raises(ValueError):
        LockedLRU(0)


def test_thread_safe():
    cache = LockedLRU(50, max_cost=1000)
    problems = []

    def worker(seed):
        try:
            for i in range(3000):
                key = (i * seed) % 120
                cache.put(key, key, 1 + key % 30)
                value = cache.get(key)
                if value is not None and value != key:
                    problems.append((key, value))
        except Exception as exc:  # pragma: no cover - reported below
            problems.append(exc)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in (1, 7, 13, 31)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not problems and len(cache) <= 50 and cache.info()["cost"] <= 1000
