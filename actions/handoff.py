"""Hand the conversation to a person: open a support ticket, then stay quiet.

The ticket carries the reason, the customer (if verified), the sentiment of each
message and a transcript in which passcodes and card numbers are masked. The
conversation is then paused: Rasa records what the customer writes but the
assistant answers nothing until an agent releases it (``python -m actions.agent``),
even across a new session or ``/restart``, which would otherwise lift the pause.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import (
    ActionExecuted,
    ConversationPaused,
    EventType,
    Restarted,
    SessionStarted,
    SlotSet,
)
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.account_form import VERIFIED_CUSTOMER
from actions.database import (
    DATABASE_ERRORS,
    apologise_if_database_down,
    in_transaction,
)
from actions.db.repository import create_ticket, has_open_ticket
from actions.escalation import (
    ASKED_FOR_PERSON,
    HANDOFF_REASON,
    LOCKED_OUT,
    NOT_UNDERSTOOD,
    REASONS,
)
from actions.help_center_votes import record_vote_and_reply
from actions.history import (
    Event,
    current_session,
    latest_intent,
    offered_before_latest_message,
    trailing_fallbacks,
    user_turns,
)
from actions.privacy import PASSCODE_MASK, mask_secrets
from actions.ticket_delivery import deliver_in_background, webhook_url
from actions.verification import VERIFICATION_LOCKED
from metrics.actions import HANDOFFS

logger = logging.getLogger(__name__)

REQUEST_HUMAN = "/request_human"
KB_VOTE_YES = '/kb_vote{"helpful": "yes"}'
ACTION_LISTEN = "action_listen"


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
    noticed = tracker.get_slot(HANDOFF_REASON)
    if noticed in REASONS:
        return REASONS[noticed]
    if tracker.get_slot(VERIFICATION_LOCKED):
        return LOCKED_OUT
    earlier_turns = user_turns(events)[:-1]
    if trailing_fallbacks(earlier_turns):
        return REASONS[NOT_UNDERSTOOD]
    return ASKED_FOR_PERSON


# /metrics shows every trigger, at 0 until its first ticket.
for _trigger in (*REASONS.values(), ASKED_FOR_PERSON, LOCKED_OUT):
    HANDOFFS.labels(_trigger)


def paused_events() -> list[EventType]:
    """Pause the conversation, as if listening, for when an agent resumes it.

    While paused Rasa predicts nothing, not even ``action_listen``; recording it
    here means the first message after the release starts a normal turn.
    """
    return [ConversationPaused(), ActionExecuted(ACTION_LISTEN)]


class ActionHandoff(Action):
    """Open a ticket for a human agent, tell the customer its number, go quiet.

    The ticket is committed before the help desk's webhook is tried, in the
    background, so the customer is answered at once and the ticket is never
    lost to a failed delivery.
    """

    def name(self) -> str:
        return "action_handoff"

    @apologise_if_database_down()
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        return await hand_over(dispatcher, tracker)


async def hand_over(
    dispatcher: CollectingDispatcher, tracker: Tracker, reason: str | None = None
) -> list[EventType]:
    """Open the ticket, tell the customer its number, pause the conversation.

    ``reason`` is for callers that know better than the slots why a person is
    needed (the knowledge base, after two questions it could not answer).
    """
    events = current_session(tracker.events)
    customer_id = tracker.get_slot(VERIFIED_CUSTOMER)
    url = webhook_url()
    reason = reason or handoff_reason(tracker, events)
    ticket_number = await in_transaction(
        lambda session: create_ticket(
            session,
            conversation_id=tracker.sender_id,
            reason=reason,
            transcript=transcript(events),
            sentiment_trail=sentiment_trail(events),
            customer_id=int(customer_id) if customer_id is not None else None,
            deliver=url is not None,
        )
    )
    HANDOFFS.labels(reason).inc()
    if url is not None:
        deliver_in_background(ticket_number, url)
    dispatcher.utter_message(response="utter_handoff", ticket_number=ticket_number)
    return [SlotSet(HANDOFF_REASON, None), *paused_events()]


class ActionAnswerYesNo(Action):
    """A yes or no outside forms: "yes" to our offer of a person hands over.

    The offer is recognised by its "Talk to a person" button, so a typed "yes"
    works like tapping it. Right after a help-center answer, yes or no is the
    vote on it. Any other yes or no just moves on.
    """

    def name(self) -> str:
        return "action_answer_yes_no"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        offered = offered_before_latest_message(tracker.events)
        yes = latest_intent(tracker) == "affirm"
        if yes and REQUEST_HUMAN in offered:
            return await ActionHandoff().run(dispatcher, tracker, domain)
        if KB_VOTE_YES in offered:
            return await record_vote_and_reply(dispatcher, tracker, helpful=yes)
        dispatcher.utter_message(response="utter_anything_else")
        return []


async def with_person(conversation_id: str) -> bool:
    """Whether the conversation has an open ticket; without a database, say no."""
    try:
        return await in_transaction(
            lambda session: has_open_ticket(session, conversation_id)
        )
    except DATABASE_ERRORS as error:
        logger.warning(
            "open ticket check: database unreachable (%s)", type(error.orig).__name__
        )
        return False


class ActionSessionStart(Action):
    """Start a session, still paused while the conversation has an open ticket.

    Rasa lifts a pause whenever a session starts (e.g. after an idle hour),
    which would let the assistant talk over the agent. Otherwise it does what
    Rasa's own does with ``carry_over_slots_to_new_session: false`` (domain.yml).
    """

    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if await with_person(tracker.sender_id):
            return [SessionStarted(), *paused_events()]
        return [SessionStarted(), ActionExecuted(ACTION_LISTEN)]


class ActionRestart(Action):
    """``/restart``: start over, still paused while the conversation has an open ticket.

    Rasa handles ``/restart`` even in a paused conversation and the restart lifts
    the pause, which would let the assistant talk over the agent.
    """

    def name(self) -> str:
        return "action_restart"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if await with_person(tracker.sender_id):
            return [Restarted(), *paused_events()]
        return [Restarted()]
