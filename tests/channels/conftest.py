"""One real `scripts/serve.sh` for all channel tests, as the README starts it.

It runs with a fresh seeded database, the HTTP API token, Slack (a dummy bot
token and a known signing secret) and the callback channel pointing at a local
HTTP server (tests/http_stub.py); Telegram, Facebook and Twilio have no secrets,
so they are off. At the end it is stopped as Ctrl-C stops it, and must leave
nothing running.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, offline_env
from tests.http_stub import StubServer
from tests.servers import STARTUP_TIMEOUT_S, free_port, seeded_database

MESSAGING_PREFIXES = ("TELEGRAM_", "SLACK_", "FACEBOOK_", "TWILIO_", "CALLBACK_")
STOP_TIMEOUT_S = 60


@dataclass(frozen=True)
class Stack:
    rasa_url: str
    web_url: str
    action_port: int
    api_token: str
    slack_signing_secret: str
    callback: StubServer
    output: Path  # what serve.sh printed
    logs: Path  # the servers' logs


def _wait_for_ready(process: subprocess.Popen, output: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S + 60
    while "serve: ready" not in output.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"scripts/serve.sh did not get ready:\n{output.read_text()}")
        time.sleep(1)


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _interrupt_and_check(
    process: subprocess.Popen, output: Path, ports: list[int]
) -> None:
    """Ctrl-C: serve.sh must stop every server, free every port, and exit 0."""
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail(f"serve.sh ignored Ctrl-C:\n{output.read_text()[-4000:]}")
    try:
        os.killpg(process.pid, 0)
        leftovers = True
    except ProcessLookupError:
        leftovers = False
    if leftovers:
        os.killpg(process.pid, signal.SIGKILL)
    log = output.read_text()
    assert not leftovers, f"servers still running after Ctrl-C:\n{log[-4000:]}"
    assert process.returncode == 0, log[-4000:]
    assert "serve: stopped" in log
    assert not [port for port in ports if _port_open(port)]


@pytest.fixture(scope="package")
def callback() -> Iterator[StubServer]:
    """Where the callback channel delivers the bot's messages (POST /bot)."""
    with StubServer([200]).running() as server:
        yield server


@pytest.fixture(scope="package")
def stack(
    trained_model: Path,
    callback: StubServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("serve")
    ports = {
        name: free_port() for name in ("RASA_PORT", "ACTION_SERVER_PORT", "WEB_PORT")
    }
    api_token, signing_secret = "test-api-token", "test-signing-secret"
    env = {
        key: value
        for key, value in offline_env().items()
        if not key.startswith(MESSAGING_PREFIXES) and key != "RASA_API_TOKEN"
    }
    env.update(
        {name: str(port) for name, port in ports.items()},
        SERVE_INTERFACE="127.0.0.1",
        SERVE_DIR=str(workdir),
        DATABASE_URL=seeded_database(workdir),
        RASA_API_TOKEN=api_token,
        SLACK_TOKEN="xoxb-0000000000-test",
        SLACK_SIGNING_SECRET=signing_secret,
        CALLBACK_URL=f"{callback.url}/bot",
    )
    output = workdir / "serve.out"
    with output.open("w") as out:
        process = subprocess.Popen(
            [str(REPO_ROOT / "scripts" / "serve.sh"), str(trained_model)],
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_for_ready(process, output)
    except BaseException:
        os.killpg(process.pid, signal.SIGKILL)
        raise
    yield Stack(
        rasa_url=f"http://127.0.0.1:{ports['RASA_PORT']}",
        web_url=f"http://127.0.0.1:{ports['WEB_PORT']}",
        action_port=ports["ACTION_SERVER_PORT"],
        api_token=api_token,
        slack_signing_secret=signing_secret,
        callback=callback,
        output=output,
        logs=workdir / "log",
    )
    _interrupt_and_check(process, output, list(ports.values()))
