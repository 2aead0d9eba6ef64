"""Account tasks for a verified customer: balance, transactions, list of orders."""

from __future__ import annotations

from collections.abc import Callable

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions.account_form import ACCOUNT_TASK, VERIFIED_CUSTOMER
from actions.database import apologise_if_database_down, in_transaction
from actions.db.repository import get_account, list_orders, recent_transactions
from actions.formatting import (
    Reply,
    account_label,
    language_of,
    money,
    order_line,
    transaction_line,
)
from actions.handoff import ActionHandoff
from actions.verification import VERIFICATION_LOCKED, locked_just_now

RECENT_TRANSACTIONS = 5


def _balance(session: Session, customer_id: int, language: str) -> Reply:
    account = get_account(session, customer_id)
    if account is None:
        return Reply("utter_no_account")
    return Reply(
        "utter_balance",
        {
            "account": account_label(account.number, language),
            "balance": money(account.balance, account.currency, language),
        },
    )


def _transactions(session: Session, customer_id: int, language: str) -> Reply:
    account = get_account(session, customer_id)
    if account is None:
        return Reply("utter_no_account")
    transactions = recent_transactions(session, account.id, limit=RECENT_TRANSACTIONS)
    values = {"account": account_label(account.number, language)}
    if not transactions:
        return Reply("utter_no_transactions", values)
    lines = "\n".join(
        transaction_line(item, account.currency, language) for item in transactions
    )
    return Reply("utter_recent_transactions", {**values, "transactions": lines})


def _orders(session: Session, customer_id: int, language: str) -> Reply:
    orders = list_orders(session, customer_id)
    if not orders:
        return Reply("utter_no_orders")
    return Reply(
        "utter_list_orders",
        {"orders": "\n".join(order_line(order, language) for order in orders)},
    )


TASKS: dict[str, Callable[[Session, int, str], Reply]] = {
    "balance": _balance,
    "transactions": _transactions,
    "orders": _orders,
}


class ActionAccountFollowup(Action):
    """Runs after ``account_form``: answers ``account_task`` for the verified one.

    If the form just locked verification, a person takes over instead.
    """

    def name(self) -> str:
        return "action_account_followup"

    @apologise_if_database_down()
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if locked_just_now(tracker):
            return await ActionHandoff().run(dispatcher, tracker, domain)
        task = tracker.get_slot(ACCOUNT_TASK)
        customer_id = tracker.get_slot(VERIFIED_CUSTOMER)
        # Locked, or the form ended early and already said why: nothing to add.
        if (
            tracker.get_slot(VERIFICATION_LOCKED)
            or task not in TASKS
            or customer_id is None
        ):
            return []
        language = language_of(tracker)
        reply = await in_transaction(
            lambda session: TASKS[task](session, int(customer_id), language)
        )
        dispatcher.utter_message(response=reply.response, **reply.values)
        return []
