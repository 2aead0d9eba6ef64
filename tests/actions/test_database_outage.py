"""With the database unreachable every action apologises, and forms stop asking."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Action
from rasa_sdk.executor import CollectingDispatcher

from actions.account_form import ValidateAccountForm
from actions.accounts import ActionAccountFollowup
from actions.handoff import ActionHandoff
from actions.order_form import ActionAskCancelConfirmed, ValidateOrderForm
from actions.orders import ActionOrderFollowup
from tests.actions.helpers import (
    ALICE,
    form_tracker,
    make_tracker,
    rendered,
    slot_events,
)
from tests.prometheus_text import in_this_process, total

APOLOGY = "I can't reach our order system right now, please try again in a few minutes."
ORDER_SLOTS = {"order_task": "cancel", "order_id": "ORD-1002", "email": ALICE}


@pytest.mark.parametrize(
    ("action", "slots"),
    [
        (ActionOrderFollowup(), {**ORDER_SLOTS, "cancel_confirmed": True}),
        (ActionAskCancelConfirmed(), ORDER_SLOTS),
        (
            ActionAccountFollowup(),
            {"account_task": "balance", "verified_customer_id": 1},
        ),
        (ActionHandoff(), {}),
    ],
)
async def test_actions_apologise(
    action: Action, slots: dict[str, Any], domain: dict[str, Any], unreachable_db: str
) -> None:
    dispatcher = CollectingDispatcher()
    errors = "assistant_action_database_errors_total"
    before = total(in_this_process(), errors)
    assert await action.run(dispatcher, make_tracker(slots), domain) == []
    assert rendered(dispatcher, domain) == [APOLOGY]
    assert total(in_this_process(), errors) == before + 1  # on /metrics


@pytest.mark.parametrize(
    ("action", "form", "slots", "candidates", "task_slot"),
    [
        (
            ValidateOrderForm(),
            "order_form",
            {"order_task": "status", "order_id": "ORD-1001"},
            {"email": ALICE},
            "order_task",
        ),
        (
            ValidateAccountForm(),
            "account_form",
            {"account_task": "balance", "email": ALICE},
            {"passcode": "4321"},
            "account_task",
        ),
    ],
)
async def test_forms_end_with_one_apology(
    action: Action,
    form: str,
    slots: dict[str, Any],
    candidates: dict[str, Any],
    task_slot: str,
    domain: dict[str, Any],
    unreachable_db: str,
) -> None:
    """The task is dropped, so the follow-up after the form stays silent."""
    dispatcher = CollectingDispatcher()
    tracker = form_tracker(
        form, slots, candidates, requested_slot=next(iter(candidates))
    )
    events = slot_events(await action.run(dispatcher, tracker, domain))
    assert rendered(dispatcher, domain) == [APOLOGY]
    assert events == {task_slot: None, "requested_slot": None}
