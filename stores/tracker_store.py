"""Conversations in SQL that survive restarts and are never silently lost.

Rasa wraps every tracker store in ``FailSafeTrackerStore``: when a write fails it
keeps the events in one process's memory, and when a read fails it starts an empty
tracker, so another replica or a restart loses the conversation without a word.
This store retries a failed read or write for a bounded time and then raises
``TrackerStoreUnavailable``; the channels (connectors/) answer the customer with an
apology, and the message is not accepted. Rasa is told not to wrap it
(``rasa_changes/fail_safe_store.py``).

The database: ``url`` in endpoints.yml, else ``TRACKER_DATABASE_URL``, else
``DATABASE_URL`` when that is a server database (one setting for a deployment),
else the embedded SQLite file ``var/conversations.db``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy.engine import make_url

from settings.rasa_server import tracker_database_url

logger = logging.getLogger(__name__)

POSTGRES_CONNECT_TIMEOUT_S = 3
# Set on the trackers this store reads and writes: how many events are stored.
STORED_EVENTS = "stored_event_count"
T = TypeVar("T")


class TrackerStoreUnavailable(Exception):
    """The conversation database did not answer within the retry budget."""


def _engine(url: str) -> sa.engine.Engine:
    """An engine with one database round trip per tracker read and per write.

    On a server database each read is one SELECT and each write one multi-row
    INSERT (a single statement, so atomic by itself): in autocommit mode each is
    one round trip, where psycopg2 would add a BEGIN and a COMMIT or ROLLBACK. No
    ping before each use either: after a server restart the first statement on a
    dead connection fails, SQLAlchemy drops the pool's connections, and the
    store's retry runs on a fresh one.

    SQLite keeps transactions (its multi-row insert is a statement per row) and
    runs in write-ahead-log mode with ``synchronous=NORMAL``: a commit survives the
    process being killed, readers do not wait for writers, and a commit costs no
    disk flush (only a power cut can lose the latest commits).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = sa.create_engine(parsed, connect_args={"timeout": 30})
        sa.event.listen(engine, "connect", _sqlite_write_ahead_log)
        return engine
    return sa.create_engine(
        parsed,
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": POSTGRES_CONNECT_TIMEOUT_S},
    )


def _sqlite_write_ahead_log(connection: Any, _: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class ResilientSQLTrackerStore(SQLTrackerStore):
    """Rasa's SQL tracker store with bounded retries and loud failure.

    Database calls run in worker threads: Rasa's own store runs them on the
    event loop, where every commit's wait for the disk stops all conversations.

    A tracker read or written here remembers how many of its events are stored,
    so saving it writes the rest without Rasa's counting query first; a tracker
    from elsewhere is counted as Rasa does. The lock store keeps other replicas
    from writing to the conversation in between.
    """

    # Agent leaves a store that says so unwrapped (rasa_changes/fail_safe_store.py).
    fails_visibly = True

    def __init__(
        self,
        domain: Domain | None = None,
        host: str | None = None,
        retry_seconds: float = 10.0,
        retry_interval_seconds: float = 0.5,
        event_broker: EventBroker | None = None,
        **kwargs: Any,
    ) -> None:
        # ``host`` is the endpoint's ``url`` (Rasa passes it so). Rasa's constructor
        # takes a whole URL there; it waits for the database and creates ``events``.
        url = host or tracker_database_url()
        super().__init__(domain, host=url, event_broker=event_broker, **kwargs)
        self.engine.dispose()
        self.engine = _engine(url)
        self.sessionmaker = sa.orm.sessionmaker(bind=self.engine)
        self.retry_seconds = float(retry_seconds)
        self.retry_interval_seconds = float(retry_interval_seconds)

    async def _with_retries(self, what: str, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run ``attempt`` until it succeeds or the retry budget is spent."""
        deadline = time.monotonic() + self.retry_seconds
        while True:
            try:
                return await attempt()
            except (sa.exc.OperationalError, sa.exc.InterfaceError) as error:
                if time.monotonic() >= deadline:
                    logger.error("tracker store: %s failed, giving up: %s", what, error)
                    raise TrackerStoreUnavailable(what) from error
                logger.warning("tracker store: %s failed, retrying: %s", what, error)
                await asyncio.sleep(self.retry_interval_seconds)

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        return await self._with_retries(
            "read", lambda: asyncio.to_thread(self._read_tracker, sender_id, False)
        )

    async def retrieve_full_tracker(
        self, conversation_id: str
    ) -> DialogueStateTracker | None:
        return await self._with_retries(
            "read", lambda: asyncio.to_thread(self._read_tracker, conversation_id, True)
        )

    async def keys(self) -> list[str]:
        return await self._with_retries(
            "read", lambda: asyncio.to_thread(self._read_keys)
        )

    def _read_tracker(
        self, sender_id: str, all_sessions: bool
    ) -> DialogueStateTracker | None:
        """As Rasa's ``SQLTrackerStore._retrieve``, without an event loop."""
        with self.session_scope() as session:
            rows = self._event_query(session, sender_id, all_sessions).all()
            events = [json.loads(row.data) for row in rows]
        if not self.domain or not events:
            return None
        tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        if not all_sessions:
            setattr(tracker, STORED_EVENTS, len(tracker.events))
        return tracker

    def _read_keys(self) -> list[str]:
        with self.session_scope() as session:
            rows = session.query(self.SQLEvent.sender_id).distinct().all()
            return [sender_id for (sender_id,) in rows]

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Write the new events atomically, then publish exactly those.

        Rasa publishes to the event broker before writing; here a message that
        could not be stored is never announced to other systems either.
        """

        new_events = await self._with_retries(
            "write", lambda: asyncio.to_thread(self._write_new_events, tracker)
        )
        if self.event_broker is not None:
            await self._stream_new_events(
                self.event_broker, new_events, tracker.sender_id
            )

    def _write_new_events(self, tracker: DialogueStateTracker) -> list[Event]:
        stored = getattr(tracker, STORED_EVENTS, None)
        try:
            with self.session_scope() as session:
                if stored is None:
                    new_events = list(self._additional_events(session, tracker))
                else:
                    new_events = list(itertools.islice(tracker.events, stored, None))
                if new_events:
                    rows = [self._row(tracker.sender_id, e) for e in new_events]
                    session.execute(self.SQLEvent.__table__.insert(), rows)
                    session.commit()
        except Exception:
            # The commit may have reached the database: count on the next try.
            setattr(tracker, STORED_EVENTS, None)
            raise
        setattr(tracker, STORED_EVENTS, len(tracker.events))
        return new_events

    @staticmethod
    def _row(sender_id: str, event: Event) -> dict[str, Any]:
        data = event.as_dict()
        return {
            "sender_id": sender_id,
            "type_name": event.type_name,
            "timestamp": data.get("timestamp"),
            "intent_name": data.get("parse_data", {})
            .get("intent", {})
            .get(INTENT_NAME_KEY),
            "action_name": data.get("name"),
            "data": json.dumps(data),
        }
