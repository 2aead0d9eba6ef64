"""Deciding on review items, and writing the decisions out."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from rasa.shared.nlu.training_data.loading import load_data
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from actions.db.models import Article, AuditLog, ReviewDecision
from learning import queue, reviewed_data
from learning.decisions import ReviewError, decide
from tests.learning.conftest import START, Chat, said, write

INTENTS = ["greet", "check_order_status", "track_return", "out_of_scope", "rate"]


@pytest.fixture
def queued(databases: tuple[Engine, Engine]) -> Engine:
    """A queue of 12 not-understood wordings (and the articles' table)."""
    tracker, business = databases
    texts = [f"blorp number {word}" for word in "abcdefghijkl"]
    write(tracker, business, [
        Chat(f"c{n}", START, [(None, text, said(text, "nlu_fallback"))])
        for n, text in enumerate(texts)
    ])  # fmt: skip
    with Session(business) as session, session.begin():
        mars = ["do you ship to mars"]
        session.add(Article(slug="shipping-mars", title="Shipping to Mars",
                            answer="We don't.", questions=mars))  # fmt: skip
        queue.build(session, tracker, until=START.replace(hour=23))
    return business


def ids(business: Engine) -> list[int]:
    with Session(business) as session:
        return [item.id for item in queue.pending(session)]


def test_a_decision_is_stored_with_who_and_when_and_never_offered_again(
    queued: Engine,
) -> None:
    first, *rest = ids(queued)
    with Session(queued, expire_on_commit=False) as session, session.begin():
        decision = decide(session, first, "accepted", "ana", known_intents=INTENTS)
    assert (decision.verdict, decision.intent, decision.reviewer) == (
        "accepted", "faq_shipping", "ana",
    )  # fmt: skip
    assert decision.decided_at is not None
    assert ids(queued) == rest
    refused = pytest.raises(ReviewError, match="already decided .* by ana")
    with Session(queued) as session, session.begin(), refused:
        decide(session, first, "corrected", "ben", "greet", known_intents=INTENTS)


@pytest.mark.parametrize(
    ("verdict", "intent", "article", "problem"),
    [
        ("corrected", "order_pizza", None, "not an intent of the domain"),
        ("corrected", "rate", None, "not an intent of the domain"),  # a button's
        ("new_intent", "greet", None, "already an intent"),
        ("new_intent", "Gift Wrap!", None, "lower case with underscores"),
        ("kb_example", None, "no-such-article", "no help-center article"),
        ("maybe", None, None, "unknown verdict"),
    ],
)
def test_a_decision_that_cannot_be_used_is_refused_and_stores_nothing(
    queued: Engine, verdict: str, intent: str, article: str, problem: str
) -> None:
    item = ids(queued)[0]
    with (
        Session(queued) as session,
        session.begin(),
        pytest.raises(ReviewError, match=problem),
    ):
        decide(session, item, verdict, "ana", intent, article, INTENTS)
    with Session(queued) as session:
        assert session.query(ReviewDecision).count() == 0
    with (
        Session(queued) as session,
        session.begin(),
        pytest.raises(ReviewError, match="reviewer's name"),
    ):
        decide(session, item, "accepted", "  ", known_intents=INTENTS)


def test_export_writes_each_decision_once_with_its_provenance(
    queued: Engine, tmp_path: Path
) -> None:
    training, regression = (
        tmp_path / "data" / "reviewed" / "nlu.yml",
        tmp_path / "r.yml",
    )
    items = ids(queued)
    with Session(queued) as session, session.begin():
        for item in items[:8]:
            decide(session, item, "corrected", "ana", "track_return",
                   known_intents=INTENTS)  # fmt: skip
        decide(session, items[8], "out_of_scope", "ben", known_intents=INTENTS)
        decide(session, items[9], "new_intent", "ben", "gift_wrapping", None, INTENTS)
        decide(session, items[10], "kb_example", "ben", None, "shipping-mars", INTENTS)

    def export(known: list[str]) -> reviewed_data.ExportSummary:
        with Session(queued) as session, session.begin():
            return reviewed_data.export(session, training, regression, known)

    first = export(INTENTS)
    assert first.trained + first.regression == 9  # 8 corrected, 1 out of scope
    assert first.regression >= 1 and first.trained >= 1
    assert first.kb_examples == 1
    assert first.waiting_for_domain == {"gift_wrapping": 1}

    trained = load_data(str(training))
    held_out = load_data(str(regression))
    assert {m.get("intent") for m in trained.intent_examples} | {
        m.get("intent") for m in held_out.intent_examples
    } == {"track_return", "out_of_scope"}
    texts = {m.get("text") for m in trained.intent_examples}
    assert not texts & {m.get("text") for m in held_out.intent_examples}
    example = yaml.safe_load(training.read_text())["nlu"][0]["examples"][0]
    assert set(example["metadata"]) >= {"review_item", "reviewer", "decided_at"}
    assert example["metadata"]["model_guess"] == "faq_shipping"

    with Session(queued) as session:
        article = session.query(Article).filter_by(slug="shipping-mars").one()
        assert article.questions[-1].startswith("blorp number")
        assert session.query(AuditLog).filter_by(actor="review:ben").count() == 1

    again = export(INTENTS)  # nothing new: nothing written twice
    assert (again.trained, again.regression, again.kb_examples) == (0, 0, 0)
    assert load_data(str(training)).intent_examples == trained.intent_examples

    # Once a developer adds the intent to the domain, its examples go out.
    added = export([*INTENTS, "gift_wrapping"])
    assert added.trained + added.regression == 1 and added.waiting_for_domain == {}
