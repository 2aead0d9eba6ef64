"""Identity checks shared by the order and account forms.

Both forms check a pair of details against the database (order number + email,
or email + passcode). A wrong pair gets the same answer whatever was wrong, is
audited without the secret, and counts towards one per-conversation limit: at
``MAX_FAILED_VERIFICATIONS`` verification is locked, the task's follow-up hands
the conversation to a person, and later tasks are refused at once.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecutionRejected, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT, FormValidationAction
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions.database import apologise_if_database_down
from actions.db.models import AuditAction
from actions.db.repository import record_audit
from actions.escalation import HANDOFF_REASON

MAX_FAILED_VERIFICATIONS = 3
FAILED_VERIFICATIONS = "failed_verifications"
VERIFICATION_LOCKED = "verification_locked"
UTTER_LOCKED = "utter_verification_locked"
UTTER_NOW_LOCKED = "utter_verification_now_locked"

# Strict on purpose: anything else (e.g. "ORD-1'; DROP TABLE orders") is not an id.
_ORDER_ID = re.compile(r"(?:ord(?:er)?[\s_-]*)?(\d{4,6})", re.IGNORECASE)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_PASSCODE = re.compile(r"(?<!\d)\d{4,8}(?!\d)")
_MAX_EMAIL_LENGTH = 254
_AUDIT_TARGET_LENGTH = 100


def normalise_order_id(text: str) -> str | None:
    """``ord 1002`` / ``ORD1002`` / ``1002`` -> ``ORD-1002``; None if it is not one."""
    match = _ORDER_ID.fullmatch(str(text).strip().rstrip(".!"))
    return f"ORD-{match.group(1)}" if match else None


def normalise_email(text: str) -> str | None:
    """The email address in lower case, or None if ``text`` is not exactly one."""
    candidate = str(text).strip().rstrip(".")
    if len(candidate) > _MAX_EMAIL_LENGTH or not _EMAIL.fullmatch(candidate):
        return None
    return candidate.lower()


def find_passcode(text: str) -> str | None:
    """The one 4-8 digit group in ``text`` ("my pin is 4321" -> "4321"), else None."""
    groups = _PASSCODE.findall(str(text))
    return groups[0] if len(groups) == 1 else None


def audit_failed_verification(
    session: Session, conversation_id: str, email: str, detail: str
) -> None:
    """Record who was tried (the email), never what was typed as a secret."""
    record_audit(
        session,
        conversation_id,
        actor="customer:unverified",
        action=AuditAction.VERIFICATION_FAILED,
        target=email[:_AUDIT_TARGET_LENGTH],
        detail=detail,
    )


def next_attempt(tracker: Tracker) -> int:
    """Number of the failed attempt being recorded now (1 for the first)."""
    return int(tracker.get_slot(FAILED_VERIFICATIONS) or 0) + 1


def failed_attempt_events(
    dispatcher: CollectingDispatcher, tracker: Tracker, cleared: tuple[str, ...]
) -> list[EventType]:
    """Forget the rejected details and count the attempt; lock at the limit.

    Locking ends the form; its follow-up then hands over (see locked_just_now).
    """
    attempts = next_attempt(tracker)
    events = [SlotSet(slot, None) for slot in cleared]
    events.append(SlotSet(FAILED_VERIFICATIONS, float(attempts)))
    if attempts >= MAX_FAILED_VERIFICATIONS:
        dispatcher.utter_message(response=UTTER_NOW_LOCKED)
        events.append(SlotSet(VERIFICATION_LOCKED, True))
    return events


def locked_just_now(tracker: Tracker) -> bool:
    """Whether the customer's latest message got verification locked.

    The follow-up actions hand over then. (A rule could not: a form that sets
    a dialogue-relevant slot in one rule must set it in all of them.)
    """
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if (
            event.get("event") == "slot"
            and event.get("name") == VERIFICATION_LOCKED
            and event.get("value") is True
        ):
            return True
    return False


def _abandon_task(
    action: VerifyingFormValidation, _tracker: Tracker
) -> list[EventType]:
    """The database is down: end the form and drop its task so nothing follows up."""
    return [SlotSet(action.task_slot, None), SlotSet(REQUESTED_SLOT, None)]


class VerifyingFormValidation(FormValidationAction, ABC):
    """Form validation that checks a pair of details once both are known.

    Subclasses say which slots they still need and how to check the pair; this
    class handles the lock, the email format and a database outage.
    """

    task_slot: str

    @apologise_if_database_down(events_on_outage=_abandon_task)
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.get_slot(HANDOFF_REASON):
            # A person is needed (see actions.empathy): reject, so that the
            # hand-over rule ends the form instead of it asking its next question.
            return [ActionExecutionRejected(self.form_name())]
        if tracker.get_slot(VERIFICATION_LOCKED):
            dispatcher.utter_message(response=UTTER_LOCKED)
            return [SlotSet(REQUESTED_SLOT, None)]
        return await super().run(dispatcher, tracker, domain)

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if tracker.get_slot(VERIFICATION_LOCKED):
            return []
        return await self.needed_slots(tracker)

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Check each slot's format first, then the pair they make together.

        The verdict's values replace the validated ones, so e.g. a checked
        passcode goes back to Rasa only as the mask.
        """
        events = await super().get_validation_events(dispatcher, tracker, domain)
        tracker.add_slots(events)
        verdict = await self.verify(dispatcher, tracker)
        decided = {event["name"] for event in verdict if event["event"] == "slot"}
        return [event for event in events if event["name"] not in decided] + verdict

    @abstractmethod
    async def needed_slots(self, tracker: Tracker) -> list[str]:
        """Slots to ask for, in order, given what is known so far."""

    @abstractmethod
    async def verify(
        self, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        """Check the details once complete; events for a failure, else none."""

    def validate_email(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        email = normalise_email(value)
        if email is None:
            dispatcher.utter_message(response="utter_invalid_email")
        return {"email": email}
