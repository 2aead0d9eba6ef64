"""Hand the conversation to a person: open a support ticket with what they need.

The ticket carries the reason, the customer (if verified), the sentiment of each
message and a transcript in which passcodes and card numbers are masked.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.account_form import VERIFIED_CUSTOMER
from actions.database import apologise_if_database_down, in_transaction
from actions.db.repository import create_ticket
from actions.history import (
    Event,
    current_session,
    latest_intent,
    offered_before_latest_message,
    trailing_fallbacks,
    user_turns,
)
from actions.privacy import PASSCODE_MASK, mask_secrets
from actions.verification import VERIFICATION_LOCKED

REQUEST_HUMAN = "/request_human"


def transcript(events: list[Event]) -> str:
    """``Customer: ...`` / ``Assistant: ...`` lines, secrets masked.

    Whatever the customer typed while the passcode was being asked for is
    replaced whole: it is the passcode, possibly with a typo in it.
    """
    lines = []
    requested_slot = None
    for event in events:
        kind = event.get("event")
        if kind == "slot" and event.get("name") == "requested_slot":
            requested_slot = event.get("value")
        elif kind == "user":
            text = event.get("text") or ""
            safe = PASSCODE_MASK if requested_slot == "passcode" else mask_secrets(text)
            lines.append(f"Customer: {safe}")
        elif kind == "bot" and event.get("text"):
            lines.append(f"Assistant: {mask_secrets(event['text'])}")
    return "\n".join(lines)


def sentiment_trail(events: list[Event]) -> list[dict[str, Any]]:
    """Sentiment of each customer message that has one, in order (JSON-ready)."""
    trail = []
    for turn_number, turn in enumerate(user_turns(events), start=1):
        sentiment = (turn.get("parse_data") or {}).get("sentiment")
        if sentiment and sentiment.get("label"):
            trail.append(
                {
                    "turn": turn_number,
                    "label": sentiment["label"],
                    "confidence": round(float(sentiment.get("confidence") or 0.0), 3),
                }
            )
    return trail


def handoff_reason(tracker: Tracker, events: list[Event]) -> str:
    """Why a person is needed, in a few words for the agent picking the ticket up."""
    if tracker.get_slot(VERIFICATION_LOCKED):
        return "verification locked after repeated failed attempts"
    earlier_turns = user_turns(events)[:-1]
    if trailing_fallbacks(earlier_turns):
        return "the assistant did not understand the customer"
    return "customer asked for a person"


class ActionHandoff(Action):
    """Open a ticket for a human agent and tell the customer its number."""

    def name(self) -> str:
        return "action_handoff"

    @apologise_if_database_down()
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events = current_session(tracker.events)
        customer_id = tracker.get_slot(VERIFIED_CUSTOMER)
        ticket_number = await in_transaction(
            lambda session: create_ticket(
                session,
                conversation_id=tracker.sender_id,
                reason=handoff_reason(tracker, events),
                transcript=transcript(events),
                sentiment_trail=sentiment_trail(events),
                customer_id=int(customer_id) if customer_id is not None else None,
            )
        )
        dispatcher.utter_message(response="utter_handoff", ticket_number=ticket_number)
        return []


class ActionAnswerYesNo(Action):
    """A yes or no outside forms: "yes" to our offer of a person hands over.

    The offer is recognised by its "Talk to a person" button, so a typed "yes"
    works like tapping it; any other yes or no just moves on.
    """

    def name(self) -> str:
        return "action_answer_yes_no"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        offered = offered_before_latest_message(tracker.events)
        if latest_intent(tracker) == "affirm" and REQUEST_HUMAN in offered:
            return await ActionHandoff().run(dispatcher, tracker, domain)
        dispatcher.utter_message(response="utter_anything_else")
        return []
