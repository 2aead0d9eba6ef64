"""Agent leaves the project's tracker store unwrapped, and wraps every other one."""

from __future__ import annotations

from pathlib import Path

from rasa.core.agent import Agent
from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore
from rasa.shared.core.domain import Domain

import rasa_changes
from stores.tracker_store import ResilientSQLTrackerStore

rasa_changes.apply()


def test_the_project_store_is_used_as_it_is(tmp_path: Path, domain: Domain) -> None:
    store = ResilientSQLTrackerStore(domain, host=f"sqlite:///{tmp_path / 'c.db'}")
    assert Agent(domain=domain, tracker_store=store).tracker_store is store


def test_other_stores_keep_rasas_fail_safe_wrapper(domain: Domain) -> None:
    store = InMemoryTrackerStore(domain)
    wrapped = Agent(domain=domain, tracker_store=store).tracker_store
    assert isinstance(wrapped, FailSafeTrackerStore)
    assert wrapped._tracker_store is store
