"""The policies' memo: computes each key once, stays within its size."""

from __future__ import annotations

from components.bounded_cache import BoundedCache


def counting(calls: list[str], key: str) -> str:
    calls.append(key)
    return key.upper()


def test_a_key_is_computed_once() -> None:
    cache: BoundedCache[str] = BoundedCache(10)
    calls: list[str] = []
    assert cache.get_or_compute("a", lambda: counting(calls, "a")) == "A"
    assert cache.get_or_compute("a", lambda: counting(calls, "a")) == "A"
    assert calls == ["a"]


def test_the_least_recently_used_key_leaves_first() -> None:
    cache: BoundedCache[str] = BoundedCache(2)
    calls: list[str] = []
    for key in ["a", "b", "a", "c", "a", "b"]:
        cache.get_or_compute(key, lambda key=key: counting(calls, key))
    # "b" left when "c" came (a was used more recently), so it is computed again.
    assert calls == ["a", "b", "c", "b"]
    assert len(cache) == 2


def test_size_zero_remembers_nothing() -> None:
    cache: BoundedCache[str] = BoundedCache(0)
    calls: list[str] = []
    for _ in range(3):
        cache.get_or_compute("a", lambda: counting(calls, "a"))
    assert calls == ["a", "a", "a"]
    assert len(cache) == 0
