"""Detours, and handing over to a person with a ticket."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.events import ActionExecuted, ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from actions.db.models import SupportTicket
from actions.detours import DETOUR_INTENTS, ActionRespondToDetour
from actions.handoff import ActionAnswerYesNo, ActionHandoff
from actions.privacy import mask_secrets
from tests.actions.helpers import bot, make_tracker, rendered, responses, user

# Ticket opened: the reason is used up and the conversation waits for an agent.
HANDED_OVER = [
    SlotSet("handoff_reason", None),
    ConversationPaused(),
    ActionExecuted("action_listen"),
]


def requested(slot: str | None) -> dict[str, Any]:
    return {"event": "slot", "name": "requested_slot", "value": slot}


@pytest.mark.parametrize("intent", sorted(DETOUR_INTENTS))
async def test_each_detour_gets_its_own_answer(
    intent: str, domain: dict[str, Any]
) -> None:
    dispatcher = CollectingDispatcher()
    await ActionRespondToDetour().run(dispatcher, make_tracker(intent=intent), domain)
    assert responses(dispatcher) == [f"utter_{intent}"]
    rendered(dispatcher, domain)  # every placeholder is filled


def test_card_numbers_and_named_codes_are_masked() -> None:
    text = "card 4111-1111-1111-1111, or 5500 0000 0000 0004, my pin is 4321, ORD-1001"
    assert mask_secrets(text) == (
        "card [card ending 1111], or [card ending 0004], my pin is ****, ORD-1001"
    )
    tracking = "tracking 9400111899223344556677 and 1Z999AA10123456784"
    assert mask_secrets(tracking) == tracking


async def test_handoff_opens_a_ticket_with_a_safe_transcript(
    domain: dict[str, Any], db_url: str, engine: Engine
) -> None:
    events = [
        {"event": "session_started"},
        user("what's my balance", "check_balance", "neutral"),
        requested("email"),
        bot("What's the email on your account?"),
        user("alice@example.com", "inform", "neutral"),
        requested("passcode"),
        bot("Please type your account passcode."),
        user("43 21 oops", "inform", "negative"),
        requested("email"),
        user("I paid with 4111 1111 1111 1111 and it failed", "complain", "negative"),
        user("/request_human", "request_human", None),
    ]
    tracker = make_tracker(
        {"verified_customer_id": None}, intent="request_human", events=events
    )
    dispatcher = CollectingDispatcher()
    assert await ActionHandoff().run(dispatcher, tracker, domain) == HANDED_OVER

    with Session(engine, future=True) as session:
        ticket = session.scalars(select(SupportTicket)).one()
    [text] = rendered(dispatcher, domain)
    assert f"Your ticket number is {ticket.number}." in text
    assert ticket.conversation_id == "test-conversation"
    assert ticket.customer_id is None
    assert ticket.reason == "customer asked for a person"
    assert ticket.transcript.splitlines() == [
        "Customer: what's my balance",
        "Assistant: What's the email on your account?",
        "Customer: alice@example.com",
        "Assistant: Please type your account passcode.",
        "Customer: ****",
        "Customer: I paid with [card ending 1111] and it failed",
        "Customer: /request_human",
    ]
    assert ticket.sentiment_trail == [
        {"turn": 1, "label": "neutral", "confidence": 0.877},
        {"turn": 2, "label": "neutral", "confidence": 0.877},
        {"turn": 3, "label": "negative", "confidence": 0.877},
        {"turn": 4, "label": "negative", "confidence": 0.877},
    ]


@pytest.mark.parametrize(
    ("slots", "earlier_intent", "reason"),
    [
        (
            {"verification_locked": True},
            "inform",
            "verification locked after repeated failed attempts",
        ),
        ({}, "nlu_fallback", "the assistant did not understand the customer"),
    ],
)
async def test_handoff_reason_and_verified_customer(
    slots: dict[str, Any],
    earlier_intent: str,
    reason: str,
    domain: dict[str, Any],
    engine: Engine,
) -> None:
    events = [user("hmm", earlier_intent), user("agent", "request_human")]
    tracker = make_tracker(
        {**slots, "verified_customer_id": 1}, intent="request_human", events=events
    )
    await ActionHandoff().run(CollectingDispatcher(), tracker, domain)
    with Session(engine, future=True) as session:
        ticket = session.scalars(select(SupportTicket)).one()
    assert (ticket.reason, ticket.customer_id) == (reason, 1)


def offer(*payloads: str) -> dict[str, Any]:
    buttons = [{"title": payload, "payload": payload} for payload in payloads]
    return {"event": "bot", "text": "Talk to a person?", "data": {"buttons": buttons}}


@pytest.mark.parametrize(
    ("events", "intent", "hands_over"),
    [
        (
            [offer("/request_human", "/deny"), user("yes please", "affirm")],
            "affirm",
            True,
        ),
        ([offer("/request_human", "/deny"), user("no", "deny")], "deny", False),
        ([bot("Anything else?"), user("yes", "affirm")], "affirm", False),
        (
            [offer("/request_human"), user("hm", "inform"), user("yes", "affirm")],
            "affirm",
            False,
        ),
    ],
)
async def test_yes_to_the_offer_of_a_person_hands_over(
    events: list[dict[str, Any]],
    intent: str,
    hands_over: bool,
    domain: dict[str, Any],
    engine: Engine,
) -> None:
    tracker = make_tracker(intent=intent, events=events)
    dispatcher = CollectingDispatcher()
    events = await ActionAnswerYesNo().run(dispatcher, tracker, domain)
    assert events == (HANDED_OVER if hands_over else [])
    with Session(engine, future=True) as session:
        tickets = list(session.scalars(select(SupportTicket)))
    assert len(tickets) == int(hands_over)
    expected = "utter_handoff" if hands_over else "utter_anything_else"
    assert responses(dispatcher) == [expected]
