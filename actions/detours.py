"""Answers that do not change the task at hand: FAQ, small talk, and not understanding.

Rules run these both outside and inside forms, so a question in the middle of
a form is answered and the form then asks its question again.
"""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.db.repository import return_window_days
from actions.history import latest_intent, trailing_fallbacks, user_turns

DETOUR_INTENTS = frozenset(
    {
        "greet",
        "thank",
        "complain",
        "faq_shipping_times",
        "faq_return_policy",
        "faq_payment_methods",
        "faq_contact_hours",
        "bot_challenge",
        "chitchat",
        "out_of_scope",
    }
)
# From this many misunderstood messages in a row, offer a person instead.
FALLBACKS_BEFORE_HUMAN = 2


class ActionRespondToDetour(Action):
    """Utter ``utter_<intent>`` for the detour intent just recognised."""

    def name(self) -> str:
        return "action_respond_to_detour"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        intent = latest_intent(tracker)
        response = f"utter_{intent}" if intent in DETOUR_INTENTS else "utter_default"
        # The return policy quotes the configured window, not a hard-coded one.
        dispatcher.utter_message(
            response=response, return_window_days=str(return_window_days())
        )
        return []


class ActionHandleFallback(Action):
    """Low NLU confidence: ask to rephrase once, then offer a person."""

    def name(self) -> str:
        return "action_handle_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if trailing_fallbacks(user_turns(tracker.events)) >= FALLBACKS_BEFORE_HUMAN:
            dispatcher.utter_message(response="utter_offer_human")
        else:
            dispatcher.utter_message(response="utter_ask_rephrase")
        return []
