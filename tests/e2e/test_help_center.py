"""The help center over HTTP, on SQLite and on a real PostgreSQL server.

A real Rasa server and action server (tests/e2e/conftest.py) answer from the
seeded help center: an answered question with its vote, an honest decline, a
second decline handing over, a question inside each form, and markup.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import select

from actions.db.models import KbAnswer
from tests.conftest import REPO_ROOT, offline_env
from tests.e2e.conftest import Chat, stored, texts
from tests.pg_server import postgres_server  # noqa: F401  (pytest fixture)

pytestmark = pytest.mark.e2e

VOTE_YES = '/kb_vote{"helpful": "yes"}'


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> str:
    if request.param == "sqlite":
        return request.getfixturevalue("database_url_sqlite")
    url = request.getfixturevalue("postgres_server").create_database("kb_e2e")
    subprocess.run(
        [sys.executable, "-m", "actions.db", "init"],
        cwd=REPO_ROOT, env=offline_env(DATABASE_URL=url), check=True,
        capture_output=True,
    )  # fmt: skip
    return url


@pytest.fixture(scope="module")
def database_url_sqlite(tmp_path_factory: pytest.TempPathFactory) -> str:
    from tests.servers import seeded_database

    return seeded_database(tmp_path_factory.mktemp("kb-e2e"))


def answers(database_url: str, conversation: str) -> list[KbAnswer]:
    return stored(
        database_url,
        select(KbAnswer)
        .where(KbAnswer.conversation_id == conversation)
        .order_by(KbAnswer.id),
    )


def test_a_question_is_answered_with_its_article_and_the_vote_is_stored(
    chat: Chat, database_url: str
) -> None:
    [reply] = chat("hey do u guys ship to canada??")
    assert reply["text"].startswith("Do you ship to Canada?\n")
    assert reply["text"].endswith("Did this answer your question?")
    payloads = [button["payload"] for button in reply["buttons"]]
    assert payloads == [VOTE_YES, '/kb_vote{"helpful": "no"}']
    assert "Glad that helped" in texts(chat(VOTE_YES))
    [answer] = answers(database_url, chat.sender)
    assert (answer.article_slug, answer.answered, answer.helpful) == (
        "shipping-canada", True, True,
    )  # fmt: skip


def test_questions_without_an_answer_are_declined_then_handed_over(
    chat: Chat, database_url: str
) -> None:
    [reply] = chat("what's a good recipe for lasagne")
    assert "I don't have an answer to that" in reply["text"]
    assert reply["buttons"][0]["payload"] == "/request_human"
    assert "ticket number" in texts(chat("who won the football world cup in 1998"))
    assert [a.answered for a in answers(database_url, chat.sender)] == [False, False]


def test_a_question_inside_the_order_form_is_answered_then_the_form_asks_again(
    chat: Chat,
) -> None:
    assert "order number" in texts(chat("where is my order?"))
    reply = texts(chat("how long does standard shipping take?"))
    assert reply.startswith("How long does shipping take?")
    assert reply.endswith("What's your order number? It looks like ORD-1234.")
    assert "email address" in texts(chat("ORD-1001"))


def test_a_question_inside_the_account_form_is_answered_then_it_asks_again(
    chat: Chat,
) -> None:
    assert "email address" in texts(chat("what's my balance?"))
    reply = texts(chat("which payment methods do you accept?"))
    assert reply.startswith("Which payment methods do you accept?")
    assert reply.endswith("What's the email address on your account?")


def test_markup_is_declined_as_plain_text(chat: Chat, database_url: str) -> None:
    [reply] = chat("<script>alert('hi')</script>")
    assert "I don't have an answer" in reply["text"]
    [answer] = answers(database_url, chat.sender)
    assert answer.question == "<script>alert('hi')</script>"  # stored, not run
