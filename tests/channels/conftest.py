"""Servers shared by the channel tests.

``stack``: one real `scripts/serve.sh`, as the README starts it. It runs with a
fresh seeded database, the HTTP API token, Slack (a dummy bot token and a known
signing secret) and the callback channel pointing at a local HTTP server
(tests/http_stub.py); Telegram, Facebook and Twilio have no secrets, so they are
off, and so is the token check (no CHAT_JWT_SECRET). At the end it is stopped as
Ctrl-C stops it, and must leave nothing running.

``replicas``: two Rasa servers as a production deployment runs them, with
CHAT_JWT_SECRET and REDIS_URL set: one real Redis (tests/redis_server.py) for
the lock store and socket.io, one conversation database, one action server.
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
from urllib.parse import urlsplit

import jwt
import pytest
from rasa.core.tracker_store import SQLTrackerStore

from tests.conftest import RASA, REPO_ROOT, offline_env
from tests.http_stub import StubServer
from tests.redis_server import RedisServer, redis_server  # noqa: F401
from tests.servers import (
    STARTUP_TIMEOUT_S,
    credentials_file,
    free_port,
    seeded_database,
    start,
    stop,
    wait_until_up,
)

MESSAGING_PREFIXES = ("TELEGRAM_", "SLACK_", "FACEBOOK_", "TWILIO_", "CALLBACK_")
CHANNEL_VARIABLES = ("CHAT_JWT_SECRET", "REDIS_URL")
STOP_TIMEOUT_S = 60
TOKEN_LIFETIME_S = 600


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
    database_url: str  # the assistant's database
    tracker_url: str  # the conversations
    analytics_token: str


def _wait_for_ready(process: subprocess.Popen, output: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S + 60
    while "serve: ready" not in output.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"scripts/serve.sh did not get ready:\n{output.read_text()}")
        time.sleep(1)


def _default_interrupt() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


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
    analytics_token = "test-analytics-token"
    database_url = seeded_database(workdir)
    tracker_url = f"sqlite:///{workdir / 'conversations.db'}"
    env = {
        key: value
        for key, value in offline_env().items()
        if not key.startswith(MESSAGING_PREFIXES)
        and key not in (*CHANNEL_VARIABLES, "RASA_API_TOKEN")
    }
    env.update(
        {name: str(port) for name, port in ports.items()},
        SERVE_INTERFACE="127.0.0.1",
        SERVE_DIR=str(workdir),
        DATABASE_URL=database_url,
        TRACKER_DATABASE_URL=tracker_url,
        RASA_API_TOKEN=api_token,
        ANALYTICS_TOKEN=analytics_token,
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
            # Ctrl-C as at a terminal: a run started in the background (nohup,
            # `cmd &` in a script) ignores SIGINT, and a shell cannot trap a
            # signal ignored when it starts.
            preexec_fn=_default_interrupt,
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
        database_url=database_url,
        tracker_url=tracker_url,
        analytics_token=analytics_token,
    )
    _interrupt_and_check(process, output, list(ports.values()))


@dataclass(frozen=True)
class Replicas:
    urls: tuple[str, str]
    api_token: str
    jwt_secret: str
    callback: StubServer

    def token(
        self, subject: str, secret: str = "", expires_in_s: int = TOKEN_LIFETIME_S
    ) -> str:
        """A JWT for conversation ``subject``, as the website's back end signs it."""
        claims = {"sub": subject, "exp": int(time.time()) + expires_in_s}
        return jwt.encode(claims, secret or self.jwt_secret, algorithm="HS256")


def _replica_endpoints(workdir: Path, action_port: int, redis: RedisServer) -> Path:
    """Everything a replica shares: action server, conversations, lock store."""
    conversations = workdir / "conversations.db"
    # Made now, so that the replicas, starting together, don't race to make it.
    SQLTrackerStore(dialect="sqlite", db=str(conversations))
    address = urlsplit(redis.url)
    path = workdir / "endpoints.yml"
    path.write_text(
        f'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n'
        f"tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: {conversations}\n"
        f"lock_store:\n  type: redis\n  url: {address.hostname}\n"
        f"  port: {address.port}\n"
    )
    return path


@pytest.fixture(scope="package")
def replicas(
    trained_model: Path,
    redis_server: RedisServer,  # noqa: F811 (the fixture imported above)
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Replicas]:
    workdir = tmp_path_factory.mktemp("replicas")
    action_port, ports = free_port(), (free_port(), free_port())
    api_token = "test-api-token"
    jwt_secret = "test-chat-jwt-secret-of-32-bytes-or-more"
    env = {
        key: value
        for key, value in offline_env().items()
        if not key.startswith(MESSAGING_PREFIXES) and key not in CHANNEL_VARIABLES
    }
    env.update(DATABASE_URL=seeded_database(workdir), CHAT_JWT_SECRET=jwt_secret)
    env.update(REDIS_URL=redis_server.url)
    endpoints = _replica_endpoints(workdir, action_port, redis_server)
    processes, logs = [], tuple(workdir / f"rasa-{i}.log" for i in range(2))
    with StubServer([200]).running() as callback:
        env["CALLBACK_URL"] = f"{callback.url}/bot"
        credentials = credentials_file(workdir, env)
        try:
            action_log = workdir / "actions.log"
            actions = [str(RASA), "run", "actions", "--port", str(action_port)]
            processes.append(start(actions, action_log, env))
            for port, log in zip(ports, logs):
                command = [str(RASA), "run", "--model", str(trained_model)]
                command += ["--endpoints", str(endpoints)]
                command += ["--credentials", str(credentials)]
                command += ["--enable-api", f"--auth-token={api_token}"]
                command += ["--interface", "127.0.0.1", "--port", str(port)]
                processes.append(start(command, log, env))
            wait_until_up(
                f"http://127.0.0.1:{action_port}/health",
                processes[0],
                action_log,
                lambda response: response.ok,
            )
            urls = tuple(f"http://127.0.0.1:{port}" for port in ports)
            for url, process, log in zip(urls, processes[1:], logs):
                wait_until_up(f"{url}/webhooks/rest/", process, log, lambda r: r.ok)
            yield Replicas(urls, api_token, jwt_secret, callback)
        finally:
            for process in processes:
                stop(process)
