"""A per-process, size-bounded memo for the policies' pure per-state work."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

Value = TypeVar("Value")

# The cached policies' option: how many states to remember; 0 turns caching off.
CACHE_SIZE_KEY = "prediction_cache_size"


class BoundedCache(Generic[Value]):
    """Least recently used entries leave first; a size of 0 or less stores nothing.

    A policy serves one event loop and computes on it, so no lock is needed.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[str, Value] = OrderedDict()

    def get_or_compute(self, key: str, compute: Callable[[], Value]) -> Value:
        if key in self._entries:
            self._entries.move_to_end(key)
            return self._entries[key]
        value = compute()
        if self.size > 0:
            self._entries[key] = value
            if len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
