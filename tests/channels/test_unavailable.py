"""When the bot can't handle a message, the customer gets an apology, not silence.

A real Rasa server whose lock store is a Redis nobody listens on: taking the
conversation's lock fails on every message, as it does when Redis (or, through
the tracker store, the database) is down. Rasa's own channels answer ``[]`` on
REST and nothing on socket.io; ours apologise on the channel the customer used,
with the text configured for that channel.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import yaml

from connectors.apology import DEFAULT_UNAVAILABLE_MESSAGE
from tests.channels.socket_client import REPLY_TIMEOUT_S, chat_socket
from tests.conftest import RASA, offline_env
from tests.http_stub import StubServer
from tests.servers import credentials_file, free_port, start, stop, wait_until_up

pytestmark = pytest.mark.e2e

CALLBACK_APOLOGY = "We can't answer just now. Please write again in a minute."
PERSONAL = "my card is 4111 1111 1111 1111"
CHANNEL_VARIABLES = ("CHAT_JWT_SECRET", "REDIS_URL", "CALLBACK_URL")


@dataclass(frozen=True)
class BrokenServer:
    url: str
    log: Path
    callback: StubServer


@pytest.fixture(scope="module")
def broken(
    trained_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BrokenServer]:
    workdir = tmp_path_factory.mktemp("unavailable")
    endpoints = workdir / "endpoints.yml"
    endpoints.write_text(
        f"lock_store:\n  type: redis\n  url: 127.0.0.1\n  port: {free_port()}\n"
    )
    with StubServer([200]).running() as callback:
        env = {k: v for k, v in offline_env().items() if k not in CHANNEL_VARIABLES}
        env["CALLBACK_URL"] = f"{callback.url}/bot"
        credentials = credentials_file(workdir, env)
        channels = yaml.safe_load(credentials.read_text())
        channels["connectors.rest.CallbackInput"]["unavailable_message"] = (
            CALLBACK_APOLOGY
        )
        credentials.write_text(yaml.safe_dump(channels))
        port, log = free_port(), workdir / "rasa.log"
        command = [str(RASA), "run", "--model", str(trained_model)]
        command += ["--endpoints", str(endpoints), "--credentials", str(credentials)]
        command += ["--interface", "127.0.0.1", "--port", str(port)]
        process = start(command, log, env)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_up(f"{url}/webhooks/rest/", process, log, lambda r: r.ok)
            yield BrokenServer(url, log, callback)
        finally:
            stop(process)


def test_rest_answers_with_the_apology_and_logs_no_message_text(
    broken: BrokenServer,
) -> None:
    sender = f"rest-{uuid.uuid4().hex[:8]}"
    response = requests.post(
        f"{broken.url}/webhooks/rest/webhook",
        json={"sender": sender, "message": PERSONAL},
        timeout=REPLY_TIMEOUT_S,
    )

    assert response.status_code == 200
    assert response.json() == [
        {"recipient_id": sender, "text": DEFAULT_UNAVAILABLE_MESSAGE}
    ]
    log = broken.log.read_text()
    assert f"rest: could not handle a message in conversation {sender}" in log
    assert "4111" not in log


async def test_socketio_answers_with_the_apology(broken: BrokenServer) -> None:
    session_id = f"socket-{uuid.uuid4().hex[:8]}"
    async with chat_socket(broken.url) as socket:
        assert await socket.start_session(session_id) == ("session_confirm", session_id)
        await socket.say(session_id, "hello")
        answer = await socket.expect("bot_uttered")

    assert answer == {"text": DEFAULT_UNAVAILABLE_MESSAGE}


def test_callback_posts_the_apology_configured_for_it(broken: BrokenServer) -> None:
    sender = f"callback-{uuid.uuid4().hex[:8]}"
    response = requests.post(
        f"{broken.url}/webhooks/callback/webhook",
        json={"sender": sender, "message": "hello"},
        timeout=REPLY_TIMEOUT_S,
    )

    assert (response.status_code, response.text) == (200, "success")
    delivered = [r.body for r in broken.callback.received]
    assert delivered == [{"recipient_id": sender, "text": CALLBACK_APOLOGY}]
