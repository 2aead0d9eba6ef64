"""A Rasa server killed with ``kill -9`` mid-conversation loses nothing.

Conversations live in the SQL tracker store (stores/tracker_store.py), so a new
server process carries on a half-filled form and a verified identity.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RASA, offline_env
from tests.e2e.conftest import talk, texts
from tests.servers import (
    credentials_file,
    endpoints_file,
    free_port,
    start,
    stop,
    wait_until_up,
)

pytestmark = pytest.mark.e2e


class RasaProcess:
    """One Rasa server on a fixed port that a test can kill and start again."""

    def __init__(self, command: list[str], env: dict[str, str], workdir: Path):
        self.command, self.env, self.workdir = command, env, workdir
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self, url: str) -> None:
        self.starts += 1
        log = self.workdir / f"rasa-{self.starts}.log"
        self.process = start(self.command, log, self.env)
        wait_until_up(
            f"{url}/status",
            self.process,
            log,
            lambda response: response.ok and bool(response.json().get("model_id")),
        )

    def kill_9(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


@pytest.fixture(scope="module")
def servers(
    trained_model: Path, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, RasaProcess]]:
    workdir = tmp_path_factory.mktemp("restart")
    action_port, rasa_port = free_port(), free_port()
    endpoints = endpoints_file(
        workdir, action_port, f"sqlite:///{workdir / 'conversations.db'}"
    )
    env = offline_env(DATABASE_URL=database_url)
    url = f"http://127.0.0.1:{rasa_port}"
    rasa = RasaProcess(
        [
            *(str(RASA), "run", "--enable-api", "--model", str(trained_model)),
            *("--endpoints", str(endpoints), "--interface", "127.0.0.1"),
            *("--port", str(rasa_port)),
            *("--credentials", str(credentials_file(workdir, env))),
        ],
        env,
        workdir,
    )
    action_log = workdir / "actions.log"
    actions = start(
        [str(RASA), "run", "actions", "--port", str(action_port)], action_log, env
    )
    try:
        wait_until_up(
            f"http://127.0.0.1:{action_port}/health",
            actions,
            action_log,
            lambda response: response.ok,
        )
        rasa.start(url)
        yield url, rasa
    finally:
        if rasa.process is not None:
            stop(rasa.process)
        stop(actions)


def test_a_form_carries_on_after_kill_9(servers: tuple[str, RasaProcess]) -> None:
    url, rasa = servers
    chat = talk(url, "restart-order-form")
    assert "email address" in texts(chat("where is my order ORD-1001?"))

    rasa.kill_9()
    rasa.start(url)

    reply = texts(chat("alice@example.com"))
    assert "Order ORD-1001 is on its way with UPS." in reply


def test_verification_survives_kill_9(servers: tuple[str, RasaProcess]) -> None:
    """Verified before the crash: the balance needs no second passcode after it."""
    url, rasa = servers
    chat = talk(url, "restart-verified")
    assert "email address" in texts(chat("what's my balance?"))
    assert "passcode" in texts(chat("alice@example.com"))
    assert "$2,450.75" in texts(chat("4321"))

    rasa.kill_9()
    rasa.start(url)

    reply = texts(chat("show me my recent transactions"))
    assert "passcode" not in reply
    assert "account ending 1001" in reply
