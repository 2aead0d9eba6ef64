"""What an account task needs: ``account_form`` collects and checks email + passcode."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions.database import in_transaction
from actions.db.repository import verify_account
from actions.history import latest_intent
from actions.privacy import PASSCODE_MASK
from actions.verification import (
    VerifyingFormValidation,
    audit_failed_verification,
    failed_attempt_events,
    find_passcode,
    next_attempt,
)

ACCOUNT_TASK = "account_task"
VERIFIED_CUSTOMER = "verified_customer_id"
TASK_BY_INTENT = {
    "check_balance": "balance",
    "recent_transactions": "transactions",
    "list_orders": "orders",
}
DEFAULT_TASK = "balance"


class ActionPrepareAccountRequest(Action):
    """Remember which account task was asked for, before ``account_form`` starts."""

    def name(self) -> str:
        return "action_prepare_account_request"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        task = TASK_BY_INTENT.get(latest_intent(tracker) or "", DEFAULT_TASK)
        return [SlotSet(ACCOUNT_TASK, task)]


class ValidateAccountForm(VerifyingFormValidation):
    """Email + passcode must match a customer; once verified, never ask again.

    The passcode slot holds the typed code only until the check, in the same
    turn: afterwards it is the mask (verified) or empty (asked again).
    """

    task_slot = ACCOUNT_TASK

    def name(self) -> str:
        return "validate_account_form"

    async def needed_slots(self, tracker: Tracker) -> list[str]:
        return (
            []
            if tracker.get_slot(VERIFIED_CUSTOMER) is not None
            else ["email", "passcode"]
        )

    async def verify(
        self, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        email, passcode = tracker.get_slot("email"), tracker.get_slot("passcode")
        if passcode in (None, PASSCODE_MASK):
            return []
        if not email:
            return [SlotSet("passcode", None)]  # asked again once the email is known
        attempt = next_attempt(tracker)

        def customer_id(session: Session) -> int | None:
            customer = verify_account(session, email, passcode)
            if customer is not None:
                return customer.id
            audit_failed_verification(
                session, tracker.sender_id, email, f"account, attempt {attempt}"
            )
            return None

        verified_id = await in_transaction(customer_id)
        if verified_id is not None:
            return [
                SlotSet("passcode", PASSCODE_MASK),
                SlotSet(VERIFIED_CUSTOMER, verified_id),
            ]
        # Same words whether the email is unknown or the passcode is wrong.
        dispatcher.utter_message(response="utter_account_not_verified")
        return failed_attempt_events(dispatcher, tracker, cleared=("email", "passcode"))

    def validate_passcode(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        """Take the digits out of e.g. "my pin is 4321"; never repeat what was typed."""
        passcode = find_passcode(value)
        if passcode is None:
            dispatcher.utter_message(response="utter_invalid_passcode")
        return {"passcode": passcode}
