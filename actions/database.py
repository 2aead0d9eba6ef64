"""How actions reach the database, and what they say when they cannot.

Every action that touches the database runs its queries through
:func:`in_transaction` and wraps ``run`` in :func:`apologise_if_database_down`, so
an unreachable database gives the customer one clear sentence and the action
server keeps serving other conversations.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from actions.db.engine import session_scope
from metrics.actions import DATABASE_ERRORS as DATABASE_ERRORS_SEEN

logger = logging.getLogger(__name__)

# Any driver-level failure (OperationalError, i.e. unreachable, is one of them).
DATABASE_ERRORS = DBAPIError
UTTER_DATABASE_DOWN = "utter_db_unavailable"

T = TypeVar("T")
Events = list[dict[str, Any]]
Run = Callable[[Any, CollectingDispatcher, Tracker, DomainDict], Awaitable[Events]]


async def in_transaction(work: Callable[[Session], T]) -> T:
    """Run ``work`` in one committed transaction, on a worker thread.

    SQL and passcode hashing (~0.2 s of CPU) block; a thread keeps the action
    server's event loop free for other conversations meanwhile. ``work`` should
    return plain values: ORM objects are detached once the session closes.
    """

    def unit_of_work() -> T:
        with session_scope() as session:
            return work(session)

    return await asyncio.to_thread(unit_of_work)


def _no_events(_action: Any, _tracker: Tracker) -> Events:
    return []


def apologise_if_database_down(
    events_on_outage: Callable[[Any, Tracker], Events] = _no_events,
) -> Callable[[Run], Run]:
    """Decorate an action's ``run``: on a database error, apologise and carry on.

    ``events_on_outage(action, tracker)`` lets form validators end their form
    instead of asking for details they cannot check. The log line names the
    error class only: DBAPI messages can quote SQL parameters (customer data).
    """

    def decorate(run: Run) -> Run:
        @functools.wraps(run)
        async def guarded(
            action: Action,
            dispatcher: CollectingDispatcher,
            tracker: Tracker,
            domain: DomainDict,
        ) -> Events:
            try:
                return await run(action, dispatcher, tracker, domain)
            except DATABASE_ERRORS as error:
                DATABASE_ERRORS_SEEN.inc()
                logger.warning(
                    "%s: database unreachable (%s)",
                    action.name(),
                    type(error.orig).__name__,
                )
                dispatcher.utter_message(response=UTTER_DATABASE_DOWN)
                return events_on_outage(action, tracker)

        return guarded

    return decorate
