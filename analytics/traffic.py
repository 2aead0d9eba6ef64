"""Generated customer traffic, written as the assistant would have stored it.

Each conversation becomes the events Rasa writes to the tracker store (the same
JSON: a session start, each customer message with its intent, sentiment and
channel, each reply with the response it used, the handoff action) and the rows
the action server writes (a ticket, a rating, help-center answers and votes).
The benchmark fills a database with a million events this way; the tests write a
few dozen conversations whose figures they work out on their own and compare
with the page's; the alert detector replays weeks of it.

Volume follows a day/night curve (busiest at 14:00 UTC, a fifth of that at
night) with Poisson noise; the share of negative messages can be raised over an
interval, in every message or in one intent's, to simulate a surge.

The demo's volume, which both benchmarks replay, is a million events in 30
days: about 3,050 conversations a day, 212 in the busiest hour.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import numpy as np
from sqlalchemy.engine import Engine

from actions.db.models import CsatRating, KbAnswer, SupportTicket, TicketStatus
from analytics.sql import events, metadata

DEMO_EVENTS_PER_30_DAYS = 1_000_000
EVENTS_PER_CONVERSATION = 10.9  # what simulate() writes, on average
CHANNELS = ("socketio", "rest", "telegram")
INTENTS = (
    ("check_order_status", "where is my order ORD-{n}"),
    ("return_item", "I want to return my order ORD-{n}"),
    ("check_balance", "what's my balance"),
    ("refund_status", "has my refund for ORD-{n} gone through"),
    ("faq_shipping_times", "how long does shipping take"),
    ("greet", "hi"),
    ("nlu_fallback", "can I pay with seashells {n}"),
)
HANDOFF_REASONS = (
    "customer asked for a person",
    "the customer was upset in two messages in a row",
    "the assistant did not understand the customer",
)


@dataclass(frozen=True)
class Surge:
    """From ``start`` to ``end`` the negative share is ``share``: in every
    message, or only in ``intent``'s."""

    start: datetime
    end: datetime
    share: float
    intent: str | None = None

    def share_at(self, moment: datetime, intent: str, usual: float) -> float:
        if self.start <= moment < self.end and self.intent in (None, intent):
            return self.share
        return usual


@dataclass
class Turn:
    text: str
    intent: str
    sentiment: str
    reply_delay_s: float


@dataclass
class Conversation:
    sender: str
    start: datetime
    channel: str
    turns: list[Turn]
    handoff: str | None = None  # the ticket's reason
    asked_rating: bool = False
    rating: int | None = None
    kb: list[tuple[str, bool, bool | None]] = field(default_factory=list)

    def end(self) -> datetime:
        """The moment of its last event (see :func:`conversation_events`)."""
        return self.start + timedelta(seconds=_duration_s(self))


def _duration_s(conversation: Conversation) -> float:
    seconds = 0.0
    for turn in conversation.turns:
        seconds += 20 + turn.reply_delay_s
    return seconds + (10 if conversation.asked_rating else 0)


def conversation_events(conversation: Conversation) -> Iterator[dict]:
    """Rasa's events for ``conversation``, in order, with their timestamps."""
    t = conversation.start.timestamp() - 1
    yield _action(t, "action_session_start")
    yield {"event": "session_started", "timestamp": t}
    yield _action(t, "action_listen")
    t += 1
    for turn in conversation.turns:
        yield {
            "event": "user",
            "timestamp": t,
            "text": turn.text,
            "parse_data": {
                "intent": {"name": turn.intent, "confidence": 0.9},
                "sentiment": {"label": turn.sentiment, "confidence": 0.9},
                "text": turn.text,
            },
            "input_channel": conversation.channel,
        }
        t += turn.reply_delay_s
        yield _bot(t, "utter_answer", "Here is what I found.")
        yield _action(t, "action_listen")
        t += 20
    if conversation.handoff:
        yield _action(t - 20, "action_handoff")
    if conversation.asked_rating:
        yield _bot(t - 19, "utter_ask_rating", "How did I do?")
        if conversation.rating is not None:
            yield {
                "event": "user",
                "timestamp": t - 10,
                "text": f'/rate{{"rating": {conversation.rating}}}',
                "parse_data": {"intent": {"name": "rate", "confidence": 1.0}},
                "input_channel": conversation.channel,
            }


def _action(t: float, name: str) -> dict:
    return {"event": "action", "timestamp": t, "name": name}


def _bot(t: float, response: str, text: str) -> dict:
    return {"event": "bot", "timestamp": t, "text": text,
            "metadata": {"utter_action": response}}  # fmt: skip


