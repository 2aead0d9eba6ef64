"""Build trackers as Rasa sends them, and read back what an action said and set."""

from __future__ import annotations

from typing import Any

from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from actions.db.models import AuditLog, Order, OrderStatus

CONVERSATION_ID = "test-conversation"
ALICE = "alice@example.com"
BOB = "bob@example.com"


def order_status(engine: Engine, number: str) -> OrderStatus:
    with Session(engine, future=True) as session:
        return session.scalars(select(Order.status).where(Order.number == number)).one()


def audit_rows(engine: Engine, action: str) -> list[AuditLog]:
    with Session(engine, future=True) as session:
        return list(session.scalars(select(AuditLog).where(AuditLog.action == action)))


def count(engine: Engine, model: type) -> int:
    with Session(engine, future=True) as session:
        return session.scalar(select(func.count()).select_from(model))


def user(
    text: str,
    intent: str,
    sentiment: str | None = "neutral",
    entities: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A customer message event as Rasa records it (payloads have no sentiment)."""
    parse_data: dict[str, Any] = {
        "intent": {"name": intent, "confidence": 0.9},
        "entities": entities or [],
        "text": text,
    }
    if sentiment:
        parse_data["sentiment"] = {"label": sentiment, "confidence": 0.87654}
    return {"event": "user", "text": text, "parse_data": parse_data}


def bot(text: str, response: str | None = None) -> dict[str, Any]:
    """An assistant message event; ``response`` is the domain response it came from."""
    event: dict[str, Any] = {"event": "bot", "text": text}
    if response:
        event["metadata"] = {"utter_action": response}
    return event


def after(
    events: list[dict[str, Any]],
    slots: dict[str, Any] | None = None,
    active_loop: str | None = None,
    paused: bool = False,
) -> Tracker:
    """A tracker whose history is ``events``, its latest message the last user one."""
    latest = [event for event in events if event["event"] == "user"][-1]
    return Tracker(
        CONVERSATION_ID,
        {"failed_verifications": 0.0, "verification_locked": False, **(slots or {})},
        latest["parse_data"],
        events,
        paused,
        None,
        {"name": active_loop} if active_loop else {},
        "action_listen",
    )


def make_tracker(
    slots: dict[str, Any] | None = None,
    intent: str = "inform",
    text: str = "",
    entities: list[dict[str, Any]] | None = None,
    events: list[dict[str, Any]] | None = None,
    active_loop: str | None = None,
) -> Tracker:
    """A tracker whose latest message is ``intent`` and whose slots are ``slots``."""
    latest = {
        "intent": {"name": intent, "confidence": 1.0},
        "entities": entities or [],
        "text": text,
    }
    return Tracker(
        CONVERSATION_ID,
        {"failed_verifications": 0.0, "verification_locked": False, **(slots or {})},
        latest,
        events
        if events is not None
        else [{"event": "user", "text": text, "parse_data": latest}],
        False,
        None,
        {"name": active_loop} if active_loop else {},
        "action_listen",
    )


def form_tracker(
    form: str,
    slots: dict[str, Any],
    candidates: dict[str, Any],
    requested_slot: str | None,
    intent: str = "inform",
) -> Tracker:
    """A tracker as Rasa builds it to call ``validate_<form>``.

    Rasa appends the form's ActionExecuted and then the slot candidates it
    extracted from the latest message; the validator reads those as new values.
    """
    slot_events = [
        {"event": "slot", "name": name, "value": value}
        for name, value in candidates.items()
    ]
    tracker = make_tracker(
        {**slots, **candidates, "requested_slot": requested_slot},
        intent=intent,
        active_loop=form,
    )
    tracker.events += [{"event": "action", "name": form}, *slot_events]
    return tracker


def slot_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The final value each slot event in ``events`` sets."""
    return {
        event["name"]: event["value"]
        for event in events
        if event.get("event") == "slot"
    }


def responses(dispatcher: CollectingDispatcher) -> list[str]:
    return [message["response"] for message in dispatcher.messages]


def rendered(
    dispatcher: CollectingDispatcher, domain: dict[str, Any], language: str = "en"
) -> list[str]:
    """The texts customers would see in ``language``, filled in as Rasa's NLG
    does (the ``language`` slot chooses the variation)."""
    generator = TemplatedNaturalLanguageGenerator(domain["responses"])
    texts = []
    for message in dispatcher.messages:
        values = {
            key: value
            for key, value in message.items()
            if isinstance(value, str) and key not in ("response", "template")
        }
        reply = generator.generate_from_slots(
            message["response"], {"language": language}, "rest", **values
        )
        text = reply["text"]
        assert "{" not in text, f"unfilled placeholder in {message['response']}: {text}"
        texts.append(text)
    return texts
