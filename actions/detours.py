"""Answers that do not change the task at hand: FAQ and small talk.

Rules run this both outside and inside forms, so a question in the middle of
a form is answered and the form then asks its question again. (A message not
understood gets ``utter_ask_rephrase``; a second one in a row calls a person,
see ``actions.escalation``.)
"""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.history import latest_intent
from actions.shop_rules import return_window_days

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
