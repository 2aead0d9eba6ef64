"""The negative-message surge detector, its alerts, and their delivery."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.orm import Session

from actions.db.models import SentimentAlert
from analytics import alert_store, traffic
from analytics.__main__ import watch_round
from analytics.alerts import (
    ALL,
    SETTINGS_FILE,
    Alarm,
    DetectorSettings,
    alarms_between,
)
from analytics.traffic import Conversation, Turn
from tests.http_stub import StubServer

START = datetime(2026, 10, 5, tzinfo=timezone.utc)
WATCHED = START + timedelta(days=7)  # a week to learn the baseline first
SURGE = WATCHED + timedelta(days=1, hours=13)  # an afternoon
END = WATCHED + timedelta(days=2)
PEAK = 80  # conversations in the busiest hour: a third of the demo's, to be quick


def surge_traffic(surge: bool, intent: str | None = None) -> list[Conversation]:
    """A week and two days; with ``surge``, six hours at 22% negative (in every
    message, or with ``intent``, at 60% in that intent's)."""
    span = None
    if surge:
        share = 0.22 if intent is None else 0.60
        span = traffic.Surge(SURGE, SURGE + timedelta(hours=6), share, intent)
    hours = int((END - START).total_seconds() // 3600)
    return traffic.simulate(START, hours, PEAK, 0.12, span, seed=21)


@pytest.fixture(scope="module")
def surged(module_databases):
    """Databases holding the surge traffic, written once for the module."""
    tracker, business = module_databases
    traffic.write(tracker, business, surge_traffic(surge=True))
    return module_databases


def test_a_surge_of_ten_points_is_found_soon_after_it_starts(surged) -> None:
    tracker, _ = surged

    alarms = alarms_between(tracker, WATCHED, END)

    overall = [alarm for alarm in alarms if alarm.topic == ALL]
    assert overall, alarms
    first = overall[0]
    assert SURGE < first.at <= SURGE + timedelta(hours=3)
    assert first.baseline == pytest.approx(0.12, abs=0.02)
    assert first.current > first.baseline + 0.05
    assert all(alarm.at >= SURGE for alarm in alarms)


def test_a_surge_in_one_intent_is_raised_for_that_intent(databases) -> None:
    tracker, business = databases
    traffic.write(tracker, business, surge_traffic(True, "return_item"))

    alarms = alarms_between(tracker, WATCHED, END)

    assert {alarm.topic for alarm in alarms} <= {ALL, "return_item"}, alarms
    returns = [alarm for alarm in alarms if alarm.topic == "return_item"]
    assert returns, alarms
    assert SURGE < returns[0].at <= SURGE + timedelta(hours=2)
    assert returns[0].current > 0.4


def test_steady_traffic_raises_no_alarm(databases) -> None:
    tracker, business = databases
    traffic.write(tracker, business, surge_traffic(surge=False))

    assert alarms_between(tracker, WATCHED, END) == []


def test_alerts_are_stored_once_with_masked_examples_and_delivered_until_accepted(
    surged,
) -> None:
    tracker, business = surged
    first = alarms_between(tracker, WATCHED, END)[0]
    # An upset customer writes just before the alarm, with a phone number.
    angry = Turn(
        "this is a joke, call me on +1 415 555 0100", "complain", "negative", 1
    )
    just_before = first.at - timedelta(minutes=2)
    traffic.write(
        tracker, business, [Conversation("angry", just_before, "rest", [angry])]
    )
    now = SURGE + timedelta(hours=4)

    with (
        StubServer([503, 200]).running() as webhook,
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setenv("ALERT_WEBHOOK_URL", f"{webhook.url}/alerts")
        watch_round(tracker, business, now)  # the webhook is down
        stored = _alerts(business)
        assert stored and all(a.delivered_at is None for a in stored)
        assert all(a.attempts == 1 and a.last_error == "HTTP 503" for a in stored)
        watch_round(tracker, business, now)  # up again: delivered
        watch_round(tracker, business, now + timedelta(minutes=10))

    again = _alerts(business)
    assert [a.key for a in again] == [a.key for a in stored]  # stored once
    assert all(a.delivered_at is not None for a in again)
    keys = [request.headers["Idempotency-Key"] for request in webhook.received]
    assert keys[: len(stored)] == keys[len(stored) :] == [a.key for a in again]
    body = webhook.received[-1].body
    assert body["kind"] == "negative_sentiment_surge" and len(body["examples"]) <= 3
    examples = " ".join(text for a in again for text in a.examples)
    assert "[phone]" in examples and "555 0100" not in examples


def test_examples_are_the_topics_negative_messages(databases) -> None:
    tracker, business = databases
    at = SURGE + timedelta(minutes=30)
    said = [
        ("a", "mail me at x@y.com now", "complain", "negative"),
        ("b", "fine thanks", "complain", "positive"),
        ("c", "where is it??", "greet", "negative"),
    ]
    traffic.write(
        tracker,
        business,
        [
            Conversation(who, at, "rest", [Turn(text, i, s, 1)])
            for who, text, i, s in said
        ],
    )
    alarm = Alarm("complain", at + timedelta(hours=1), at, 0.1, 0.5, 2)

    assert alert_store.examples(tracker, alarm) == ["mail me at [email] now"]


def test_detector_settings_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "alerts.yml"
    path.write_text("detector:\n  shift: 0.1\n")
    with pytest.raises(ValueError, match="needs exactly"):
        DetectorSettings.from_file(path)
    values = yaml.safe_load(SETTINGS_FILE.read_text())
    values["detector"]["shift"] = 0
    path.write_text(yaml.safe_dump(values))
    with pytest.raises(ValueError, match="shift is a share"):
        DetectorSettings.from_file(path)
    assert DetectorSettings.from_file().step_minutes in (1, 2, 5, 10, 15, 20, 30, 60)


def _alerts(business) -> list[SentimentAlert]:
    with Session(business, future=True) as session:
        return list(
            session.scalars(sa.select(SentimentAlert).order_by(SentimentAlert.key))
        )
