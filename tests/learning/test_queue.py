"""The review queue, built from conversations, tickets, ratings and the help
center, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from learning import queue
from tests.learning.conftest import START, Chat, hours, said, write

WHERE = "Hi! How can I help you today?"


def turn(text: str, *args, bot: str | None = None, **kwargs):
    """A customer message (after ``bot``'s), parsed as ``said`` says."""
    return (bot, text, said(text, *args, **kwargs))


def everyday_chats() -> list[Chat]:
    unsure = ("track", 0.4)
    declined, unhelpful = (
        ("recipe for lasagne?", False, None),
        ("ship to mars", True, False),
    )
    return [
        Chat("sure", START, [
            turn("hello", "greet", bot=WHERE),
            turn("where my parsel at", "check_order_status", 0.45, unsure),
        ]),
        Chat("lost", START + hours(1), [
            turn("blorp the zindle", "nlu_fallback", bot=WHERE),
        ]),
        Chat("angry", START + hours(2), [
            turn("this is a joke, card 4111 1111 1111 1111 charged twice", "complain",
                 sentiment="negative", bot=WHERE),
        ]),
        Chat("asks", START + hours(3), [
            turn("recipe for lasagne?", "faq_other", bot=WHERE),
            turn("ship to mars", "faq_shipping"),
        ], kb=[declined, unhelpful]),
        Chat("person", START + hours(4), [
            turn("hi", "greet", bot=WHERE),
            turn("my order", "check_order_status", bot="Anything else?"),
            turn("mail me at bob@example.com", "inform"),
            turn("/request_human", "request_human"),
            turn("now please", "affirm"),
        ], handoff=True),
        Chat("unhappy", START + hours(5), [turn("ok thanks", "thank", bot=WHERE)],
             rating=1),
        Chat("happy", START + hours(6), [turn("thanks a lot", "thank", bot=WHERE)],
             rating=5),
    ]  # fmt: skip


def build(session: Session, tracker: Engine, until_hours: float = 24):
    return queue.build(session, tracker, until=START + hours(until_hours))


def items_by_text(session: Session) -> dict[str, queue.ReviewItem]:
    return {item.text: item for item in queue.pending(session)}


def test_each_reason_brings_its_messages_and_nothing_else_does(
    databases: tuple[Engine, Engine],
) -> None:
    tracker, business = databases
    write(tracker, business, everyday_chats())
    with Session(business, expire_on_commit=False) as session, session.begin():
        earlier = START - hours(1)
        session.add(queue.ReviewScan(scanned_from=earlier - hours(48),
                                     scanned_to=earlier, items_added=0))  # fmt: skip
        summary = build(session, tracker)
        found = {text: item.reasons for text, item in items_by_text(session).items()}
        unsure = items_by_text(session)["where my parsel at"]
    assert found == {
        "where my parsel at": ["unsure"],
        "blorp the zindle": ["not_understood"],
        "this is a joke, card [card ending 1111] charged twice": ["negative"],
        "recipe for lasagne?": ["kb_declined"],
        "ship to mars": ["kb_unhelpful"],
        # The last three typed messages of a conversation handed over; never a button.
        "my order": ["handed_over"],
        "mail me at [email]": ["handed_over"],
        "now please": ["handed_over"],
        "ok thanks": ["rated_low"],
    }
    assert summary.new_items == 9 and summary.repeats == 0
    assert unsure.top_intents == [["check_order_status", 0.45], ["track", 0.4],
                                  ["goodbye", 0.01]]  # fmt: skip
    assert unsure.previous_bot_message == WHERE
    assert unsure.language == "en" and unsure.conversation_id == "sure"


def test_the_fallbacks_guesses_are_the_intents_behind_it(
    databases: tuple[Engine, Engine],
) -> None:
    tracker, business = databases
    write(tracker, business, everyday_chats()[1:2])
    with Session(business, expire_on_commit=False) as session, session.begin():
        build(session, tracker)
        [item] = queue.pending(session)
    assert [name for name, _ in item.top_intents] == ["faq_shipping", "greet"]


def test_building_again_reads_only_what_came_since(
    databases: tuple[Engine, Engine],
) -> None:
    tracker, business = databases
    write(tracker, business, everyday_chats())
    with Session(business, expire_on_commit=False) as session, session.begin():
        first = build(session, tracker)
        again = build(session, tracker)
    assert first.new_items == 9
    assert (again.new_items, again.repeats) == (0, 0)
    # The same wording later, with another order number: one item, seen twice.
    later = START + hours(30)
    write(tracker, business, [
        Chat("again", later, [(WHERE, "blorp the zindle", said("blorp the zindle",
                                                               "nlu_fallback"))]),
        Chat("order", later, [(WHERE, "where is ORD-1001 angry",
                               said("where is ORD-1001 angry", "check_order_status",
                                    sentiment="negative"))]),
        Chat("order2", later + hours(1), [(WHERE, "where is ORD-2002 angry",
                                          said("where is ORD-2002 angry",
                                               "check_order_status",
                                               sentiment="negative"))]),
    ])  # fmt: skip
    with Session(business, expire_on_commit=False) as session, session.begin():
        third = build(session, tracker, until_hours=48)
        items = items_by_text(session)
    assert (third.new_items, third.repeats) == (1, 2)
    assert items["blorp the zindle"].occurrences == 2
    assert items["where is ORD-1001 angry"].occurrences == 2
    assert len(items) == 10


def test_similar_wordings_are_grouped_and_the_largest_group_comes_first(
    databases: tuple[Engine, Engine],
) -> None:
    tracker, business = databases
    wordings = ["where is my parcel", "where is my parcel", "where is my parcel??",
                "wheres my parcel", "cancel my subscription"]  # fmt: skip
    write(tracker, business, [
        Chat(f"c{n}", START + timedelta(minutes=n), [
            (WHERE, text, said(text, "nlu_fallback"))])
        for n, text in enumerate(wordings)
    ])  # fmt: skip
    with Session(business, expire_on_commit=False) as session, session.begin():
        build(session, tracker)
        items = queue.pending(session)
        texts = [item.text for item in items]
        groups = {item.text: item.group_id for item in items}
        lead = items[0]
    assert texts[-1] == "cancel my subscription"
    assert lead.text == "where is my parcel" and lead.occurrences == 2
    assert groups["where is my parcel??"] == groups["wheres my parcel"] == lead.id
    assert groups["cancel my subscription"] != lead.id


@pytest.mark.parametrize("margin_case", [(0.95, 0.02, False), (0.55, 0.40, True)])
def test_the_margin_decides_unsure(
    databases: tuple[Engine, Engine], margin_case: tuple[float, float, bool]
) -> None:
    tracker, business = databases
    first, second, offered = margin_case
    guess = turn("cancel it", "cancel_order", first, ("return", second), bot=WHERE)
    write(tracker, business, [Chat("m", START, [guess])])
    with Session(business, expire_on_commit=False) as session, session.begin():
        build(session, tracker)
        assert bool(queue.pending(session)) == offered
