"""A whole conversation over the REST channel, in the shape the README documents."""

from __future__ import annotations

import uuid

import pytest

from tests.channels.conftest import Stack
from tests.e2e.conftest import talk

pytestmark = pytest.mark.e2e


def test_alice_checks_her_order_over_rest(stack: Stack) -> None:
    sender = f"rest-{uuid.uuid4().hex[:8]}"
    say = talk(stack.rasa_url, sender)

    [greeting] = say("hello")
    assert set(greeting) == {"recipient_id", "text"}
    assert greeting["recipient_id"] == sender
    assert "I can help with your orders" in greeting["text"]

    [question] = say("ORD-1001")
    assert question["text"] == "Thanks. What would you like me to do?"
    assert question["buttons"][0] == {
        "title": "Order status",
        "payload": "/check_order_status",
    }

    # A button's payload is sent back as the message.
    assert "email address" in say(question["buttons"][0]["payload"])[0]["text"]
    status = "\n".join(reply["text"] for reply in say("alice@example.com"))
    assert "Order ORD-1001 is on its way with UPS." in status
    assert "Tracking number: 1Z999AA10123456784" in status
