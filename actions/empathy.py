"""Read each customer message: acknowledge an upset one, notice when to call a person.

Rasa runs ``action_validate_slot_mappings`` after each message, before any
policy predicts what to do, inside forms as outside. That makes it the one
place where the acknowledgement comes first in the turn and exactly once, and
where a run of upset or misunderstood messages is noticed whatever the
customer is doing. Rasa keeps only slots and bot messages from this action, so
the hand-over itself is left to the rules, through the ``handoff_reason`` slot.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import ACTION_VALIDATE_SLOT_MAPPINGS
from rasa_sdk.types import DomainDict

from actions.escalation import (
    HANDOFF_REASON,
    NEGATIVE,
    REQUEST_HUMAN_INTENT,
    reason_to_escalate,
)
from actions.history import (
    current_session,
    latest_intent,
    responses_since_latest_message,
    since_handoff,
    turn_sentiment,
    user_turns,
)
from actions.order_form import ORDER_TASK
from actions.verification import normalise_order_id

SENTIMENT = "sentiment"
ORDER_FORM = "order_form"
ACKNOWLEDGEMENT_PREFIX = "utter_empathy"
# Questions where the customer is waiting for something: "sorry about the wait".
WAITING_INTENTS = frozenset({"check_order_status", "ask_other_order", "refund_status"})
WAITING_TASKS = frozenset({"status", "refund"})


def acknowledgement(tracker: Tracker, escalating: bool) -> tuple[str, dict[str, Any]]:
    """The response (and its values) that acknowledges an upset latest message.

    It leads into whatever answers the message: a person, an order check, or
    anything else.
    """
    intent = latest_intent(tracker)
    if escalating or intent == REQUEST_HUMAN_INTENT:
        return "utter_empathy_handoff", {}
    in_order_form = tracker.active_loop_name == ORDER_FORM
    waiting = intent in WAITING_INTENTS or (
        in_order_form
        and intent == "inform"
        and tracker.get_slot(ORDER_TASK) in WAITING_TASKS
    )
    if not waiting:
        return "utter_empathy", {}
    # An order named in this message, or the one the open order form is about.
    mentioned = next(tracker.get_latest_entity_values("order_id"), None)
    if mentioned is None and in_order_form:
        mentioned = tracker.get_slot("order_id")
    order_id = normalise_order_id(mentioned) if mentioned else None
    if order_id is None:
        return "utter_empathy_wait", {}
    return "utter_empathy_order_wait", {"order_id": order_id}


class ActionCheckEachMessage(Action):
    """Runs after every customer message (as ``action_validate_slot_mappings``).

    Keeps the ``sentiment`` slot to the latest message's own sentiment (a
    button tap has none), sets or clears ``handoff_reason``, and acknowledges
    a negative message before anything answers it.
    """

    def name(self) -> str:
        return ACTION_VALIDATE_SLOT_MAPPINGS

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        # Rasa still extracts slots for messages that arrive while an agent has
        # the conversation; the assistant must not say anything then.
        if tracker.is_paused():
            return []
        events = current_session(tracker.events)
        turns = user_turns(since_handoff(events))
        sentiment = turn_sentiment(turns[-1]) if turns else None
        reason = reason_to_escalate(turns)

        slot_events = []
        if tracker.get_slot(SENTIMENT) != sentiment:
            slot_events.append(SlotSet(SENTIMENT, sentiment))
        if tracker.get_slot(HANDOFF_REASON) != reason:
            slot_events.append(SlotSet(HANDOFF_REASON, reason))

        already_acknowledged = any(
            name.startswith(ACKNOWLEDGEMENT_PREFIX)
            for name in responses_since_latest_message(events)
        )
        if sentiment == NEGATIVE and not already_acknowledged:
            response, values = acknowledgement(tracker, escalating=reason is not None)
            dispatcher.utter_message(response=response, **values)
        return slot_events
