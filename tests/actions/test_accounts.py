"""account_form and action_account_followup: passcode checks and account answers."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from actions.account_form import ActionPrepareAccountRequest, ValidateAccountForm
from actions.accounts import ActionAccountFollowup
from actions.db.models import Customer
from actions.formatting import day
from tests.actions.helpers import (
    ALICE,
    audit_rows,
    form_tracker,
    make_tracker,
    rendered,
    responses,
    slot_events,
)


async def run(
    action: Action, tracker: Tracker, domain: dict[str, Any]
) -> tuple[CollectingDispatcher, dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, domain)
    return dispatcher, slot_events(events)


def give_passcode(typed: str, email: str = ALICE, **slots: Any) -> Tracker:
    return form_tracker(
        "account_form",
        {"account_task": "balance", "email": email, **slots},
        {"passcode": typed},
        "passcode",
    )


def customer_id(engine: Engine, email: str) -> int:
    with Session(engine, future=True) as session:
        return session.scalars(select(Customer.id).where(Customer.email == email)).one()


@pytest.mark.parametrize(
    ("intent", "task"),
    [
        ("check_balance", "balance"),
        ("recent_transactions", "transactions"),
        ("list_orders", "orders"),
    ],
)
async def test_prepare_sets_the_account_task(
    intent: str, task: str, domain: dict[str, Any]
) -> None:
    _, slots = await run(
        ActionPrepareAccountRequest(), make_tracker(intent=intent), domain
    )
    assert slots == {"account_task": task}


@pytest.mark.parametrize("typed", ["4321", "my pin is 4321", " 4321 "])
async def test_right_passcode_verifies_and_is_masked_at_once(
    typed: str, domain: dict[str, Any], db_url: str, engine: Engine
) -> None:
    dispatcher, slots = await run(ValidateAccountForm(), give_passcode(typed), domain)
    assert slots["passcode"] == "****"
    assert slots["verified_customer_id"] == customer_id(engine, ALICE)
    assert slots["requested_slot"] is None
    assert dispatcher.messages == []


async def test_wrong_passcode_is_refused_without_echo_and_audited_without_it(
    domain: dict[str, Any], db_url: str, engine: Engine
) -> None:
    dispatcher, slots = await run(ValidateAccountForm(), give_passcode("9999"), domain)
    assert rendered(dispatcher, domain) == [
        "I couldn't verify that email address and passcode."
    ]
    assert slots["passcode"] is None and slots["email"] is None
    assert slots["failed_verifications"] == 1
    assert "verified_customer_id" not in slots
    # Both slots are empty again: Rasa asks for the first, the email.
    assert "requested_slot" not in slots
    [row] = audit_rows(engine, "verification_failed")
    assert row.target == ALICE
    assert "9999" not in f"{row.actor} {row.target} {row.detail}"


@pytest.mark.parametrize("typed", ["4321", "9999"])
async def test_typed_passcode_never_goes_back_to_rasa(
    typed: str, domain: dict[str, Any], db_url: str
) -> None:
    dispatcher = CollectingDispatcher()
    events = await ValidateAccountForm().run(dispatcher, give_passcode(typed), domain)
    assert typed not in repr(events)
    assert typed not in repr(dispatcher.messages)


async def test_unknown_email_reads_like_a_wrong_passcode(
    domain: dict[str, Any], db_url: str
) -> None:
    answers = []
    for email, passcode in (("nobody@example.com", "4321"), (ALICE, "1234")):
        dispatcher, slots = await run(
            ValidateAccountForm(), give_passcode(passcode, email), domain
        )
        answers.append((rendered(dispatcher, domain), slots))
    assert answers[0] == answers[1]


@pytest.mark.parametrize("typed", ["abc", "12", "1234 5678", "my passcode"])
async def test_badly_formed_passcode_gets_a_hint_and_is_not_counted(
    typed: str, domain: dict[str, Any], db_url: str
) -> None:
    dispatcher, slots = await run(ValidateAccountForm(), give_passcode(typed), domain)
    assert slots["passcode"] is None
    assert "failed_verifications" not in slots
    assert rendered(dispatcher, domain) == [
        "Your passcode is 4 to 8 digits. Please type just the digits."
    ]


async def test_failures_are_counted_with_the_order_form_and_lock(
    domain: dict[str, Any], db_url: str
) -> None:
    tracker = give_passcode("0000", failed_verifications=2.0)
    dispatcher, slots = await run(ValidateAccountForm(), tracker, domain)
    assert responses(dispatcher) == [
        "utter_account_not_verified",
        "utter_verification_now_locked",
    ]
    assert slots["verification_locked"] is True
    assert slots["requested_slot"] is None


async def test_verified_customer_is_not_asked_again(
    domain: dict[str, Any], unreachable_db: str
) -> None:
    tracker = form_tracker(
        "account_form",
        {"account_task": "transactions", "verified_customer_id": 1},
        {},
        None,
    )
    dispatcher, slots = await run(ValidateAccountForm(), tracker, domain)
    assert slots == {"requested_slot": None}
    assert dispatcher.messages == []


# --- follow-up -----------------------------------------------------------------


async def follow_up(
    domain: dict[str, Any], engine: Engine, task: str, language: str = "en"
) -> list[str]:
    slots = {
        "account_task": task,
        "verified_customer_id": customer_id(engine, ALICE),
        "language": language,
    }
    dispatcher = CollectingDispatcher()
    assert (
        await ActionAccountFollowup().run(dispatcher, make_tracker(slots), domain) == []
    )
    return rendered(dispatcher, domain, language)


async def test_balance(domain: dict[str, Any], engine: Engine) -> None:
    assert await follow_up(domain, engine, "balance") == [
        "The balance of your account ending 1001 is $2,450.75."
    ]


async def test_last_five_transactions_newest_first(
    domain: dict[str, Any], engine: Engine
) -> None:
    [text] = await follow_up(domain, engine, "transactions")
    heading, *lines = text.split("\n")
    assert heading == "Latest transactions on your account ending 1001:"
    assert len(lines) == 5
    assert lines[0].endswith("Online purchase - ORD-1001  -$89.99")
    assert lines[-1].endswith("Grocery - FreshMart  -$86.40")
    assert lines[2].endswith("Transfer from savings  $500.00")
    weekday = lines[0].split()[0]
    assert weekday in {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}


async def test_list_of_orders(domain: dict[str, Any], engine: Engine) -> None:
    [text] = await follow_up(domain, engine, "orders")
    heading, *lines = text.split("\n")
    assert heading == "Your orders, newest first:"
    assert [line.split()[0] for line in lines] == ["ORD-1002", "ORD-1001", "ORD-1003"]
    assert lines[0].endswith(
        "processing, $145.00 - Running shoes, 2 x Sport socks (3-pack)"
    )


async def test_in_chinese_amounts_dates_and_statuses_read_as_chinese(
    domain: dict[str, Any], engine: Engine
) -> None:
    [balance] = await follow_up(domain, engine, "balance", "zh")
    assert "尾号 1001" in balance and "2,450.75 美元" in balance
    [statement] = await follow_up(domain, engine, "transactions", "zh")
    first = statement.split("\n")[1]
    assert re.match(r"\d{1,2}月\d{1,2}日（周[一二三四五六日]）", first), first
    assert first.endswith("-89.99 美元")
    [orders] = await follow_up(domain, engine, "orders", "zh")
    assert "ORD-1002（" in orders
    assert "：处理中，145.00 美元，Running shoes、Sport socks (3-pack) × 2" in orders


async def test_nothing_shown_without_verification(
    domain: dict[str, Any], db_url: str
) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker({"account_task": "balance", "verified_customer_id": None})
    assert await ActionAccountFollowup().run(dispatcher, tracker, domain) == []
    assert dispatcher.messages == []


def test_dates_read_like_tue_25_nov() -> None:
    assert day(date(2025, 11, 25), today=date(2025, 12, 1)) == "Tue 25 Nov"
    assert day(date(2024, 11, 25), today=date(2025, 12, 1)) == "Mon 25 Nov 2024"
