"""An upset customer, end to end: acknowledged, handed over once, then left to a person.

The action server posts tickets to a local help desk (tests/http_stub.py) that
fails the first delivery; the agent command releases the conversation through
the real Rasa HTTP API.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from actions.db.models import DeliveryStatus, SupportTicket, TicketStatus
from tests.conftest import REPO_ROOT, offline_env
from tests.e2e.conftest import stored, talk, texts
from tests.http_stub import StubServer

pytestmark = pytest.mark.e2e

CARD = "4111 1111 1111 1111"
DELIVERY_TIMEOUT_S = 30


@pytest.fixture(scope="module")
def help_desk() -> Iterator[StubServer]:
    """A help desk whose webhook fails once (HTTP 500), then accepts."""
    with StubServer([500, 200]).running() as desk:
        yield desk


@pytest.fixture(scope="module")
def action_server_env(help_desk: StubServer) -> dict[str, str]:
    return {"HANDOFF_WEBHOOK_URL": f"{help_desk.url}/tickets"}


def tickets(database_url: str, conversation_id: str) -> list[SupportTicket]:
    return stored(
        database_url,
        select(SupportTicket)
        .where(SupportTicket.conversation_id == conversation_id)
        .options(selectinload(SupportTicket.delivery)),
    )


def delivered(database_url: str, conversation_id: str) -> bool:
    deadline = time.monotonic() + DELIVERY_TIMEOUT_S
    while time.monotonic() < deadline:
        [ticket] = tickets(database_url, conversation_id)
        if ticket.delivery.status is DeliveryStatus.DELIVERED:
            return True
        time.sleep(0.5)
    return False


def test_two_angry_messages_open_one_masked_ticket_then_silence(
    rasa_url: str, database_url: str, help_desk: StubServer
) -> None:
    sender = f"e2e-angry-{uuid.uuid4().hex[:8]}"
    say = talk(rasa_url, sender)

    first = texts(say("still waiting for order ORD-1001, where is it?!"))
    assert first.startswith("I'm sorry about the wait — let me check ORD-1001.\n")
    assert "email address" in first  # then the answer goes on as usual

    second = texts(say(f"I paid with {CARD} and still nothing, terrible"))
    assert second.startswith("I'm sorry this has been frustrating")
    assert "Your ticket number is TCK-" in second
    assert "I'll stay quiet here" in second

    # Paused: messages are recorded, nothing answers them, nothing opens again.
    assert say("hello?? is anyone there") == []
    assert say("this is the worst, I want my money back") == []
    assert say("/restart") == []
    assert say("hello") == []  # still paused: the ticket is open
    [ticket] = tickets(database_url, sender)
    assert ticket.number in second
    assert ticket.status is TicketStatus.OPEN
    assert ticket.reason == "the customer was upset in two messages in a row"
    assert [step["label"] for step in ticket.sentiment_trail] == ["negative"] * 2
    assert CARD not in ticket.transcript
    assert "[card ending 1111]" in ticket.transcript
    assert ticket.transcript.startswith(
        "Customer: still waiting for order ORD-1001, where is it?!\n"
        "Assistant: I'm sorry about the wait — let me check ORD-1001.\n"
    )

    # The help desk got it on the second attempt.
    assert delivered(database_url, sender)
    [ticket] = tickets(database_url, sender)
    assert ticket.delivery.attempts == 2
    bodies = [request.body for request in help_desk.received]
    assert [body["ticket"] for body in bodies] == [ticket.number] * 2
    assert CARD not in bodies[-1]["transcript"]

    # An agent gives the conversation back; the assistant answers again.
    released = subprocess.run(
        [sys.executable, "-m", "actions.agent", "release", ticket.number],
        cwd=REPO_ROOT,
        env=offline_env(DATABASE_URL=database_url, RASA_URL=rasa_url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert released.returncode == 0, released.stderr
    [ticket] = tickets(database_url, sender)
    assert ticket.status is TicketStatus.RELEASED
    assert "Monday to Friday" in texts(say("what are your opening hours?"))


def test_an_upset_chinese_customer_gets_a_chinese_ticket_with_a_masked_card(
    rasa_url: str, database_url: str
) -> None:
    """The Chinese encoder hears the anger; the replies, the ticket's reason
    and its masked transcript are as in English, the words Chinese."""
    sender = f"e2e-angry-zh-{uuid.uuid4().hex[:8]}"
    say = talk(rasa_url, sender)
    first = texts(say("我的订单ORD-1001到哪了 怎么这么慢"))
    assert first.startswith("抱歉让您久等了，我马上为您查询订单ORD-1001。\n")
    second = texts(say(f"我用卡{CARD}付的钱 到现在什么都没收到 气死我了"))
    assert second.startswith("非常抱歉给您带来困扰")
    assert "您的工单号是TCK-" in second
    assert say("人呢？？") == []  # paused for a person
    [ticket] = tickets(database_url, sender)
    assert ticket.number in second
    assert [step["label"] for step in ticket.sentiment_trail] == ["negative"] * 2
    assert CARD not in ticket.transcript
    assert "[card ending 1111]" in ticket.transcript
    assert "我的订单ORD-1001到哪了 怎么这么慢" in ticket.transcript
