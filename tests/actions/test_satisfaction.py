"""Customer satisfaction: asked once after a resolved task, stored once, skippable."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import rasa.core.nlg.interpolator
from rasa.core.nlg.interpolator import interpolate, interpolate_text
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from actions.db.models import CsatRating
from actions.satisfaction import ActionAskRating, ActionStoreRating
from tests.actions.helpers import after, bot, count, rendered, responses, user

ANSWERED = [
    user("where is ORD-1001", "check_order_status"),
    {"event": "action", "name": "order_form"},
    {"event": "action", "name": "action_order_followup"},
    bot("Order ORD-1001 is on its way with UPS.", "utter_order_status_shipped"),
]
ASKED = [
    user("thanks, bye", "goodbye", "positive"),
    bot("Thanks for chatting with us. Goodbye!", "utter_goodbye"),
    bot("How would you rate this chat?", "utter_ask_rating"),
]


def rate(value: Any) -> dict[str, Any]:
    payload = f'/rate{{"rating": {value}}}'
    return user(payload, "rate", None, [{"entity": "rating", "value": value}])


async def ask(events: list[dict[str, Any]], domain: dict[str, Any]) -> list[str]:
    dispatcher = CollectingDispatcher()
    assert await ActionAskRating().run(dispatcher, after(events), domain) == []
    return responses(dispatcher)


async def test_asked_with_buttons_after_a_resolved_task(domain: dict[str, Any]) -> None:
    events = [*ANSWERED, user("thank you!", "thank", "positive")]
    assert await ask(events, domain) == ["utter_ask_rating"]
    [question] = [
        variation
        for variation in domain["responses"]["utter_ask_rating"]
        if "channel" not in variation and "condition" not in variation
    ]
    payloads = [button["payload"] for button in question["buttons"]]
    assert [interpolate_text(payload, {}) for payload in payloads] == [
        f'/rate{{"rating": {value}}}' for value in range(1, 6)
    ]


def test_rating_buttons_are_filled_without_a_missing_slot_error(
    domain: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bare ``{"rating": 1}`` reads as a slot name: an error log per question."""
    logged: list[str] = []

    class Recorder:
        def exception(self, event: str, **_: Any) -> None:
            logged.append(event)

    monkeypatch.setattr(rasa.core.nlg.interpolator, "structlogger", Recorder())
    for variation in domain["responses"]["utter_ask_rating"]:
        interpolate(copy.deepcopy(variation), {})
    assert logged == []


@pytest.mark.parametrize(
    "events",
    [
        # Nothing was resolved.
        [user("hi", "greet"), bot("Hi!", "utter_greet"), user("bye", "goodbye")],
        # The task ended in the outage apology.
        [
            *ANSWERED[:3],
            bot("I can't reach our order system", "utter_db_unavailable"),
            user("bye", "goodbye"),
        ],
        # Already asked in this session.
        [*ANSWERED, *ASKED, user("thanks", "thank")],
        # Resolved before an agent took over; nothing since.
        [*ANSWERED, {"event": "pause"}, {"event": "resume"}, user("bye", "goodbye")],
    ],
)
async def test_not_asked(events: list[dict[str, Any]], domain: dict[str, Any]) -> None:
    assert await ask(events, domain) == []


async def store(events: list[dict[str, Any]], domain: dict[str, Any]) -> list[str]:
    dispatcher = CollectingDispatcher()
    assert await ActionStoreRating().run(dispatcher, after(events), domain) == []
    return rendered(dispatcher, domain)


def ratings(engine: Engine) -> list[tuple[str, int]]:
    with Session(engine, future=True) as session:
        rows = session.scalars(select(CsatRating).order_by(CsatRating.id))
        return [(row.conversation_id, row.rating) for row in rows]


async def test_a_rating_is_stored_with_the_conversation_and_thanked(
    domain: dict[str, Any], engine: Engine
) -> None:
    assert await store([*ANSWERED, *ASKED, rate(4)], domain) == [
        "Thank you for your feedback!"
    ]
    assert ratings(engine) == [("test-conversation", 4)]
    with Session(engine, future=True) as session:
        assert session.scalars(select(CsatRating)).one().created_at is not None


async def test_one_rating_per_question(domain: dict[str, Any], engine: Engine) -> None:
    events = [
        *ANSWERED,
        *ASKED,
        rate(5),
        bot("Thank you for your feedback!", "utter_thank_rating"),
        rate(1),
    ]
    assert await store(events, domain) == ["Okay. What else can I help you with?"]
    assert ratings(engine) == []  # the 5 answered the question; the 1 is a 2nd tap


@pytest.mark.parametrize("value", [0, 6, "five", None])
async def test_invalid_or_unasked_ratings_are_not_stored(
    value: Any, domain: dict[str, Any], engine: Engine
) -> None:
    await store([*ANSWERED, *ASKED, rate(value)], domain)
    await store([*ANSWERED, rate(3)], domain)  # never asked
    assert count(engine, CsatRating) == 0


@pytest.mark.parametrize(
    ("text", "stored"),
    [("4", 4), ("5 stars", 5), ("i'd give it a two", 2), ("3/5", 3), ("10", None)],
)
async def test_a_typed_rating_counts_like_a_button(
    text: str, stored: int | None, domain: dict[str, Any], engine: Engine
) -> None:
    """SMS and Messenger get the question as text, so customers type the number."""
    await store([*ANSWERED, *ASKED, user(text, "rate")], domain)
    assert ratings(engine) == ([("test-conversation", stored)] if stored else [])
