"""The SQL tracker store: conversations round-trip, off the event loop, in WAL."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from stores.tracker_store import ResilientSQLTrackerStore


@pytest.fixture
def store(tmp_path: Path, domain: Domain) -> ResilientSQLTrackerStore:
    return ResilientSQLTrackerStore(domain, host=f"sqlite:///{tmp_path / 'c.db'}")


def conversation(domain: Domain) -> DialogueStateTracker:
    tracker = DialogueStateTracker("alice-1", domain.slots)
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(UserUttered("where is ORD-1001?", {"name": "check_order_status"}))
    tracker.update(SlotSet("order_id", "ORD-1001"))
    return tracker


async def test_a_saved_conversation_reads_back_with_its_slots(
    store: ResilientSQLTrackerStore, domain: Domain
) -> None:
    await store.save(conversation(domain))
    tracker = await store.retrieve("alice-1")
    assert tracker is not None
    assert tracker.get_slot("order_id") == "ORD-1001"
    assert tracker.latest_message.text == "where is ORD-1001?"
    assert await store.keys() == ["alice-1"]
    assert await store.retrieve("nobody") is None


async def test_saving_again_writes_only_the_new_events(
    store: ResilientSQLTrackerStore, domain: Domain
) -> None:
    tracker = conversation(domain)
    await store.save(tracker)
    tracker.update(ActionExecuted("order_form"))
    await store.save(tracker)
    full = await store.retrieve_full_tracker("alice-1")
    assert full is not None
    assert [e.as_dict()["event"] for e in full.events] == [
        "action",
        "user",
        "slot",
        "action",
    ]


async def test_database_calls_leave_the_event_loop_free(
    store: ResilientSQLTrackerStore, domain: Domain, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A commit waiting for the disk must not stop every other conversation."""
    threads: list[threading.Thread] = []
    write = store._write_new_events
    read = store._read_tracker

    def recording_write(tracker: DialogueStateTracker) -> list:
        threads.append(threading.current_thread())
        return write(tracker)

    def recording_read(sender_id: str, all_sessions: bool) -> DialogueStateTracker:
        threads.append(threading.current_thread())
        return read(sender_id, all_sessions)

    monkeypatch.setattr(store, "_write_new_events", recording_write)
    monkeypatch.setattr(store, "_read_tracker", recording_read)
    await store.save(conversation(domain))
    await store.retrieve("alice-1")
    assert len(threads) == 2
    assert threading.main_thread() not in threads


def test_sqlite_runs_in_write_ahead_log_mode(store: ResilientSQLTrackerStore) -> None:
    with store.engine.connect() as connection:
        mode = connection.execute(sa.text("PRAGMA journal_mode")).scalar()
        synchronous = connection.execute(sa.text("PRAGMA synchronous")).scalar()
    assert (mode, synchronous) == ("wal", 1)  # 1 = NORMAL


def stored_event_names(store: ResilientSQLTrackerStore) -> list[str]:
    with store.engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT data FROM events ORDER BY id"))
        return [json.loads(data)["event"] for (data,) in rows]


async def test_a_tracker_read_here_is_saved_without_counting_again(
    store: ResilientSQLTrackerStore, domain: Domain, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rasa counts the stored events before every write; this store knows them."""
    await store.save(conversation(domain))
    tracker = await store.retrieve("alice-1")
    assert tracker is not None

    def refuse(*_: object) -> None:
        raise AssertionError("the stored events were counted again")

    monkeypatch.setattr(store, "_additional_events", refuse)
    tracker.update(ActionExecuted("order_form"))
    await store.save(tracker)
    tracker.update(ActionExecuted("action_listen"))
    await store.save(tracker)
    assert stored_event_names(store) == ["action", "user", "slot", "action", "action"]


async def test_after_a_failed_write_the_stored_events_are_counted_again(
    store: ResilientSQLTrackerStore, domain: Domain, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A commit that failed on the way back may have been stored: no duplicates."""
    tracker = conversation(domain)
    await store.save(tracker)
    tracker.update(ActionExecuted("order_form"))
    commit = sa.orm.Session.commit
    calls = {"n": 0}

    def commit_then_fail(session: sa.orm.Session) -> None:
        commit(session)
        calls["n"] += 1
        if calls["n"] == 1:
            raise sa.exc.OperationalError("COMMIT", {}, Exception("connection lost"))

    monkeypatch.setattr(sa.orm.Session, "commit", commit_then_fail)
    monkeypatch.setattr(store, "retry_interval_seconds", 0.01)
    await store.save(tracker)
    assert stored_event_names(store) == ["action", "user", "slot", "action"]
