"""Order tasks once ``order_form`` is done: status, cancel, return, refund."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions.database import apologise_if_database_down, in_transaction
from actions.db.models import Order, OrderStatus, RefundStatus
from actions.db.repository import (
    CancelResult,
    ReturnOutcome,
    cancel_order,
    create_return,
    find_order_for_customer,
    refund_status,
)
from actions.formatting import ENGLISH, Reply, day, language_of, money, order_details
from actions.handoff import ActionHandoff
from actions.order_form import ORDER_TASK
from actions.shop_rules import return_window_days
from actions.verification import VERIFICATION_LOCKED, locked_just_now

# Stored when a return is opened without a reason (only if the form was bypassed).
NO_REASON_GIVEN = "no reason given"


@dataclass(frozen=True)
class OrderRequest:
    """What the customer asked for, as collected by ``order_form``."""

    task: str
    order_id: str
    email: str
    cancel_confirmed: bool | None
    return_reason: str | None
    conversation_id: str
    language: str = ENGLISH  # how dates and amounts are written


def _status(_session: Session, order: Order, request: OrderRequest) -> Reply:
    return Reply(
        f"utter_order_status_{order.status.value}",
        order_details(order, request.language),
    )


def _cancel(session: Session, order: Order, request: OrderRequest) -> Reply:
    """Cancel only a confirmed, processing order; the repository prevents repeats."""
    values = {"order_id": order.number, "return_window_days": str(return_window_days())}
    if order.status is OrderStatus.PROCESSING and request.cancel_confirmed is not True:
        return Reply("utter_order_kept", values)
    result = cancel_order(
        session, order.number, order.customer_id, request.conversation_id
    )
    responses = {
        CancelResult.CANCELLED: "utter_order_cancelled",
        CancelResult.ALREADY_CANCELLED: "utter_order_already_cancelled",
        CancelResult.NOT_CANCELLABLE: f"utter_cancel_refused_{order.status.value}",
        CancelResult.NOT_FOUND: "utter_order_not_found",
    }
    return Reply(responses[result], values)


def _return(session: Session, order: Order, request: OrderRequest) -> Reply:
    """Open a return (RMA + refund date), or say why it cannot be opened."""
    language = request.language
    values = {"order_id": order.number, "return_window_days": str(return_window_days())}
    if order.status is OrderStatus.CANCELLED:
        return Reply("utter_return_cancelled_order", values)
    result = create_return(
        session,
        order.number,
        order.customer_id,
        request.return_reason or NO_REASON_GIVEN,
        request.conversation_id,
    )
    # Each outcome carries the fields its answer needs (see ReturnResult).
    if result.outcome is ReturnOutcome.CREATED:
        values["rma_number"] = str(result.rma_number)
        values["refund_amount"] = money(result.refund_amount, language=language)
        values["refund_expected_by"] = day(result.refund_expected_by, language=language)
    elif result.outcome is ReturnOutcome.ALREADY_EXISTS:
        values["rma_number"] = str(result.rma_number)
    elif result.outcome is ReturnOutcome.WINDOW_EXPIRED:
        values["window_ends"] = day(result.window_ends, language=language)
    responses = {
        ReturnOutcome.CREATED: "utter_return_created",
        ReturnOutcome.ALREADY_EXISTS: "utter_return_exists",
        ReturnOutcome.NOT_DELIVERED: "utter_return_not_delivered",
        ReturnOutcome.WINDOW_EXPIRED: "utter_return_window_passed",
        ReturnOutcome.NOT_FOUND: "utter_order_not_found",
    }
    return Reply(responses[result.outcome], values)


def _refund(session: Session, order: Order, request: OrderRequest) -> Reply:
    """The newest refund for the order, pending (with its date) or paid."""
    language = request.language
    refunds = refund_status(session, order.customer_id, order.number)
    if not refunds:
        return Reply("utter_no_refund", {"order_id": order.number})
    refund = refunds[0]
    values = {
        "order_id": order.number,
        "rma_number": refund.return_.rma_number,
        "refund_amount": money(refund.amount, language=language),
    }
    if refund.status is RefundStatus.PROCESSED and refund.processed_at is not None:
        return Reply(
            "utter_refund_processed",
            {**values, "processed_on": day(refund.processed_at, language=language)},
        )
    return Reply(
        "utter_refund_pending",
        {**values, "refund_expected_by": day(refund.expected_by, language=language)},
    )


TASKS: dict[str, Callable[[Session, Order, OrderRequest], Reply]] = {
    "status": _status,
    "cancel": _cancel,
    "return": _return,
    "refund": _refund,
}


def answer(session: Session, request: OrderRequest) -> Reply:
    """Re-check ownership (never trust the slots alone), then do the task."""
    order = find_order_for_customer(session, request.order_id, request.email)
    if order is None:
        return Reply("utter_order_not_found")
    return TASKS[request.task](session, order, request)


class ActionOrderFollowup(Action):
    """Runs after ``order_form``: does ``order_task`` for the verified order.

    If the form just locked verification, a person takes over instead.
    """

    def name(self) -> str:
        return "action_order_followup"

    @apologise_if_database_down()
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if locked_just_now(tracker):
            return await ActionHandoff().run(dispatcher, tracker, domain)
        task = tracker.get_slot(ORDER_TASK)
        order_id, email = tracker.get_slot("order_id"), tracker.get_slot("email")
        # Locked, or the form ended early and already said why: nothing to add.
        if (
            tracker.get_slot(VERIFICATION_LOCKED)
            or task not in TASKS
            or not (order_id and email)
        ):
            return []
        request = OrderRequest(
            task=task,
            order_id=order_id,
            email=email,
            cancel_confirmed=tracker.get_slot("cancel_confirmed"),
            return_reason=tracker.get_slot("return_reason"),
            conversation_id=tracker.sender_id,
            language=language_of(tracker),
        )
        reply = await in_transaction(lambda session: answer(session, request))
        dispatcher.utter_message(response=reply.response, **reply.values)
        return []
