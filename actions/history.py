"""Questions about the conversation so far, answered from the tracker's events."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

NLU_FALLBACK = "nlu_fallback"
Event = dict[str, Any]


def latest_intent(tracker: Tracker) -> str | None:
    """Intent of the latest message, including ``nlu_fallback`` and button payloads."""
    return (tracker.latest_message.get("intent") or {}).get("name")


def current_session(events: list[Event]) -> list[Event]:
    """Events since the conversation (re)started, i.e. what this customer saw."""
    starts = [
        index
        for index, event in enumerate(events)
        if event.get("event") in ("session_started", "restart")
    ]
    return events[starts[-1] + 1 :] if starts else events


def user_turns(events: list[Event]) -> list[Event]:
    """The customer's messages, oldest first."""
    return [event for event in events if event.get("event") == "user"]


def turn_intent(turn: Event) -> str | None:
    """Intent the NLU gave one customer message."""
    return ((turn.get("parse_data") or {}).get("intent") or {}).get("name")


def trailing_fallbacks(turns: list[Event]) -> int:
    """How many of the last customer messages in a row the NLU did not understand."""
    count = 0
    for turn in reversed(turns):
        if turn_intent(turn) != NLU_FALLBACK:
            break
        count += 1
    return count


def offered_before_latest_message(events: list[Event]) -> set[str]:
    """Button payloads of the assistant's last message before the customer's latest.

    That is what a typed "yes" or "no" most likely answers.
    """
    after_latest_message = False
    for event in reversed(events):
        kind = event.get("event")
        if kind == "user":
            if after_latest_message:
                return set()  # the customer spoke twice in a row: no offer pending
            after_latest_message = True
        elif kind == "bot" and after_latest_message:
            buttons = (event.get("data") or {}).get("buttons") or []
            return {button.get("payload") for button in buttons}
    return set()
