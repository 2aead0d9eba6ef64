"""With CHAT_JWT_SECRET, a conversation is written in only with a token naming it.

Against a real replica: socket.io refuses a connect without a valid token and a
session id other than the token's ``sub``; REST and callback refuse a message
without a bearer token naming its sender. A refused message never reaches the
bot, which the HTTP API's view of the conversation shows.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from tests.channels.conftest import Replicas
from tests.channels.socket_client import REPLY_TIMEOUT_S, chat_socket, refusal

pytestmark = pytest.mark.e2e

GREETING = "I can help with your orders"
WRONG_SECRET = "a-secret-of-the-right-length-but-not-ours"


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def user_messages(replicas: Replicas, conversation: str) -> list[str]:
    """What the bot has received in ``conversation``, per the HTTP API."""
    response = requests.get(
        f"{replicas.urls[0]}/conversations/{conversation}/tracker",
        params={"token": replicas.api_token},
        timeout=REPLY_TIMEOUT_S,
    )
    response.raise_for_status()
    return [e["text"] for e in response.json()["events"] if e["event"] == "user"]


def post(replicas: Replicas, channel: str, body: dict, **headers: str) -> Any:
    return requests.post(
        f"{replicas.urls[0]}/webhooks/{channel}/webhook",
        json=body,
        headers=headers,
        timeout=REPLY_TIMEOUT_S,
    )


@pytest.mark.parametrize("token", ["none", "wrong secret", "expired", "garbage"])
async def test_socketio_refuses_a_connect_without_a_valid_token(
    replicas: Replicas, token: str
) -> None:
    subject = new_id("alice")
    tokens = {
        "none": None,
        "wrong secret": replicas.token(subject, secret=WRONG_SECRET),
        "expired": replicas.token(subject, expires_in_s=-60),
        "garbage": "not.a.jwt",
    }
    refused = await refusal(replicas.urls[0], tokens[token])
    assert refused == {"message": "a valid token is required"}


async def test_socketio_refuses_a_session_id_that_is_not_the_tokens(
    replicas: Replicas,
) -> None:
    alice, bob = new_id("alice"), new_id("bob")
    async with chat_socket(replicas.urls[0], replicas.token(alice)) as socket:
        event, data = await socket.start_session(bob)
        assert (event, data) == (
            "session_refused",
            {"error": "the session id is not the token's subject"},
        )
        assert (await socket.next_event())[0] == "disconnect"


async def test_socketio_binds_the_socket_to_the_tokens_conversation(
    replicas: Replicas,
) -> None:
    alice, bob = new_id("alice"), new_id("bob")
    async with chat_socket(replicas.urls[0], replicas.token(alice)) as socket:
        # No session id: the token's subject is the conversation.
        assert await socket.start_session(None) == ("session_confirm", alice)
        assert await socket.start_session(alice) == ("session_confirm", alice)
        await socket.say(alice, "hello")
        assert GREETING in (await socket.expect("bot_uttered"))["text"]

        # A message into someone else's conversation ends the socket.
        await socket.say(bob, "hello")
        assert (await socket.next_event())[0] == "session_refused"
        assert (await socket.next_event())[0] == "disconnect"

    assert user_messages(replicas, alice) == ["hello"]
    assert user_messages(replicas, bob) == []


@pytest.mark.parametrize(
    ("authorization", "status"),
    [("none", 401), ("wrong secret", 401), ("not bearer", 401), ("bob's", 403)],
)
@pytest.mark.parametrize("channel", ["rest", "callback"])
def test_a_webhook_refuses_a_message_without_the_senders_token(
    replicas: Replicas, channel: str, authorization: str, status: int
) -> None:
    alice = new_id("alice")
    headers = {
        "none": {},
        "wrong secret": {
            "Authorization": f"Bearer {replicas.token(alice, secret=WRONG_SECRET)}"
        },
        "not bearer": {"Authorization": replicas.token(alice)},
        "bob's": {"Authorization": f"Bearer {replicas.token(new_id('bob'))}"},
    }[authorization]

    response = post(replicas, channel, {"sender": alice, "message": "hi"}, **headers)

    assert response.status_code == status
    assert set(response.json()) == {"error"}
    assert user_messages(replicas, alice) == []
    assert not replicas.callback.received


def test_rest_answers_a_message_with_the_senders_token(replicas: Replicas) -> None:
    alice = new_id("alice")
    response = post(
        replicas,
        "rest",
        {"sender": alice, "message": "hello"},
        Authorization=f"Bearer {replicas.token(alice)}",
    )

    assert response.status_code == 200
    [greeting] = response.json()
    assert greeting["recipient_id"] == alice
    assert GREETING in greeting["text"]


def test_webhook_health_checks_need_no_token(replicas: Replicas) -> None:
    for channel in ("rest", "callback"):
        response = requests.get(f"{replicas.urls[0]}/webhooks/{channel}/", timeout=10)
        assert response.json() == {"status": "ok"}, channel
