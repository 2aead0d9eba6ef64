"""Each message: its sentiment slot, acknowledgement, spotting a need for a person."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.empathy import ActionCheckEachMessage
from tests.actions.helpers import after, bot, rendered, responses, slot_events, user

ORDER_ID = [{"entity": "order_id", "value": "ord 1001"}]


async def check(
    events: list[dict[str, Any]], domain: dict[str, Any], **tracker_options: Any
) -> tuple[CollectingDispatcher, dict[str, Any]]:
    """Run the per-message check as Rasa does after the latest message in ``events``."""
    dispatcher = CollectingDispatcher()
    result = await ActionCheckEachMessage().run(
        dispatcher, after(events, **tracker_options), domain
    )
    return dispatcher, slot_events(result)


@pytest.mark.parametrize("sentiment", ["neutral", "positive"])
async def test_calm_messages_get_no_acknowledgement(
    sentiment: str, domain: dict[str, Any]
) -> None:
    events = [user("where is my order", "check_order_status", sentiment)]
    dispatcher, slots = await check(events, domain, slots={"sentiment": sentiment})
    assert dispatcher.messages == []
    assert slots == {}


async def test_an_upset_order_question_is_acknowledged_with_its_order(
    domain: dict[str, Any],
) -> None:
    events = [
        user(
            "where is ord 1001?? it's taking forever",
            "check_order_status",
            "negative",
            ORDER_ID,
        )
    ]
    tracker = {"slots": {"sentiment": "negative"}}
    dispatcher, slots = await check(events, domain, **tracker)
    assert rendered(dispatcher, domain) == [
        "I'm sorry about the wait — let me check ORD-1001."
    ]
    assert slots == {}


@pytest.mark.parametrize(
    ("intent", "active_loop", "slots", "response"),
    [
        ("check_order_status", None, {}, "utter_empathy_wait"),
        # In the middle of a status check, the order the form is about.
        (
            "inform",
            "order_form",
            {"order_task": "status", "order_id": "ORD-1002"},
            "utter_empathy_order_wait",
        ),
        ("inform", "order_form", {"order_task": "cancel"}, "utter_empathy"),
        ("inform", "account_form", {}, "utter_empathy"),
        ("faq_shipping_times", None, {}, "utter_empathy"),
        ("request_human", None, {}, "utter_empathy_handoff"),
    ],
)
async def test_the_acknowledgement_fits_what_answers_the_message(
    intent: str,
    active_loop: str | None,
    slots: dict[str, Any],
    response: str,
    domain: dict[str, Any],
) -> None:
    events = [user("ugh, seriously", intent, "negative")]
    dispatcher, _ = await check(
        events,
        domain,
        slots={"sentiment": "negative", **slots},
        active_loop=active_loop,
    )
    assert responses(dispatcher) == [response]
    rendered(dispatcher, domain)  # every placeholder is filled


async def test_second_upset_message_in_a_row_calls_a_person(
    domain: dict[str, Any],
) -> None:
    events = [
        user("this is ridiculous", "complain", "negative"),
        bot("I'm sorry about that.", "utter_empathy"),
        user("i have waited two weeks!!", "inform", "negative"),
    ]
    dispatcher, slots = await check(
        events,
        domain,
        slots={"sentiment": "negative", "order_task": "status"},
        active_loop="order_form",
    )
    assert slots == {"handoff_reason": "negative_sentiment"}
    assert rendered(dispatcher, domain) == [
        "I'm sorry this has been frustrating — let me get a person from our team "
        "to help."
    ]


async def test_a_button_tap_has_no_sentiment_and_breaks_the_run(
    domain: dict[str, Any],
) -> None:
    events = [
        user("this is ridiculous", "complain", "negative"),
        user("/deny", "deny", sentiment=None),
    ]
    dispatcher, slots = await check(events, domain, slots={"sentiment": "negative"})
    assert slots == {"sentiment": None}  # the slot is about the latest message
    assert dispatcher.messages == []
    events.append(user("still angry", "complain", "negative"))
    _, slots = await check(events, domain, slots={"sentiment": "negative"})
    assert "handoff_reason" not in slots


async def test_messages_not_understood_are_left_to_the_help_center(
    domain: dict[str, Any],
) -> None:
    # The help center may answer them; it hands over after two it cannot.
    events = [user("blorp", "nlu_fallback"), user("fnarg zzz", "nlu_fallback")]
    dispatcher, slots = await check(events, domain, slots={"sentiment": "neutral"})
    assert slots == {}
    assert dispatcher.messages == []


async def test_the_reason_is_cleared_once_it_no_longer_holds(
    domain: dict[str, Any],
) -> None:
    events = [user("blorp", "nlu_fallback"), user("where's my order", "inform")]
    _, slots = await check(
        events, domain, slots={"sentiment": "neutral", "handoff_reason": "x"}
    )
    assert slots == {"handoff_reason": None}


async def test_messages_before_an_agent_stepped_in_do_not_count(
    domain: dict[str, Any],
) -> None:
    events = [
        user("this is ridiculous", "complain", "negative"),
        {"event": "pause"},
        user("hello??", "greet", "negative"),
        {"event": "resume"},
        user("still nothing works", "complain", "negative"),
    ]
    dispatcher, slots = await check(events, domain, slots={"sentiment": "negative"})
    assert "handoff_reason" not in slots
    assert responses(dispatcher) == ["utter_empathy"]


async def test_silent_while_an_agent_has_the_conversation(
    domain: dict[str, Any],
) -> None:
    events = [
        user("this is ridiculous", "complain", "negative"),
        {"event": "pause"},
        user("hello??", "greet", "negative"),
    ]
    dispatcher, slots = await check(events, domain, paused=True)
    assert (dispatcher.messages, slots) == ([], {})


async def test_never_acknowledged_twice_in_one_turn(domain: dict[str, Any]) -> None:
    """Rasa may run the check again in the same turn (e.g. end-to-end predictions)."""
    events = [
        user("this is terrible", "complain", "negative"),
        bot("I'm sorry about that.", "utter_empathy"),
    ]
    dispatcher, _ = await check(events, domain, slots={"sentiment": "negative"})
    assert dispatcher.messages == []
