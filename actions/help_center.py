"""Answers from the help center for questions no task intent covers.

Rules run ``action_answer_question`` for general questions (the FAQ intents),
complaints, ``out_of_scope`` and ``nlu_fallback``, outside forms and as a
detour inside them (the form then asks its question again). Task intents never
come here: an order's status is looked up, not searched for.

The knowledge base answers when its best article passes the calibrated rule
(``actions.kb.retrieval.Rule``), with the article's title and a "Did this
answer your question?" vote. When two articles fit about equally it asks which
one the customer means, with both titles as buttons (a button sends the title,
which then matches its article clearly). Otherwise it says honestly that it has
no answer and offers a person. A second unanswered question in a row hands
over, like two messages the assistant did not understand did before. A
complaint no article answers is not a question left unanswered: it gets
``utter_complain``, which offers a person, and counts for nothing. Every
answer and decline is stored, the question masked, for the analytics and for
improving the articles.
"""

from __future__ import annotations

import asyncio

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.database import apologise_if_database_down, in_transaction
from actions.escalation import NOT_UNDERSTOOD, REASONS
from actions.formatting import language_of
from actions.handoff import hand_over
from actions.history import (
    current_session,
    latest_intent,
    responses_to_previous_message,
)
from actions.kb import knowledge
from actions.kb.store import record_answer
from actions.privacy import mask_secrets
from actions.shop_rules import return_window_days
from metrics.actions import KNOWLEDGE_BASE_QUESTIONS

UTTER_ANSWER = "utter_kb_answer"
UTTER_NO_ANSWER = "utter_kb_no_answer"
UTTER_WHICH = "utter_kb_which"
UTTER_COMPLAINT = "utter_complain"
COMPLAIN = "complain"


def filled(answer: str) -> str:
    """An article's answer with the shop's configured figures put in."""
    return answer.replace("{return_window_days}", str(return_window_days()))


def outcome_of(decision: knowledge.Decision) -> str:
    """``answered``, ``alternatives`` or ``declined``: the label on /metrics."""
    if decision.answered:
        return "answered"
    return "alternatives" if decision.alternative else "declined"


class ActionAnswerQuestion(Action):
    def name(self) -> str:
        return "action_answer_question"

    @apologise_if_database_down()
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        question = tracker.latest_message.get("text") or ""
        # Embedding and the index check block for milliseconds: not on the loop.
        # From the articles in the customer's language, by its own model.
        kb = knowledge.shared(language_of(tracker))
        decision = await asyncio.to_thread(kb.decide, question)
        hit = decision.hit
        await in_transaction(
            lambda session: record_answer(
                session,
                conversation_id=tracker.sender_id,
                masked_question=mask_secrets(decision.question),
                article_slug=hit.slug if hit else None,
                score=decision.score,
                answered=decision.answered,
            )
        )
        KNOWLEDGE_BASE_QUESTIONS.labels(outcome_of(decision)).inc()
        if decision.answered:
            dispatcher.utter_message(
                response=UTTER_ANSWER,
                title=decision.entry.title,
                answer=filled(decision.entry.answer),
            )
            return []
        if decision.alternative:
            dispatcher.utter_message(
                response=UTTER_WHICH,
                first=decision.entry.title,
                second=decision.alternative.title,
            )
            return []
        if latest_intent(tracker) == COMPLAIN:
            dispatcher.utter_message(response=UTTER_COMPLAINT)
            return []
        events = current_session(tracker.events)
        if UTTER_NO_ANSWER in responses_to_previous_message(events):
            ending_form = (
                [ActiveLoop(None), SlotSet("requested_slot", None)]
                if tracker.active_loop_name
                else []
            )
            return ending_form + await hand_over(
                dispatcher, tracker, REASONS[NOT_UNDERSTOOD]
            )
        dispatcher.utter_message(response=UTTER_NO_ANSWER)
        return []
