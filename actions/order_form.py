"""Collecting and checking what an order task needs: ``order_form`` and its helpers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions.database import apologise_if_database_down, in_transaction
from actions.db.models import Order, OrderStatus, utcnow
from actions.db.repository import (
    find_order_for_customer,
    refund_status,
)
from actions.formatting import language_of, order_details
from actions.free_text import is_clear_stop
from actions.history import latest_intent
from actions.privacy import mask_secrets
from actions.shop_rules import return_window_days
from actions.verification import (
    VerifyingFormValidation,
    audit_failed_verification,
    failed_attempt_events,
    next_attempt,
    normalise_order_id,
)

ORDER_TASK = "order_task"
TASK_BY_INTENT = {
    "check_order_status": "status",
    "cancel_order": "cancel",
    "return_item": "return",
    "refund_status": "refund",
}
OTHER_ORDER_INTENT = "ask_other_order"
DEFAULT_TASK = "status"
MIN_REASON_LENGTH, MAX_REASON_LENGTH = 3, 500


class ActionPrepareOrderRequest(Action):
    """Set up ``order_form`` for the task just asked for, before it starts."""

    def name(self) -> str:
        return "action_prepare_order_request"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        intent = latest_intent(tracker)
        events = [SlotSet("cancel_confirmed", None), SlotSet("return_reason", None)]
        if intent == OTHER_ORDER_INTENT:
            # Same task, another order: ask for its number, keep the email.
            task = tracker.get_slot(ORDER_TASK) or DEFAULT_TASK
            if next(tracker.get_latest_entity_values("order_id"), None) is None:
                events.append(SlotSet("order_id", None))
        else:
            task = TASK_BY_INTENT.get(intent or "", DEFAULT_TASK)
        return [SlotSet(ORDER_TASK, task), *events]


def _return_reason_needed(session: Session, order: Order) -> bool:
    """Whether a return could be opened now, so asking for a reason makes sense.

    ``create_return`` has the final say; this only avoids asking in vain.
    """
    if order.status is not OrderStatus.DELIVERED or order.delivered_at is None:
        return False
    window_ends = order.delivered_at.date() + timedelta(days=return_window_days())
    if utcnow().date() > window_ends:
        return False
    # Every return comes with its refund, so no refund means no return yet.
    return not refund_status(session, order.customer_id, order.number)


class ValidateOrderForm(VerifyingFormValidation):
    """Order number + email must match an order; then ask what the task needs."""

    task_slot = ORDER_TASK

    def name(self) -> str:
        return "validate_order_form"

    async def needed_slots(self, tracker: Tracker) -> list[str]:
        return ["order_id", "email", *await self._task_question(tracker)]

    async def _task_question(self, tracker: Tracker) -> list[str]:
        """``cancel_confirmed`` / ``return_reason`` if the verified order allows it."""
        task = tracker.get_slot(ORDER_TASK)
        order_id, email = tracker.get_slot("order_id"), tracker.get_slot("email")
        if task not in ("cancel", "return") or not (order_id and email):
            return []

        def question(session: Session) -> list[str]:
            order = find_order_for_customer(session, order_id, email)
            if order is None:
                return []
            if task == "cancel":
                return (
                    ["cancel_confirmed"]
                    if order.status is OrderStatus.PROCESSING
                    else []
                )
            return ["return_reason"] if _return_reason_needed(session, order) else []

        return await in_transaction(question)

    async def verify(
        self, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        order_id, email = tracker.get_slot("order_id"), tracker.get_slot("email")
        just_given = {"order_id", "email"} & tracker.slots_to_validate().keys()
        if not (order_id and email and just_given):
            return []
        attempt = next_attempt(tracker)

        def owns_order(session: Session) -> bool:
            if find_order_for_customer(session, order_id, email) is not None:
                return True
            audit_failed_verification(
                session,
                tracker.sender_id,
                email,
                f"order {order_id}, attempt {attempt}",
            )
            return False

        if await in_transaction(owns_order):
            return []
        # Same words whether the order does not exist or is someone else's.
        dispatcher.utter_message(response="utter_order_not_found")
        return failed_attempt_events(dispatcher, tracker, cleared=("order_id", "email"))

    def validate_order_id(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        order_id = normalise_order_id(value)
        if order_id is None:
            dispatcher.utter_message(response="utter_invalid_order_id")
        return {"order_id": order_id}

    def validate_cancel_confirmed(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        """Only a yes or a no (affirm/deny, e.g. the buttons) answers the question."""
        return {"cancel_confirmed": value if isinstance(value, bool) else None}

    def validate_return_reason(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        """Keep a short reason; it is stored, so card numbers and codes are masked.

        Whatever the customer says is the reason ("changed my mind", "no
        reason"), unless the whole message asks to stop: then the form ends
        without a task, and action_order_followup has nothing to carry out.
        """
        if is_clear_stop(str(value)):
            dispatcher.utter_message(response="utter_stopped")
            return {"return_reason": None, ORDER_TASK: None, REQUESTED_SLOT: None}
        reason = mask_secrets(str(value).strip())
        if not MIN_REASON_LENGTH <= len(reason) <= MAX_REASON_LENGTH:
            dispatcher.utter_message(response="utter_invalid_return_reason")
            return {"return_reason": None}
        return {"return_reason": reason}


class ActionAskCancelConfirmed(Action):
    """Ask to confirm a cancellation, showing what would be cancelled."""

    def name(self) -> str:
        return "action_ask_cancel_confirmed"

    @apologise_if_database_down()
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        order_id, email = tracker.get_slot("order_id"), tracker.get_slot("email")
        language = language_of(tracker)

        def describe(session: Session) -> dict[str, str] | None:
            order = find_order_for_customer(session, order_id, email)
            return order_details(order, language) if order is not None else None

        details = await in_transaction(describe)
        if details is None:
            dispatcher.utter_message(response="utter_order_not_found")
        else:
            dispatcher.utter_message(response="utter_ask_cancel_confirmed", **details)
        return []
