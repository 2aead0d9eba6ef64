"""Generated conversations whose figures are known: worked out here in plain
Python from the conversations themselves, independently of analytics/figures.py."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

from analytics import traffic
from analytics.figures import Period
from analytics.traffic import Conversation, Turn

START = datetime(2026, 11, 2, 0, 0, 30, tzinfo=timezone.utc)
PERIOD = Period(START + timedelta(hours=6), START + timedelta(hours=54))
UNRESOLVED = {"nlu_fallback", "request_human", "out_of_scope", "complain"}


def conversations() -> list[Conversation]:
    generated = traffic.simulate(START, hours=60, peak_per_hour=2.5, seed=3)
    # A customer who comes back 2 hours later (not contained), and one who
    # comes back after 30 hours (contained), and one who says thank you.
    first = START + timedelta(hours=10)

    def one(sender, at, channel, *turns):
        return Conversation(sender, at, channel, [Turn(*turn) for turn in turns])

    calls = [
        one("caller", first, "rest", ("ORD-1?", "check_order_status", "neutral", 0.2)),
        one(
            "caller",
            first + timedelta(hours=2),
            "rest",
            ("hi", "greet", "negative", 0.3),
        ),
        one("patient", first, "socketio", ("balance", "check_balance", "neutral", 0.4)),
        one(
            "patient",
            first + timedelta(hours=30),
            "socketio",
            ("hi", "greet", "neutral", 0.4),
        ),
        one(
            "grateful",
            first,
            "socketio",
            ("what about ORD-2", "nlu_fallback", "neutral", 0.5),
            ("thanks", "thank", "positive", 0.5),
        ),
    ]
    return generated + calls


def expected(all_conversations: list[Conversation], period: Period = PERIOD) -> dict:
    def in_period(moment: datetime) -> bool:
        return period.start <= moment < period.end

    chosen = [c for c in all_conversations if in_period(c.start)]
    by_sender: dict[str, list[Conversation]] = {}
    for c in all_conversations:
        by_sender.setdefault(c.sender, []).append(c)

    def last_event(c: Conversation) -> datetime:
        return datetime.fromtimestamp(
            max(e["timestamp"] for e in traffic.conversation_events(c)), timezone.utc
        )

    def called_back(c: Conversation) -> bool:
        end = last_event(c)
        return any(
            end < other.start <= end + timedelta(days=1)
            for other in by_sender[c.sender]
        )

    def confirmed(c: Conversation) -> bool:
        good = (c.rating or 0) >= 4 or any(h is True for _, _, h in c.kb)
        thanked = any(t.intent == "thank" for t in c.turns)
        return not c.handoff and (good or thanked)

    def assumed(c: Conversation) -> bool:
        last = "rate" if c.rating is not None else c.turns[-1].intent
        return (
            not confirmed(c)
            and not c.handoff
            and c.rating not in (1, 2)
            and last not in UNRESOLVED
        )

    turns = [t for c in chosen for t in c.turns]
    messages = len(turns) + sum(c.rating is not None for c in chosen)
    delays = sorted(t.reply_delay_s for t in turns)
    ratings = [c.rating for c in chosen if c.rating is not None]
    n = len(chosen)
    return {
        "conversations": n,
        "customer_messages": messages,
        "containment": sum(not c.handoff and not called_back(c) for c in chosen) / n,
        "resolution_confirmed": sum(map(confirmed, chosen)) / n,
        "resolution_assumed": sum(map(assumed, chosen)) / n,
        "fallback_rate": sum(t.intent == "nlu_fallback" for t in turns) / messages,
        "negative_share": sum(t.sentiment == "negative" for t in turns) / len(turns),
        "reply_time_p50": delays[int(0.5 * len(delays))],
        "reply_time_p95": delays[int(0.95 * len(delays))],
        "csat_score": sum(r >= 4 for r in ratings) / len(ratings),
        "csat_response_rate": len(ratings) / sum(c.asked_rating for c in chosen),
        "handoffs": Counter(c.handoff for c in chosen if c.handoff),
        "daily": Counter((c.start.date().isoformat(), c.channel) for c in chosen),
        "negative_by_intent": Counter(
            t.intent for t in turns if t.sentiment == "negative"
        ),
        "intents": Counter(t.intent for t in turns),
    }
