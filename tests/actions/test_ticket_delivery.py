"""Tickets to a help desk's webhook, on a real local HTTP server: failure, retry."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from actions.agent import main as agent
from actions.db.engine import session_scope
from actions.db.models import (
    Customer,
    DeliveryStatus,
    SupportTicket,
    TicketDelivery,
    TicketStatus,
)
from actions.db.repository import create_ticket
from actions.handoff import ActionHandoff
from actions.ticket_delivery import attempt_delivery, deliver
from settings.action_server import HANDOFF_WEBHOOK_URL
from tests.actions.helpers import ALICE, make_tracker, rendered
from tests.http_stub import StubServer

TRAIL = [{"turn": 1, "label": "negative", "confidence": 0.91}]


def open_ticket(engine: Engine, deliver: bool = True) -> str:
    with session_scope(engine) as session:
        alice = session.scalars(select(Customer.id).where(Customer.email == ALICE))
        return create_ticket(
            session,
            "conv-1",
            "customer asked for a person",
            "Customer: where is my order?\nAssistant: Sorry about the wait.",
            TRAIL,
            customer_id=alice.one(),
            deliver=deliver,
        )


def delivery(engine: Engine, number: str) -> TicketDelivery | None:
    with Session(engine, future=True) as session:
        return session.scalars(
            select(TicketDelivery)
            .join(TicketDelivery.ticket)
            .where(SupportTicket.number == number)
        ).one_or_none()


def closed_port_url() -> str:
    """A localhost URL where nothing listens: connection refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/tickets"


async def test_a_failed_delivery_is_retried_and_then_delivered(
    db_url: str, engine: Engine
) -> None:
    number = open_ticket(engine)
    with StubServer([500, 200]).running() as desk:
        assert await deliver(number, f"{desk.url}/tickets", retry_delays=[0.01])

    first, second = desk.received
    assert first.body == second.body and second.path == "/tickets"
    assert second.headers["Idempotency-Key"] == number
    payload: dict[str, Any] = second.body
    assert payload["ticket"] == number
    assert payload["conversation_id"] == "conv-1"
    assert payload["reason"] == "customer asked for a person"
    assert payload["customer"]["email"] == ALICE
    assert payload["sentiment_trail"] == TRAIL
    assert payload["transcript"].startswith("Customer: where is my order?")
    state = delivery(engine, number)
    assert state is not None
    assert (state.status, state.attempts, state.last_error) == (
        DeliveryStatus.DELIVERED,
        2,
        None,
    )
    assert state.delivered_at is not None


async def test_a_help_desk_that_stays_down_never_loses_the_ticket(
    db_url: str,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    number = open_ticket(engine)
    with StubServer([500]).running() as desk:
        assert not await deliver(number, desk.url, retry_delays=[0.01, 0.01])
    assert len(desk.received) == 3
    state = delivery(engine, number)
    assert state is not None
    assert (state.status, state.attempts, state.last_error) == (
        DeliveryStatus.PENDING,
        3,
        "HTTP 500",
    )
    with Session(engine, future=True) as session:
        ticket = session.scalars(select(SupportTicket)).one()
    assert (ticket.number, ticket.status) == (number, TicketStatus.OPEN)

    # Back up: the agent command sends what is still pending.
    with StubServer([202]).running() as desk:
        monkeypatch.setenv(HANDOFF_WEBHOOK_URL.name, desk.url)
        assert agent(["retry-deliveries"]) == 0
    assert [request.body["ticket"] for request in desk.received] == [number]
    assert "1 delivered, 0 still pending." in capsys.readouterr().out
    state = delivery(engine, number)
    assert state is not None
    assert (state.status, state.attempts) == (DeliveryStatus.DELIVERED, 4)


def test_an_unreachable_webhook_is_recorded_not_raised(
    db_url: str, engine: Engine
) -> None:
    number = open_ticket(engine)
    assert attempt_delivery(number, closed_port_url(), timeout=2) is False
    state = delivery(engine, number)
    assert state is not None
    assert (state.status, state.attempts, state.last_error) == (
        DeliveryStatus.PENDING,
        1,
        "ConnectionError",
    )


def test_retry_deliveries_reports_what_stays_pending(
    db_url: str,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    open_ticket(engine)
    open_ticket(engine, deliver=False)  # opened without a webhook: never sent
    monkeypatch.setenv(HANDOFF_WEBHOOK_URL.name, closed_port_url())
    assert agent(["retry-deliveries"]) == 1
    assert "0 delivered, 1 still pending." in capsys.readouterr().out
    monkeypatch.delenv(HANDOFF_WEBHOOK_URL.name)
    assert agent(["retry-deliveries"]) == 2


async def test_handoff_answers_at_once_and_delivers_in_the_background(
    domain: dict[str, Any],
    db_url: str,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tracker = make_tracker(intent="request_human", text="a human please")
    with StubServer([200]).running() as desk:
        monkeypatch.setenv(HANDOFF_WEBHOOK_URL.name, desk.url)
        dispatcher = CollectingDispatcher()
        await ActionHandoff().run(dispatcher, tracker, domain)
        [text] = rendered(dispatcher, domain)
        with Session(engine, future=True) as session:
            number = session.scalars(select(SupportTicket.number)).one()
        assert number in text
        for _ in range(200):
            state = delivery(engine, number)
            if state is not None and state.status is DeliveryStatus.DELIVERED:
                break
            await asyncio.sleep(0.025)
    assert [request.body["ticket"] for request in desk.received] == [number]
    state = delivery(engine, number)
    assert state is not None and state.status is DeliveryStatus.DELIVERED


async def test_without_a_webhook_tickets_stay_in_the_database_only(
    domain: dict[str, Any], db_url: str, engine: Engine
) -> None:
    tracker = make_tracker(intent="request_human", text="a human please")
    await ActionHandoff().run(CollectingDispatcher(), tracker, domain)
    with Session(engine, future=True) as session:
        assert session.scalars(select(SupportTicket)).one().delivery is None
