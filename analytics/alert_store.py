"""Alerts kept and delivered: store what the detector found, and POST each new
alert to $ALERT_WEBHOOK_URL until the receiver accepts it.

Storing is idempotent (an alert's key is unique, so a second watcher or a second
run over the same hours adds nothing) and transactional. Delivery follows
ticket delivery (actions/ticket_delivery.py): the alert is committed before it
is sent, each attempt is counted, and one that was not accepted is sent again
on the next round, so a webhook that is down loses no alert. The alert's key
travels as ``Idempotency-Key``: a receiver may get an alert twice (a retry after
a lost reply) and should keep one.
"""

from __future__ import annotations

import logging
from datetime import datetime

import requests
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from actions.db.models import SentimentAlert, utcnow
from actions.privacy import mask_personal
from analytics.alerts import ALL, Alarm
from analytics.figures import NEGATIVE
from analytics.sql import events, json_text

logger = logging.getLogger(__name__)

TIMEOUT_S = 5.0
EXAMPLES = 3


def examples(tracker: Engine, alarm: Alarm) -> list[str]:
    """Up to three of the surge's negative messages, masked (newest first)."""
    sentiment = json_text(events.c.data, "parse_data", "sentiment", "label")
    query = (
        sa.select(json_text(events.c.data, "text"))
        .where(
            events.c.type_name == "user",
            events.c.timestamp >= alarm.since.timestamp(),
            events.c.timestamp < alarm.at.timestamp(),
            sentiment == NEGATIVE,
        )
        .order_by(events.c.timestamp.desc())
        .limit(EXAMPLES)
    )
    if alarm.topic != ALL:
        query = query.where(events.c.intent_name == alarm.topic)
    with tracker.connect() as connection:
        return [mask_personal(text) for (text,) in connection.execute(query) if text]


def store(business: Engine, tracker: Engine, alarms: list[Alarm]) -> list[str]:
    """Keep the alarms not stored yet, in one transaction; their keys."""
    with Session(business, future=True) as session, session.begin():
        known = set(
            session.scalars(
                sa.select(SentimentAlert.key).where(
                    SentimentAlert.key.in_([alarm.key for alarm in alarms])
                )
            )
        )
        new = [alarm for alarm in alarms if alarm.key not in known]
        for alarm in new:
            session.add(
                SentimentAlert(
                    key=alarm.key,
                    topic=alarm.topic,
                    raised_at=alarm.at,
                    since=alarm.since,
                    baseline_share=alarm.baseline,
                    current_share=alarm.current,
                    messages=alarm.messages,
                    examples=examples(tracker, alarm),
                )
            )
    return [alarm.key for alarm in new]


def payload(alert: SentimentAlert) -> dict:
    return {
        "alert": alert.key,
        "kind": "negative_sentiment_surge",
        "topic": alert.topic,
        "raised_at": alert.raised_at.isoformat(),
        "since": alert.since.isoformat(),
        "baseline_share": round(alert.baseline_share, 4),
        "current_share": round(alert.current_share, 4),
        "messages": alert.messages,
        "examples": alert.examples,
    }


def deliver_pending(business: Engine, url: str, timeout: float = TIMEOUT_S) -> int:
    """POST every alert not yet accepted, oldest first; how many were accepted.

    No transaction stays open while a request is on the wire."""
    with Session(business, future=True) as session:
        pending = [
            (alert.id, payload(alert))
            for alert in session.scalars(
                sa.select(SentimentAlert)
                .where(SentimentAlert.delivered_at.is_(None))
                .order_by(SentimentAlert.raised_at, SentimentAlert.id)
            )
        ]
    accepted = 0
    for alert_id, body in pending:
        error = _post(url, body, timeout)
        with Session(business, future=True) as session, session.begin():
            alert = session.get(SentimentAlert, alert_id)
            alert.attempts += 1
            alert.last_error = error
            if error is None:
                alert.delivered_at = utcnow()
                accepted += 1
        if error:
            logger.warning(
                "alert %s: webhook delivery failed (%s)", body["alert"], error
            )
    return accepted


def _post(url: str, body: dict, timeout: float) -> str | None:
    """None when the webhook accepted ``body``, else why not (briefly)."""
    try:
        response = requests.post(
            url, json=body, headers={"Idempotency-Key": body["alert"]}, timeout=timeout
        )
    except requests.RequestException as error:
        return type(error).__name__
    if not 200 <= response.status_code < 300:
        return f"HTTP {response.status_code}"
    return None


def raised_between(
    business: Engine, start: datetime, end: datetime
) -> list[SentimentAlert]:
    """The alerts raised in [start, end), newest first (for the page)."""
    with Session(business, future=True, expire_on_commit=False) as session:
        return list(
            session.scalars(
                sa.select(SentimentAlert)
                .where(
                    SentimentAlert.raised_at >= start, SentimentAlert.raised_at < end
                )
                .order_by(SentimentAlert.raised_at.desc())
            )
        )
