"""Whole conversations over HTTP against the real Rasa server and action server.

Both servers run as subprocesses on free localhost ports, with a trained model
and a fresh seeded SQLite database; they are stopped even when a test fails.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from actions.db.models import Order, OrderStatus
from tests.conftest import RASA, REPO_ROOT, offline_env

pytestmark = pytest.mark.e2e

STARTUP_TIMEOUT_S = 300
REPLY_TIMEOUT_S = 60
Chat = Callable[[str], list[dict[str, Any]]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(
    url: str,
    process: subprocess.Popen,
    log: Path,
    ready: Callable[[requests.Response], bool],
) -> None:
    """Poll ``url`` until ``ready``; fail with the server log if it dies or hangs."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"server exited with {process.returncode}:\n{log.read_text()[-4000:]}"
            )
        try:
            if ready(requests.get(url, timeout=2)):
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    pytest.fail(
        f"{url} not ready after {STARTUP_TIMEOUT_S}s:\n{log.read_text()[-4000:]}"
    )


def start(command: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    """Start a server in its own process group: stopping it stops its children."""
    with log.open("w") as out:
        return subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fresh database created with the project's own CLI (migrate + seed)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'assistant.db'}"
    subprocess.run(
        [sys.executable, "-m", "actions.db", "init"],
        cwd=REPO_ROOT,
        env=offline_env(DATABASE_URL=url),
        check=True,
        capture_output=True,
    )
    return url


@pytest.fixture(scope="module")
def rasa_url(
    trained_model: Path, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Base URL of a Rasa server wired to its own action server."""
    workdir = tmp_path_factory.mktemp("servers")
    action_port, rasa_port = free_port(), free_port()
    endpoints = workdir / "endpoints.yml"
    endpoints.write_text(
        f'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n'
    )
    env = offline_env(DATABASE_URL=database_url)
    action_server = [str(RASA), "run", "actions", "--port", str(action_port)]
    rasa_server = [str(RASA), "run", "--enable-api", "--model", str(trained_model)]
    rasa_server += ["--endpoints", str(endpoints), "--interface", "127.0.0.1"]
    rasa_server += ["--port", str(rasa_port)]
    base = f"http://127.0.0.1:{rasa_port}"
    processes = []
    try:
        action_log, rasa_log = workdir / "actions.log", workdir / "rasa.log"
        processes.append(start(action_server, action_log, env))
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
    """Send messages as one new customer; returns the bot's replies to each."""
    sender = f"e2e-{uuid.uuid4().hex[:8]}"

    def say(text: str) -> list[dict[str, Any]]:
        response = requests.post(
            f"{rasa_url}/webhooks/rest/webhook",
            json={"sender": sender, "message": text},
            timeout=REPLY_TIMEOUT_S,
        )
        response.raise_for_status()
        return response.json()

    return say


def texts(replies: list[dict[str, Any]]) -> str:
    return "\n".join(reply.get("text", "") for reply in replies)


def order_status(database_url: str, number: str) -> OrderStatus:
    engine = create_engine(database_url, future=True)
    try:
        with Session(engine, future=True) as session:
            return session.scalars(
                select(Order.status).where(Order.number == number)
            ).one()
    finally:
        engine.dispose()


def test_alice_checks_her_order_status(chat: Chat) -> None:
    assert "email address" in texts(chat("where is my order ORD-1001?"))
    reply = texts(chat("alice@example.com"))
    assert "Order ORD-1001 is on its way with UPS." in reply
    assert "Tracking number: 1Z999AA10123456784" in reply
    assert "Total: $89.99" in reply


def test_alice_cancels_an_order_after_confirming(chat: Chat, database_url: str) -> None:
    assert "email address" in texts(chat("please cancel order ORD-1002"))
    [question] = chat("alice@example.com")
    assert question["text"] == (
        "Cancel order ORD-1002? Items: Running shoes, 2 x Sport socks (3-pack). "
        "Total: $145.00."
    )
    assert [button["payload"] for button in question["buttons"]] == ["/affirm", "/deny"]
    assert order_status(database_url, "ORD-1002") is OrderStatus.PROCESSING

    assert (
        texts(chat("/affirm"))
        == "Done: order ORD-1002 is cancelled and won't be shipped."
    )
    assert order_status(database_url, "ORD-1002") is OrderStatus.CANCELLED


def test_alice_cannot_see_bobs_order(chat: Chat) -> None:
    chat("where is my order ORD-2001?")
    reply = texts(chat("alice@example.com"))
    assert "I couldn't find an order with that number for that email address." in reply
    assert "What's your order number?" in reply
    assert "ORD-2001" not in reply and "USPS" not in reply
