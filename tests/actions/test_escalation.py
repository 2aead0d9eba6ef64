"""Calling a person from anywhere: forms step aside, tickets say why, quiet stays."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.events import (
    ActionExecuted,
    ActionExecutionRejected,
    ConversationPaused,
    Restarted,
    SessionStarted,
)
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from actions.account_form import ValidateAccountForm
from actions.accounts import ActionAccountFollowup
from actions.db.engine import session_scope
from actions.db.models import SupportTicket, TicketStatus
from actions.db.repository import create_ticket, release_conversation
from actions.handoff import ActionHandoff, ActionRestart, ActionSessionStart
from actions.order_form import ValidateOrderForm
from actions.orders import ActionOrderFollowup
from tests.actions.helpers import (
    CONVERSATION_ID,
    after,
    bot,
    form_tracker,
    make_tracker,
    responses,
    user,
)


@pytest.mark.parametrize(
    ("validator", "form"),
    [(ValidateOrderForm(), "order_form"), (ValidateAccountForm(), "account_form")],
)
async def test_a_form_steps_aside_when_a_person_is_needed(
    validator: Any, form: str, domain: dict[str, Any], unreachable_db: str
) -> None:
    """Rejecting lets the hand-over rule end the form; nothing is checked or asked."""
    tracker = form_tracker(
        form,
        {"handoff_reason": "negative_sentiment"},
        {"email": "alice@example.com"},
        "email",
    )
    dispatcher = CollectingDispatcher()
    events = await validator.run(dispatcher, tracker, domain)
    assert events == [ActionExecutionRejected(form)]
    assert dispatcher.messages == []


@pytest.mark.parametrize(
    ("reason", "written"),
    [
        ("negative_sentiment", "the customer was upset in two messages in a row"),
        ("not_understood", "the assistant did not understand the customer"),
    ],
)
async def test_the_ticket_says_why_a_person_was_called(
    reason: str, written: str, domain: dict[str, Any], engine: Engine
) -> None:
    tracker = make_tracker({"handoff_reason": reason}, intent="complain")
    await ActionHandoff().run(CollectingDispatcher(), tracker, domain)
    with Session(engine, future=True) as session:
        assert session.scalars(select(SupportTicket.reason)).one() == written


LOCKED_NOW = [
    user("my passcode is 3333", "inform"),
    {"event": "action", "name": "account_form"},
    {"event": "slot", "name": "verification_locked", "value": True},
    bot("For your security, I've locked verification", "utter_verification_now_locked"),
]


@pytest.mark.parametrize(
    ("follow_up", "task"),
    [
        (ActionOrderFollowup(), {"order_task": "status", "order_id": "ORD-1001"}),
        (ActionAccountFollowup(), {"account_task": "balance"}),
    ],
)
async def test_the_follow_up_hands_over_when_verification_was_just_locked(
    follow_up: Any, task: dict[str, Any], domain: dict[str, Any], engine: Engine
) -> None:
    slots = {**task, "email": "alice@example.com", "verification_locked": True}
    dispatcher = CollectingDispatcher()
    events = await follow_up.run(dispatcher, after(LOCKED_NOW, slots), domain)
    assert ConversationPaused() in events
    assert responses(dispatcher) == ["utter_handoff"]
    with Session(engine, future=True) as session:
        ticket = session.scalars(select(SupportTicket)).one()
    assert ticket.reason == "verification locked after repeated failed attempts"
    assert "Customer: my passcode is ****" in ticket.transcript

    # Locked in an earlier turn: the form already said so, nothing more to add.
    later = [*LOCKED_NOW, user("where is ORD-1001", "check_order_status")]
    dispatcher = CollectingDispatcher()
    assert await follow_up.run(dispatcher, after(later, slots), domain) == []
    assert dispatcher.messages == []


def open_ticket(engine: Engine, conversation_id: str = CONVERSATION_ID) -> str:
    with session_scope(engine) as session:
        return create_ticket(session, conversation_id, "why", "Customer: hi", [])


async def test_a_new_session_stays_quiet_while_a_ticket_is_open(
    domain: dict[str, Any], engine: Engine
) -> None:
    """Rasa lifts a pause at a new session (idle hour, /restart); the ticket wins."""
    start = ActionSessionStart()
    listen = ActionExecuted("action_listen")
    open_ticket(engine, conversation_id="someone-else")
    quiet = await start.run(CollectingDispatcher(), make_tracker(), domain)
    assert quiet == [SessionStarted(), listen]

    number = open_ticket(engine)
    paused = await start.run(CollectingDispatcher(), make_tracker(), domain)
    assert paused == [SessionStarted(), ConversationPaused(), listen]

    with session_scope(engine) as session:
        release_conversation(session, number, "ann")
    released = await start.run(CollectingDispatcher(), make_tracker(), domain)
    assert released == [SessionStarted(), listen]
    with Session(engine, future=True) as session:
        statuses = session.scalars(
            select(SupportTicket.status).where(
                SupportTicket.conversation_id == CONVERSATION_ID
            )
        )
        assert list(statuses) == [TicketStatus.RELEASED]


async def test_a_restart_stays_quiet_while_a_ticket_is_open(
    domain: dict[str, Any], engine: Engine
) -> None:
    """Rasa handles /restart even while paused, and the restart lifts the pause."""
    restart = ActionRestart()
    assert await restart.run(CollectingDispatcher(), make_tracker(), domain) == [
        Restarted()
    ]
    open_ticket(engine)
    assert await restart.run(CollectingDispatcher(), make_tracker(), domain) == [
        Restarted(),
        ConversationPaused(),
        ActionExecuted("action_listen"),
    ]


async def test_a_session_starts_even_without_the_database(
    domain: dict[str, Any], unreachable_db: str
) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionSessionStart().run(dispatcher, make_tracker(), domain)
    assert events == [SessionStarted(), ActionExecuted("action_listen")]
    assert dispatcher.messages == []
