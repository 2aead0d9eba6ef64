"""Questions about the conversation so far, answered from the tracker's events."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

NLU_FALLBACK = "nlu_fallback"
# Rasa records these when a person takes over the conversation and gives it back.
HANDOFF_EVENTS = ("pause", "resume")
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


def since_handoff(events: list[Event]) -> list[Event]:
    """Events since a person last took over or gave back the conversation.

    What happened before an agent stepped in has been dealt with by that agent,
    so it must not count towards a new hand-over or a new rating.
    """
    marks = [
        index
        for index, event in enumerate(events)
        if event.get("event") in HANDOFF_EVENTS
    ]
    return events[marks[-1] + 1 :] if marks else events


def user_turns(events: list[Event]) -> list[Event]:
    """The customer's messages, oldest first."""
    return [event for event in events if event.get("event") == "user"]


def turn_intent(turn: Event) -> str | None:
    """Intent the NLU gave one customer message."""
    return ((turn.get("parse_data") or {}).get("intent") or {}).get("name")


def turn_sentiment(turn: Event) -> str | None:
    """Sentiment label the NLU gave one customer message; None for button payloads.

    Payloads (``/affirm``) skip the NLU, so they carry no sentiment at all.
    """
    return ((turn.get("parse_data") or {}).get("sentiment") or {}).get("label")


def response_name(event: Event) -> str | None:
    """Domain response (``utter_...``) a bot event was rendered from, if any."""
    return (event.get("metadata") or {}).get("utter_action")


def responses_since_latest_message(events: list[Event]) -> list[str]:
    """Responses the assistant has sent so far in reply to the latest message."""
    names: list[str] = []
    for event in reversed(events):
        if event.get("event") == "user":
            break
        name = response_name(event) if event.get("event") == "bot" else None
        if name:
            names.append(name)
    return names[::-1]


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


def responses_to_previous_message(events: list[Event]) -> list[str]:
    """Responses the assistant sent in reply to the message before the latest."""
    messages = [i for i, event in enumerate(events) if event.get("event") == "user"]
    if len(messages) < 2:
        return []
    return responses_since_latest_message(events[: messages[-1]])
