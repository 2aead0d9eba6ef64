"""The Rasa server's figures: messages, replies, what the NLU read, failures.

Recorded by the wrappers in ``rasa_changes/metrics.py`` around Rasa's own
message handling (every channel's messages pass there) and served by the
``/metrics`` route of ``connectors/metrics_endpoint.py``. Labels hold names
from the domain and the code only, never message text: /metrics is read by
tools that are not behind the customers' verification.
"""

from __future__ import annotations

from typing import Any

from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME

from components.language_detector import language_of
from metrics import LATENCY_BUCKETS, Counter, Histogram

MESSAGES = Counter(
    "assistant_messages",
    "Customer messages received, by channel.",
    ["channel"],
)
REPLY_SECONDS = Histogram(
    "assistant_reply_seconds",
    "From a customer message arriving to the assistant's replies being handed "
    "to the channel, waiting for the conversation's lock included.",
    ["channel"],
    buckets=LATENCY_BUCKETS,
)
PARSE_SECONDS = Histogram(
    "assistant_parse_seconds",
    "Time the NLU pipeline takes to read one message.",
    buckets=LATENCY_BUCKETS,
)
INTENTS = Counter(
    "assistant_intents",
    "Messages read, by the intent understood and the language written in.",
    ["intent", "language"],
)
FALLBACKS = Counter(
    "assistant_fallbacks",
    "Messages the NLU could not read with enough confidence (nlu_fallback).",
)
FAILURES = Counter(
    "assistant_message_failures",
    "Messages that could not be handled (answered with an apology), by cause: "
    "lock (the conversation was busy), database, or other.",
    ["cause"],
)
CAUSES = ("lock", "database", "other")
for _cause in CAUSES:
    FAILURES.labels(_cause)  # shown as 0 until the first failure


def failure_cause(error: BaseException) -> str:
    """``lock``, ``database`` or ``other``: what an operator would look at first."""
    from rasa.core.lock_store import LockError
    from sqlalchemy.exc import SQLAlchemyError

    from stores.tracker_store import TrackerStoreUnavailable

    if isinstance(error, LockError):
        return "lock"
    if isinstance(error, (SQLAlchemyError, TrackerStoreUnavailable)):
        return "database"
    return "other"


def record_parse(parse_data: dict[str, Any], seconds: float) -> None:
    """One message read by the NLU: its time, its intent, whether it fell back."""
    PARSE_SECONDS.observe(seconds)
    intent = (parse_data.get("intent") or {}).get("name") or "none"
    INTENTS.labels(intent, language_of(parse_data) or "none").inc()
    if intent == DEFAULT_NLU_FALLBACK_INTENT_NAME:
        FALLBACKS.inc()
