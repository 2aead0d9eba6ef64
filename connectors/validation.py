"""What a channel accepts as a conversation id and a message, before Rasa sees it.

Rasa reads both without checking them: a JSON array or a number as the sender
ends in a 500 or a database error, a NUL character in a database error, and a
megabyte of text goes through the language model. Every channel in connectors/
refuses such input with a reason instead.
"""

from __future__ import annotations

from typing import Any

MAX_SENDER_LENGTH = 255  # the tracker store's sender_id column
MAX_MESSAGE_LENGTH = 5000


def sender_problem(sender: Any) -> str | None:
    """Why ``sender`` is not a usable conversation id, or None."""
    if not isinstance(sender, str) or not 0 < len(sender) <= MAX_SENDER_LENGTH:
        return f"sender must be a string of 1 to {MAX_SENDER_LENGTH} characters"
    if not sender.isprintable():
        return "sender must not contain control characters"
    return None


def message_problem(message: Any) -> str | None:
    """Why ``message`` is not a usable message text, or None."""
    if not isinstance(message, str) or len(message) > MAX_MESSAGE_LENGTH:
        return f"message must be a string of at most {MAX_MESSAGE_LENGTH} characters"
    if "\x00" in message:
        return "message must not contain NUL characters"
    return None


def body_problem(body: Any) -> str | None:
    """Why a webhook body is not ``{"sender": str, "message": str}``, or None."""
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    return sender_problem(body.get("sender")) or message_problem(body.get("message"))
