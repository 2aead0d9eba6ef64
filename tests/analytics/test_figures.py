"""The page's figures, computed in SQL, against the same figures worked out in
plain Python from the conversations the generator wrote (known_traffic.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from analytics import traffic
from analytics.figures import Period, compute
from tests.analytics.known_traffic import PERIOD, START, conversations, expected


def test_every_figure_matches_the_conversations_written(databases) -> None:
    tracker, business = databases
    written = conversations()
    traffic.write(tracker, business, written)
    truth = expected(written)

    figures = compute(tracker, business, PERIOD)

    summary = figures.summary
    assert summary["conversations"] == truth["conversations"] > 50
    assert summary["customer_messages"] == truth["customer_messages"]
    for name in (
        "containment",
        "resolution_confirmed",
        "resolution_assumed",
        "fallback_rate",
        "negative_share",
        "reply_time_p50",
        "reply_time_p95",
        "csat_score",
        "csat_response_rate",
    ):
        assert summary[name] == pytest.approx(truth[name], abs=1e-6), name
    assert dict(figures.tables["handoffs"].column_pairs("reason", "tickets")) == dict(
        truth["handoffs"]
    )
    daily = figures.tables["daily"]
    assert {(day, channel): n for day, channel, n, _ in daily.rows} == dict(
        truth["daily"]
    )
    intents = dict(figures.tables["top_intents"].column_pairs("intent", "messages"))
    assert {i: n for i, n in intents.items() if i != "rate"} == dict(truth["intents"])
    by_intent = figures.tables["sentiment_by_intent"]
    for intent, messages, negative_share in by_intent.rows:
        if intent in truth["intents"]:
            assert messages * negative_share == pytest.approx(
                truth["negative_by_intent"][intent]
            )


def test_a_period_with_no_conversations_has_no_figures_rather_than_an_error(
    databases,
) -> None:
    tracker, business = databases
    traffic.write(tracker, business, conversations())
    empty = Period(START - timedelta(days=30), START - timedelta(days=29))

    figures = compute(tracker, business, empty)

    assert figures.summary["conversations"] == 0
    assert figures.summary["containment"] is None
    assert figures.summary["reply_time_p50"] is None
    assert figures.tables["daily"].rows == []


def test_a_period_must_be_aware_and_forward() -> None:
    with pytest.raises(ValueError, match="timezone"):
        Period(datetime(2026, 1, 2), datetime(2026, 1, 3))
    with pytest.raises(ValueError, match="end after"):
        Period(START, START)
