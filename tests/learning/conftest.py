"""Review-queue fixtures: the analytics databases (SQLite and PostgreSQL), and
conversations written into them as Rasa and the actions write them."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy.engine import Engine

from actions.db.models import CsatRating, KbAnswer, SupportTicket, TicketStatus
from actions.privacy import mask_secrets
from analytics.sql import events, metadata
from tests.analytics.conftest import (  # noqa: F401  (pytest fixtures)
    backend,
    databases,
    postgres_server,
)
from tests.conftest import REPO_ROOT, offline_env

START = datetime(2026, 11, 2, 9, tzinfo=timezone.utc)


def said(
    text: str,
    intent: str,
    confidence: float = 0.95,
    runner_up: tuple[str, float] = ("greet", 0.02),
    sentiment: str = "neutral",
    language: str = "en",
) -> dict[str, Any]:
    """A customer message's parse data as the project's NLU writes it."""
    ranking = [{"name": intent, "confidence": confidence},
               {"name": runner_up[0], "confidence": runner_up[1]},
               {"name": "goodbye", "confidence": 0.01}]  # fmt: skip
    if intent == "nlu_fallback":
        ranking = [{"name": "nlu_fallback", "confidence": 0.45}] + [
            {"name": "faq_shipping", "confidence": 0.3},
            {"name": runner_up[0], "confidence": runner_up[1]},
        ]
    return {
        "text": text,
        "intent": {"name": intent, "confidence": ranking[0]["confidence"]},
        "intent_ranking": ranking,
        "entities": [{"entity": "language", "value": language}],
        "sentiment": {"label": sentiment, "confidence": 0.9},
    }


@dataclass
class Chat:
    """One conversation: (bot text or None, customer text, parse data) turns."""

    sender: str
    start: datetime
    turns: list[tuple[str | None, str, dict[str, Any]]]
    handoff: bool = False
    rating: int | None = None
    kb: list[tuple[str, bool, bool | None]] = field(default_factory=list)


def write(tracker: Engine, business: Engine, chats: list[Chat]) -> None:
    metadata.create_all(tracker, tables=[events])
    rows, tickets, ratings, answers = [], [], [], []
    for n, chat in enumerate(chats):
        t = chat.start.timestamp()
        for bot, text, parse_data in chat.turns:
            if bot:
                rows.append(_row(chat.sender, "bot", t, {"event": "bot", "text": bot}))
            t += 5
            event = {"event": "user", "timestamp": t, "text": text,
                     "parse_data": parse_data}  # fmt: skip
            rows.append(_row(chat.sender, "user", t, event))
            t += 20
        end = datetime.fromtimestamp(t, timezone.utc)
        if chat.handoff:
            tickets.append({
                "number": f"TCK-L{n:05d}", "conversation_id": chat.sender,
                "reason": "customer asked for a person", "sentiment_trail": [],
                "transcript": "", "status": TicketStatus.OPEN, "created_at": end,
            })  # fmt: skip
        if chat.rating is not None:
            ratings.append({"conversation_id": chat.sender, "rating": chat.rating,
                            "created_at": end})  # fmt: skip
        for question, answered, helpful in chat.kb:
            answers.append({
                "conversation_id": chat.sender, "question": mask_secrets(question),
                "article_slug": None, "score": 0.2, "answered": answered,
                "helpful": helpful, "created_at": chat.start,
            })  # fmt: skip
    with tracker.begin() as connection:
        connection.execute(events.insert(), rows)
    with business.begin() as connection:
        for table, batch in ((SupportTicket.__table__, tickets),
                             (CsatRating.__table__, ratings),
                             (KbAnswer.__table__, answers)):  # fmt: skip
            if batch:
                connection.execute(table.insert(), batch)


def _row(sender: str, kind: str, t: float, event: dict[str, Any]) -> dict[str, Any]:
    event["timestamp"] = t
    intent = event.get("parse_data", {}).get("intent", {}).get("name")
    return {
        "sender_id": sender,
        "type_name": kind,
        "timestamp": t,
        "intent_name": intent,
        "action_name": None,
        "data": json.dumps(event),
    }


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def learning_command(
    timeout_s: float, **environment: str
) -> Callable[..., subprocess.CompletedProcess]:
    """``python -m learning ARGS`` as an operator runs it, with ``environment``
    (DATABASE_URL, TRACKER_DATABASE_URL, ...) on top of the offline settings."""
    env = offline_env(**environment)

    def learning(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "learning", *args], cwd=REPO_ROOT, env=env,
            capture_output=True, text=True, timeout=timeout_s,
        )  # fmt: skip

    return learning