def write(tracker: Engine, business: Engine, conversations: list[Conversation]) -> int:
    """Store ``conversations`` in both databases, in one transaction each.

    Creates the ``events`` table where Rasa has not yet. Returns the number of
    events written.
    """
    metadata.create_all(tracker, tables=[events])
    rows = []
    for conversation in conversations:
        for event in conversation_events(conversation):
            rows.append(
                {
                    "sender_id": conversation.sender,
                    "type_name": event["event"],
                    "timestamp": event["timestamp"],
                    "intent_name": event.get("parse_data", {})
                    .get("intent", {})
                    .get("name"),
                    "action_name": event.get("name"),
                    "data": json.dumps(event),
                }
            )
    with tracker.begin() as connection:
        for start in range(0, len(rows), 20000):
            connection.execute(events.insert(), rows[start : start + 20000])
    tickets, ratings, answers = [], [], []
    for n, conversation in enumerate(conversations):
        end = conversation.end()
        if conversation.handoff:
            tickets.append(
                {
                    "number": f"TCK-G{n:07d}",
                    "conversation_id": conversation.sender,
                    "reason": conversation.handoff,
                    "sentiment_trail": [],
                    "transcript": "",
                    "status": TicketStatus.OPEN,
                    "created_at": end,
                }
            )
        if conversation.rating is not None:
            ratings.append(
                {
                    "conversation_id": conversation.sender,
                    "rating": conversation.rating,
                    "created_at": end,
                }
            )
        for question, answered, helpful in conversation.kb:
            answers.append(
                {
                    "conversation_id": conversation.sender,
                    "question": question,
                    "article_slug": "shipping" if answered else None,
                    "score": 0.8 if answered else 0.2,
                    "answered": answered,
                    "helpful": helpful,
                    "created_at": conversation.start,
                    "voted_at": end if helpful is not None else None,
                }
            )
    with business.begin() as connection:
        for table, batch in (
            (SupportTicket.__table__, tickets),
            (CsatRating.__table__, ratings),
            (KbAnswer.__table__, answers),
        ):
            if batch:
                connection.execute(table.insert(), batch)
    return len(rows)


# -- simulated traffic ------------------------------------------------------


def hourly_volume(hour_of_day: int, peak: float) -> float:
    """Conversations expected in an hour: ``peak`` at 14:00, a fifth at 02:00."""
    return peak * (0.6 + 0.4 * math.cos((hour_of_day - 14) / 24 * 2 * math.pi))


def peak_for(events: int, days: int) -> float:
    """The busiest hour's conversations that make ``events`` in ``days`` (an
    average hour has 0.6 of the busiest's)."""
    return events / EVENTS_PER_CONVERSATION / (days * 24) / 0.6


DEMO_PEAK_PER_HOUR = peak_for(DEMO_EVENTS_PER_30_DAYS, 30)


def simulate(
    start: datetime,
    hours: int,
    peak_per_hour: float,
    negative_share: float = 0.12,
    surge: Surge | None = None,
    seed: int = 7,
) -> list[Conversation]:
    """Conversations over ``hours`` from ``start``, with ``surge`` if given."""
    rng = random.Random(seed)
    poisson = np.random.default_rng(seed).poisson
    conversations: list[Conversation] = []
    for hour in range(hours):
        hour_start = start + timedelta(hours=hour)
        share_of = _shares_by_intent(surge, hour_start, negative_share)
        for _ in range(int(poisson(hourly_volume(hour_start.hour, peak_per_hour)))):
            at = hour_start + timedelta(seconds=rng.uniform(0, 3500))
            conversations.append(
                _random_conversation(rng, at, share_of, len(conversations))
            )
    return conversations


def _shares_by_intent(
    surge: Surge | None, hour_start: datetime, usual: float
) -> Callable[[str], float]:
    """The negative share of each intent's messages in the hour."""
    if surge is None:
        return lambda intent: usual
    return lambda intent: surge.share_at(hour_start, intent, usual)


def _random_conversation(
    rng: random.Random, at: datetime, share_of: Callable[[str], float], n: int
) -> Conversation:
    turns = []
    for _ in range(rng.choice((1, 2, 2, 3, 4))):
        intent, template = rng.choice(INTENTS)
        sentiment = (
            "negative"
            if rng.random() < share_of(intent)
            else rng.choice(("neutral", "neutral", "positive"))
        )
        turns.append(
            Turn(
                template.format(n=1000 + rng.randrange(9000)),
                intent,
                sentiment,
                rng.uniform(0.05, 1.5),
            )  # fmt: skip
        )
    conversation = Conversation(
        f"g{n:08d}-{rng.randrange(16**6):06x}", at.astimezone(timezone.utc),
        rng.choice(CHANNELS), turns,
    )  # fmt: skip
    roll = rng.random()
    if roll < 0.12:
        conversation.handoff = rng.choice(HANDOFF_REASONS)
    elif roll < 0.5:
        conversation.asked_rating = True
        if rng.random() < 0.6:
            conversation.rating = rng.choice((1, 2, 3, 4, 5, 5, 4))
    if rng.random() < 0.2:
        helpful = rng.choice((True, False, None))
        conversation.kb.append(("do you ship to Norway", True, helpful))
    return conversation
