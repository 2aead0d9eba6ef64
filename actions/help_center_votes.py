"""The customer's "Did this answer your question?" vote on a help-center answer.

The answer's buttons send ``/kb_vote{"helpful": "yes"|"no"}``; a typed yes or
no right after an answer counts the same (``actions.handoff`` passes it on).
"No" offers to rephrase or a person.
"""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.database import apologise_if_database_down, in_transaction
from actions.kb.store import record_vote

HELPFUL_ENTITY = "helpful"


async def record_vote_and_reply(
    dispatcher: CollectingDispatcher, tracker: Tracker, helpful: bool
) -> list[EventType]:
    await in_transaction(
        lambda session: record_vote(session, tracker.sender_id, helpful)
    )
    dispatcher.utter_message(
        response="utter_kb_helpful" if helpful else "utter_kb_not_helpful"
    )
    return []


class ActionRecordKbVote(Action):
    def name(self) -> str:
        return "action_record_kb_vote"

    @apologise_if_database_down()
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        values = [
            str(entity.get("value")).lower()
            for entity in tracker.latest_message.get("entities") or []
            if entity.get("entity") == HELPFUL_ENTITY
        ]
        if not values or values[-1] not in ("yes", "no"):
            # A hand-typed /kb_vote with no or a strange value: nothing to store.
            dispatcher.utter_message(response="utter_anything_else")
            return []
        return await record_vote_and_reply(dispatcher, tracker, values[-1] == "yes")
