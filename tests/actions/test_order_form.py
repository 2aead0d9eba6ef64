"""order_form: the task, formats, ownership, and asking only what is needed."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.engine import Engine

from actions.db.models import AuditLog, Order, OrderStatus
from actions.order_form import (
    ActionAskCancelConfirmed,
    ActionPrepareOrderRequest,
    ValidateOrderForm,
)
from actions.orders import ActionOrderFollowup
from tests.actions.helpers import (
    ALICE,
    BOB,
    audit_rows,
    count,
    form_tracker,
    make_tracker,
    order_status,
    rendered,
    responses,
    slot_events,
)

INJECTION = "ORD-1001'; DROP TABLE orders;--"


async def run(
    action: Action, tracker: Tracker, domain: dict[str, Any]
) -> tuple[CollectingDispatcher, dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, domain)
    return dispatcher, slot_events(events)


def give(
    candidates: dict[str, Any],
    slots: dict[str, Any] | None = None,
    requested: str = "email",
) -> Tracker:
    """The order form receiving ``candidates`` while ``requested`` was asked for."""
    return form_tracker(
        "order_form", {"order_task": "status", **(slots or {})}, candidates, requested
    )


# --- preparing the task ----------------------------------------------------------


@pytest.mark.parametrize(
    ("intent", "task"),
    [
        ("check_order_status", "status"),
        ("cancel_order", "cancel"),
        ("return_item", "return"),
        ("refund_status", "refund"),
    ],
)
async def test_prepare_sets_the_task_and_resets_its_answers(
    intent: str, task: str, domain: dict[str, Any]
) -> None:
    tracker = make_tracker(
        {"order_id": "ORD-1001", "cancel_confirmed": False, "return_reason": "old"},
        intent=intent,
    )
    _, slots = await run(ActionPrepareOrderRequest(), tracker, domain)
    assert slots == {
        "order_task": task,
        "cancel_confirmed": None,
        "return_reason": None,
    }


async def test_other_order_keeps_task_and_email_but_asks_for_the_number(
    domain: dict[str, Any],
) -> None:
    tracker = make_tracker(
        {"order_task": "cancel", "order_id": "ORD-1001", "email": ALICE},
        intent="ask_other_order",
    )
    _, slots = await run(ActionPrepareOrderRequest(), tracker, domain)
    assert slots["order_task"] == "cancel"
    assert slots["order_id"] is None
    assert "email" not in slots


async def test_other_order_with_its_number_keeps_that_number(
    domain: dict[str, Any],
) -> None:
    entity = {"entity": "order_id", "value": "ORD-1003"}
    tracker = make_tracker(
        {"order_id": "ORD-1003"}, intent="ask_other_order", entities=[entity]
    )
    _, slots = await run(ActionPrepareOrderRequest(), tracker, domain)
    assert slots["order_task"] == "status"  # nothing asked before: status
    assert "order_id" not in slots


# --- formats ------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed", ["ORD-1002", "ord 1002", "ord-1002", "ORD1002", " 1002 ", "order 1002"]
)
async def test_order_numbers_are_normalised(typed: str, domain: dict[str, Any]) -> None:
    dispatcher, slots = await run(
        ValidateOrderForm(), give({"order_id": typed}, requested="order_id"), domain
    )
    assert slots["order_id"] == "ORD-1002"
    assert slots["requested_slot"] == "email"
    assert dispatcher.messages == []


@pytest.mark.parametrize(
    "typed", [INJECTION, "ORD-1001 OR 1=1", "my order", "ORD-12", "ORD-1001, ORD-1002"]
)
async def test_anything_else_is_not_an_order_number(
    typed: str, domain: dict[str, Any], db_url: str, engine: Engine
) -> None:
    orders_before, audit_before = count(engine, Order), count(engine, AuditLog)
    tracker = give({"order_id": typed}, {"email": ALICE}, requested="order_id")
    dispatcher, slots = await run(ValidateOrderForm(), tracker, domain)
    assert slots["order_id"] is None
    assert slots["requested_slot"] == "order_id"
    assert rendered(dispatcher, domain) == [
        "That doesn't look like an order number. Order numbers look like ORD-1234. "
        "You can say 'stop' to do something else."
    ]
    # Not a verification attempt, and the database is untouched.
    assert "failed_verifications" not in slots
    assert count(engine, AuditLog) == audit_before
    assert count(engine, Order) == orders_before


@pytest.mark.parametrize("typed", ["alice", "alice@example", "my email", "a@b.c"])
async def test_email_format_is_checked(typed: str, domain: dict[str, Any]) -> None:
    dispatcher, slots = await run(ValidateOrderForm(), give({"email": typed}), domain)
    assert slots["email"] is None
    assert responses(dispatcher) == ["utter_invalid_email"]


# --- ownership ------------------------------------------------------------------


async def test_matching_order_and_email_complete_a_status_request(
    domain: dict[str, Any], db_url: str
) -> None:
    tracker = give({"email": "Alice@Example.com"}, {"order_id": "ORD-1001"})
    dispatcher, slots = await run(ValidateOrderForm(), tracker, domain)
    assert slots == {"email": ALICE, "requested_slot": None}
    assert dispatcher.messages == []


async def test_wrong_email_is_refused_cleared_counted_and_audited(
    domain: dict[str, Any], db_url: str, engine: Engine
) -> None:
    tracker = give({"email": BOB}, {"order_id": "ORD-1001"})
    dispatcher, slots = await run(ValidateOrderForm(), tracker, domain)
    assert rendered(dispatcher, domain) == [
        "I couldn't find an order with that number for that email address."
    ]
    assert slots["order_id"] is None and slots["email"] is None
    assert slots["failed_verifications"] == 1
    assert slots["requested_slot"] == "order_id"
    [row] = audit_rows(engine, "verification_failed")
    assert (row.conversation_id, row.target) == ("test-conversation", BOB)
    assert "ORD-1001" in row.detail


async def test_someone_elses_order_reads_like_a_missing_one(
    domain: dict[str, Any], db_url: str
) -> None:
    """Bob's ORD-2001 with Alice's email must not reveal that ORD-2001 exists."""
    answers = []
    for order_id in ("ORD-2001", "ORD-9999"):
        tracker = give({"email": ALICE}, {"order_id": order_id})
        dispatcher, slots = await run(ValidateOrderForm(), tracker, domain)
        answers.append((rendered(dispatcher, domain), slots))
    assert answers[0] == answers[1]


async def test_third_failure_locks_verification_and_calls_a_person(
    domain: dict[str, Any], db_url: str
) -> None:
    tracker = give(
        {"email": ALICE}, {"order_id": "ORD-2001", "failed_verifications": 2.0}
    )
    dispatcher, slots = await run(ValidateOrderForm(), tracker, domain)
    assert responses(dispatcher) == [
        "utter_order_not_found",
        "utter_verification_now_locked",
    ]
    assert slots["verification_locked"] is True
    assert slots["failed_verifications"] == 3
    assert slots["requested_slot"] is None  # the form ends; its follow-up hands over
    # A later task is refused with the offer of a person.
    locked = domain["responses"]["utter_verification_locked"][0]
    assert "/request_human" in [button["payload"] for button in locked["buttons"]]


async def test_once_locked_the_form_ends_at_once_even_with_correct_details(
    domain: dict[str, Any], unreachable_db: str
) -> None:
    """No database access at all while locked (the database here is unreachable)."""
    tracker = give(
        {"email": ALICE}, {"order_id": "ORD-1001", "verification_locked": True}
    )
    dispatcher, slots = await run(ValidateOrderForm(), tracker, domain)
    assert responses(dispatcher) == ["utter_verification_locked"]
    assert slots == {"requested_slot": None}
    follow_up = CollectingDispatcher()
    locked_tracker = make_tracker(
        {
            "order_task": "status",
            "order_id": "ORD-1001",
            "email": ALICE,
            "verification_locked": True,
        }
    )
    assert await ActionOrderFollowup().run(follow_up, locked_tracker, domain) == []
    assert follow_up.messages == []


# --- what else the task needs ------------------------------------------------------


@pytest.mark.parametrize(
    ("task", "order_id", "next_slot"),
    [
        ("cancel", "ORD-1002", "cancel_confirmed"),  # processing: ask to confirm
        ("cancel", "ORD-1001", None),  # shipped: nothing to confirm, refuse afterwards
        ("return", "ORD-1003", "return_reason"),  # delivered 10 days ago
        ("return", "ORD-1001", None),  # not delivered yet
        ("refund", "ORD-1003", None),
    ],
)
async def test_task_questions_depend_on_the_verified_order(
    task: str, order_id: str, next_slot: str | None, domain: dict[str, Any], db_url: str
) -> None:
    tracker = give({"email": ALICE}, {"order_task": task, "order_id": order_id})
    _, slots = await run(ValidateOrderForm(), tracker, domain)
    assert slots["requested_slot"] == next_slot


async def test_other_customers_return_window_is_checked_before_asking(
    domain: dict[str, Any], db_url: str
) -> None:
    tracker = give({"email": BOB}, {"order_task": "return", "order_id": "ORD-2001"})
    _, slots = await run(ValidateOrderForm(), tracker, domain)
    assert slots["requested_slot"] is None  # delivered 45 days ago: no reason to ask


async def test_no_reason_asked_when_a_return_already_exists(
    domain: dict[str, Any], db_url: str
) -> None:
    done = make_tracker(
        {
            "order_task": "return",
            "order_id": "ORD-1003",
            "email": ALICE,
            "return_reason": "too loud",
        }
    )
    await ActionOrderFollowup().run(CollectingDispatcher(), done, domain)
    tracker = give({"email": ALICE}, {"order_task": "return", "order_id": "ORD-1003"})
    _, slots = await run(ValidateOrderForm(), tracker, domain)
    assert slots["requested_slot"] is None


async def test_prefilled_details_are_verified_when_the_form_starts(
    domain: dict[str, Any], db_url: str
) -> None:
    """Status then return of the same order: nothing is asked again but the reason."""
    tracker = form_tracker(
        "order_form",
        {"order_task": "return"},
        {"order_id": "ORD-1003", "email": ALICE},
        requested_slot=None,
    )
    dispatcher, slots = await run(ValidateOrderForm(), tracker, domain)
    assert slots["requested_slot"] == "return_reason"
    assert dispatcher.messages == []


@pytest.mark.parametrize(
    ("intent_value", "kept"), [(True, True), (False, False), ("yes", None)]
)
async def test_cancel_confirmation_is_a_yes_or_a_no(
    intent_value: Any, kept: bool | None, domain: dict[str, Any], db_url: str
) -> None:
    slots = {"order_task": "cancel", "order_id": "ORD-1002", "email": ALICE}
    tracker = give(
        {"cancel_confirmed": intent_value}, slots, requested="cancel_confirmed"
    )
    _, events = await run(ValidateOrderForm(), tracker, domain)
    assert events["cancel_confirmed"] is kept


async def test_return_reason_is_stored_without_card_numbers(
    domain: dict[str, Any], db_url: str
) -> None:
    slots = {"order_task": "return", "order_id": "ORD-1003", "email": ALICE}
    reason = "charged twice on 4111 1111 1111 1111, grinder too loud"
    tracker = give({"return_reason": reason}, slots, requested="return_reason")
    _, events = await run(ValidateOrderForm(), tracker, domain)
    assert (
        events["return_reason"]
        == "charged twice on [card ending 1111], grinder too loud"
    )
    assert events["requested_slot"] is None


async def test_a_too_short_reason_gets_a_hint(
    domain: dict[str, Any], db_url: str
) -> None:
    slots = {"order_task": "return", "order_id": "ORD-1003", "email": ALICE}
    tracker = give({"return_reason": "ok"}, slots, requested="return_reason")
    dispatcher, events = await run(ValidateOrderForm(), tracker, domain)
    assert events["return_reason"] is None
    assert responses(dispatcher) == ["utter_invalid_return_reason"]


async def test_cancel_confirmation_shows_number_items_and_total(
    domain: dict[str, Any], db_url: str
) -> None:
    tracker = make_tracker(
        {"order_task": "cancel", "order_id": "ORD-1002", "email": ALICE}
    )
    dispatcher, _ = await run(ActionAskCancelConfirmed(), tracker, domain)
    assert rendered(dispatcher, domain) == [
        "Cancel order ORD-1002? Items: Running shoes, 2 x Sport socks (3-pack). "
        "Total: $145.00."
    ]
    buttons = domain["responses"]["utter_ask_cancel_confirmed"][0]["buttons"]
    assert [button["payload"] for button in buttons] == ["/affirm", "/deny"]


async def test_unused_order_status_does_not_change(
    domain: dict[str, Any], db_url: str, engine: Engine
) -> None:
    """Validation only reads: asking to cancel does not cancel."""
    slots = {"order_task": "cancel", "order_id": "ORD-1002"}
    await run(ValidateOrderForm(), give({"email": ALICE}, slots), domain)
    assert order_status(engine, "ORD-1002") is OrderStatus.PROCESSING


# --- free-text answers: the customer's words, unless they stop --------------------


async def answer_return_question(
    text: str, domain: dict[str, Any]
) -> tuple[CollectingDispatcher, dict[str, Any]]:
    """Alice's verified return of ORD-1003, answering "why?" with ``text``."""
    slots = {"order_task": "return", "order_id": "ORD-1003", "email": ALICE}
    tracker = give({"return_reason": text}, slots, requested="return_reason")
    return await run(ValidateOrderForm(), tracker, domain)


@pytest.mark.parametrize(
    "reason",
    ["changed my mind", "it broke", "wrong size", "no reason", "No, it just broke",
     "I had to stop using it, it hurts my ears", "never used it"],
)  # fmt: skip
async def test_a_reason_that_reads_like_another_intent_is_the_reason(
    reason: str, domain: dict[str, Any], db_url: str
) -> None:
    dispatcher, events = await answer_return_question(reason, domain)
    assert events["return_reason"] == reason
    assert events["requested_slot"] is None  # the form is done: the return goes on
    assert "order_task" not in events
    assert dispatcher.messages == []


@pytest.mark.parametrize("stop", ["stop", "Never mind.", "forget it", "no", "Cancel!"])
async def test_a_real_stop_ends_the_form_without_a_task(
    stop: str, domain: dict[str, Any], db_url: str
) -> None:
    dispatcher, events = await answer_return_question(stop, domain)
    assert events["return_reason"] is None
    assert events["order_task"] is None  # action_order_followup does nothing
    assert events["requested_slot"] is None
    assert [m["response"] for m in dispatcher.messages] == ["utter_stopped"]
