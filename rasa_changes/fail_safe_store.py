"""Leave tracker stores that fail visibly out of Rasa's ``FailSafeTrackerStore``.

``Agent`` wraps whatever tracker store it is given in ``FailSafeTrackerStore``,
which hides database failures: a failed write keeps the events in one process's
memory, a failed read starts an empty tracker. ``stores.tracker_store`` retries
and then fails loudly instead, so the channel apologises and nothing is lost
silently. A store class with ``fails_visibly = True`` is left unwrapped; every
other store keeps Rasa's wrapper.
"""

from __future__ import annotations

import rasa.core.agent
from rasa.core.tracker_store import TrackerStore


def leave_visible_stores_unwrapped() -> None:
    fail_safe = rasa.core.agent.FailSafeTrackerStore
    if getattr(fail_safe, "leaves_visible_stores_unwrapped", False):
        return

    def wrap(store: TrackerStore) -> TrackerStore:
        if getattr(store, "fails_visibly", False):
            return store
        return fail_safe(store)

    wrap.leaves_visible_stores_unwrapped = True  # type: ignore[attr-defined]
    rasa.core.agent.FailSafeTrackerStore = wrap  # type: ignore[misc,assignment]
