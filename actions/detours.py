"""Answers that do not change the task at hand: greetings and small talk.

Rules run this both outside and inside forms, so a remark in the middle of a
form is answered and the form then asks its question again. (Questions, and
messages not understood, go to the help center: ``actions.help_center``.)
"""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.history import latest_intent

DETOUR_INTENTS = frozenset(
    {
        "greet",
        "thank",
        "bot_challenge",
        "chitchat",
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
        dispatcher.utter_message(response=response)
        return []
