"""An answer sent from one replica reaches a customer's socket on another.

Two real Rasa servers share one real Redis. The customer's socket is on replica
A; an agent (or any back-office job) pushes a message into the conversation
through replica B's HTTP API. Without the Redis client manager, B's socket.io
server knows no such socket and the message is lost.
"""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.channels.conftest import Replicas
from tests.channels.socket_client import REPLY_TIMEOUT_S, chat_socket

pytestmark = pytest.mark.e2e

THANKS = "You're welcome! Anything else I can help with?"


async def test_a_message_pushed_through_b_reaches_the_socket_on_a(
    replicas: Replicas,
) -> None:
    replica_a, replica_b = replicas.urls
    conversation = f"replica-{uuid.uuid4().hex[:8]}"
    async with chat_socket(replica_a, replicas.token(conversation)) as socket:
        assert await socket.start_session(conversation) == (
            "session_confirm",
            conversation,
        )
        await socket.say(conversation, "hello")
        assert "I can help" in (await socket.expect("bot_uttered"))["text"]

        # Waits for A to finish the turn: the replicas share the lock store.
        pushed = requests.post(
            f"{replica_b}/conversations/{conversation}/trigger_intent",
            params={"output_channel": "latest", "token": replicas.api_token},
            json={"name": "thank"},
            timeout=REPLY_TIMEOUT_S,
        )
        pushed.raise_for_status()

        assert await socket.expect("bot_uttered") == {"text": THANKS}


def test_without_analytics_token_there_is_no_analytics_page(
    replicas: Replicas,
) -> None:
    """The replicas run without ANALYTICS_TOKEN: the page is off, not open."""
    for url in replicas.urls:
        assert requests.get(f"{url}/analytics", timeout=30).status_code == 404
        assert (
            requests.get(f"{url}/analytics/csv/summary.csv", timeout=30).status_code
            == 404
        )
