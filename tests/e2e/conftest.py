"""The assistant as customers reach it: Rasa server, action server, fresh database.

Each test module gets its own pair of servers (module-scoped fixtures), started
as subprocesses on free localhost ports with a trained model and a fresh seeded
SQLite database, and stopped even when a test fails. A module can give the
action server extra environment by overriding ``action_server_env``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from tests.conftest import RASA, offline_env
from tests.servers import (
    credentials_file,
    endpoints_file,
    free_port,
    seeded_database,
    start,
    stop,
    wait_until_up,
)

REPLY_TIMEOUT_S = 60
Chat = Callable[[str], list[dict[str, Any]]]


def talk(rasa_url: str, sender: str) -> Chat:
    """Send messages as customer ``sender``; returns the bot's replies to each."""

    def say(text: str) -> list[dict[str, Any]]:
        response = requests.post(
            f"{rasa_url}/webhooks/rest/webhook",
            json={"sender": sender, "message": text},
            timeout=REPLY_TIMEOUT_S,
        )
        response.raise_for_status()
        return response.json()

    say.sender = sender  # the conversation id, for reading what was stored
    return say


def stored(database_url: str, statement: Any) -> list[Any]:
    """What ``statement`` selects from the servers' database, read once."""
    engine = create_engine(database_url, future=True)
    try:
        with Session(engine, future=True) as session:
            return list(session.scalars(statement))
    finally:
        engine.dispose()


def texts(replies: list[dict[str, Any]]) -> str:
    return "\n".join(reply.get("text", "") for reply in replies)


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fresh database created with the project's own CLI (migrate + seed)."""
    return seeded_database(tmp_path_factory.mktemp("e2e"))


@pytest.fixture(scope="module")
def action_server_env() -> dict[str, str]:
    """Extra environment for the action server (none unless a module overrides it)."""
    return {}


@pytest.fixture(scope="module")
def rasa_url(
    trained_model: Path,
    database_url: str,
    action_server_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """Base URL of a Rasa server wired to its own action server."""
    workdir = tmp_path_factory.mktemp("servers")
    action_port, rasa_port = free_port(), free_port()
    endpoints = endpoints_file(
        workdir, action_port, f"sqlite:///{workdir / 'conversations.db'}"
    )
    env = offline_env(DATABASE_URL=database_url)
    action_server = [str(RASA), "run", "actions", "--port", str(action_port)]
    rasa_server = [str(RASA), "run", "--enable-api", "--model", str(trained_model)]
    rasa_server += ["--endpoints", str(endpoints), "--interface", "127.0.0.1"]
    rasa_server += ["--port", str(rasa_port)]
    rasa_server += ["--credentials", str(credentials_file(workdir, env))]
    base = f"http://127.0.0.1:{rasa_port}"
    processes = []
    try:
        action_log, rasa_log = workdir / "actions.log", workdir / "rasa.log"
        processes.append(start(action_server, action_log, {**env, **action_server_env}))
        processes.append(start(rasa_server, rasa_log, env))
        wait_until_up(
            f"http://127.0.0.1:{action_port}/health",
            processes[0],
            action_log,
            lambda response: response.ok,
        )
        wait_until_up(
            f"{base}/status",
            processes[1],
            rasa_log,
            lambda response: response.ok and bool(response.json().get("model_id")),
        )
        yield base
    finally:
        for process in processes:
            stop(process)


@pytest.fixture
def chat(rasa_url: str) -> Chat:
    """Talk as one new customer."""
    return talk(rasa_url, f"e2e-{uuid.uuid4().hex[:8]}")
