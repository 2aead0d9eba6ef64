"""Customer satisfaction: ask for a 1-5 rating once a task is done, and store it.

The question comes with the thanks or goodbye that follows an answered task,
at most once per session; its buttons send ``/rate{"rating": N}``. Anything
else the customer says instead simply skips it.
"""

from __future__ import annotations

import re

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.database import (
    UTTER_DATABASE_DOWN,
    apologise_if_database_down,
    in_transaction,
)
from actions.db.repository import save_rating
from actions.history import (
    Event,
    current_session,
    response_name,
    since_handoff,
    turn_intent,
)

UTTER_ASK_RATING = "utter_ask_rating"
RATE_INTENT = "rate"
RATING_ENTITY = "rating"
RATINGS = range(1, 6)
TASK_ACTIONS = frozenset({"action_order_followup", "action_account_followup"})
RATING_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
TYPED_RATING = re.compile(r"(?<![\w/])([1-5]|one|two|three|four|five)(?!\w)")


def task_answered(events: list[Event]) -> bool:
    """Whether an order or account task got its answer (not the outage apology)."""
    last_action = None
    for event in events:
        kind = event.get("event")
        if kind == "action":
            last_action = event.get("name")
        elif kind == "user":
            last_action = None
        elif (
            kind == "bot"
            and last_action in TASK_ACTIONS
            and response_name(event) != UTTER_DATABASE_DOWN
        ):
            return True
    return False


def rating_asked(events: list[Event]) -> bool:
    """Whether the rating question was already asked (once per session is enough)."""
    return any(
        event.get("event") == "bot" and response_name(event) == UTTER_ASK_RATING
        for event in events
    )


def rating_awaited(events: list[Event]) -> bool:
    """Whether the latest message answers a rating question not answered before."""
    messages = [
        index for index, event in enumerate(events) if event.get("event") == "user"
    ]
    if not messages:
        return False
    answered_later = False
    for event in reversed(events[: messages[-1]]):
        kind = event.get("event")
        if kind == "user" and turn_intent(event) == RATE_INTENT:
            answered_later = True
        elif kind == "bot" and response_name(event) == UTTER_ASK_RATING:
            return not answered_later
    return False


def rating_in_text(text: str) -> int | None:
    """The rating a typed answer gives ("4", "5 stars", "three out of five").

    Channels without buttons (SMS, more than three buttons on Messenger) get the
    question as text, so a typed answer counts as much as a tapped one.
    """
    match = TYPED_RATING.search(text.lower())
    if match is None:
        return None
    word = match.group(1)
    return int(word) if word.isdigit() else RATING_WORDS[word]


def rating_value(tracker: Tracker) -> int | None:
    """The 1-5 rating the latest message carries, if it carries a valid one."""
    value = next(tracker.get_latest_entity_values(RATING_ENTITY), None)
    if value is None:
        return rating_in_text(tracker.latest_message.get("text") or "")
    try:
        rating = int(str(value))
    except ValueError:
        return None
    return rating if rating in RATINGS else None


class ActionAskRating(Action):
    """Ask for a rating after a resolved task, unless it was asked this session."""

    def name(self) -> str:
        return "action_ask_rating"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events = current_session(tracker.events)
        if task_answered(since_handoff(events)) and not rating_asked(events):
            dispatcher.utter_message(response=UTTER_ASK_RATING)
        return []


class ActionStoreRating(Action):
    """Store the rating that answers our question (once), and thank the customer."""

    def name(self) -> str:
        return "action_store_rating"

    @apologise_if_database_down()
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        rating = rating_value(tracker)
        if rating is None or not rating_awaited(current_session(tracker.events)):
            dispatcher.utter_message(response="utter_anything_else")
            return []
        await in_transaction(
            lambda session: save_rating(session, tracker.sender_id, rating)
        )
        dispatcher.utter_message(response="utter_thank_rating")
        return []
