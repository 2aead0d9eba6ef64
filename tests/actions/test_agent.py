"""``python -m actions.agent``: open tickets for agents, and releasing a conversation.

Rasa's HTTP API is played by a local HTTP server, so the real request is checked.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from actions.agent import main as agent
from actions.db.engine import REPO_ROOT, session_scope
from actions.db.models import AuditLog, SupportTicket, TicketStatus
from actions.db.repository import create_ticket
from settings.action_server import RASA_API_TOKEN, RASA_URL
from tests.http_stub import StubServer

TRANSCRIPT = "Customer: my card is [card ending 1111]\nAssistant: I'm sorry about that."


def open_ticket(engine: Engine, conversation_id: str = "conv/42") -> str:
    with session_scope(engine) as session:
        return create_ticket(
            session,
            conversation_id,
            "the customer was upset in two messages in a row",
            TRANSCRIPT,
            [
                {"turn": 1, "label": "negative", "confidence": 0.912},
                {"turn": 2, "label": "negative", "confidence": 0.8},
            ],
        )


def ticket_status(engine: Engine, number: str) -> TicketStatus:
    with Session(engine, future=True) as session:
        return session.scalars(
            select(SupportTicket.status).where(SupportTicket.number == number)
        ).one()


def test_list_shows_reason_sentiment_and_transcript(
    db_url: str, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert agent(["list"]) == 0
    assert capsys.readouterr().out.strip() == "No open tickets."
    number = open_ticket(engine)
    assert agent(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{number}  opened ")
    assert lines[0].endswith("conversation conv/42")
    assert lines[1:] == [
        "  reason:    the customer was upset in two messages in a row",
        "  customer:  not verified",
        "  sentiment: 1: negative (0.91), 2: negative (0.80)",
        "  webhook:   not sent (no webhook configured)",
        "  transcript:",
        "    Customer: my card is [card ending 1111]",
        "    Assistant: I'm sorry about that.",
    ]


def test_release_resumes_the_conversation_then_closes_its_tickets(
    db_url: str,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first, second = open_ticket(engine), open_ticket(engine)
    other = open_ticket(engine, conversation_id="someone-else")
    monkeypatch.setenv(RASA_API_TOKEN.name, "s3cret")
    with StubServer([200]).running() as rasa:
        monkeypatch.setenv(RASA_URL.name, rasa.url)
        assert agent(["release", first.lower(), "--agent", "ann"]) == 0

    [request] = rasa.received
    assert request.path == "/conversations/conv%2F42/tracker/events"
    assert request.query == {"include_events": ["NONE"], "token": ["s3cret"]}
    assert request.body == [{"event": "resume"}]
    assert "Released" in capsys.readouterr().out
    # Resuming ends the hand-over for the whole conversation, not for one ticket.
    assert ticket_status(engine, first) is TicketStatus.RELEASED
    assert ticket_status(engine, second) is TicketStatus.RELEASED
    assert ticket_status(engine, other) is TicketStatus.OPEN
    with Session(engine, future=True) as session:
        [audit] = session.scalars(
            select(AuditLog).where(AuditLog.action == "release_conversation")
        )
    assert (audit.actor, audit.target, audit.conversation_id) == (
        "agent:ann",
        first,
        "conv/42",
    )

    assert agent(["release", first]) == 0  # repeating it is harmless
    assert "already released" in capsys.readouterr().out


@pytest.mark.parametrize("status", [401, 500])
def test_a_failed_release_keeps_the_ticket_open(
    status: int,
    db_url: str,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    number = open_ticket(engine)
    with StubServer([status]).running() as rasa:
        monkeypatch.setenv(RASA_URL.name, rasa.url)
        assert agent(["release", number]) == 1
    assert f"HTTP {status}" in capsys.readouterr().err
    assert ticket_status(engine, number) is TicketStatus.OPEN


def test_release_of_an_unknown_ticket(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert agent(["release", "TCK-NOPE22"]) == 2
    assert capsys.readouterr().err.strip() == "error: no ticket TCK-NOPE22"


def test_unreachable_database_is_one_clear_line(
    unreachable_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert agent(["list"]) == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: database postgresql+psycopg2://app@127.0.0.1:9/")


def test_runs_as_a_module(db_url: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "actions.agent", "list"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "No open tickets."
