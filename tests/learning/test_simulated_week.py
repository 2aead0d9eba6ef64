"""A week of learning from conversations, simulated on a small project.

The live model was trained on English only; this week customers wrote in
Spanish. Each customer talks to the real Rasa agent (its SQL tracker store is
what the review queue reads) and rates the conversation 1 when the answer was
not the one they needed, as the rating form lets them. Then, as the team would:
``python -m learning build`` fills the queue, a reviewer accepts or corrects
each wording, the decisions are exported to ``data/reviewed/`` and the frozen
regression set, and ``python -m learning retrain`` (``make retrain``) trains a
candidate from the live model's weights and promotes it. Afterwards the same
wordings are understood and the held-out English figures did not drop.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from actions.db.engine import make_engine
from actions.db.migrate import upgrade_head
from actions.db.models import CsatRating
from learning import queue, reviewed_data
from learning.decisions import ACCEPTED, CORRECTED, decide, domain_intents
from learning.evaluation import load_test_examples, predict, score
from learning.retrain import FIRST_MODEL, Project, train
from learning.versions import ModelStore
from tests.learning.conftest import learning_command

pytestmark = pytest.mark.model

PROJECT = Path(__file__).with_name("week_project")

# What each customer needed, and the answer that meets the need.
ANSWERS = {
    "check_order_status": "Your order ships tomorrow.",
    "check_balance": "Your balance is 12.50 EUR.",
    "request_refund": "Your refund is on its way.",
}
WEEK = {
    "check_order_status": [
        "dónde está mi pedido", "donde esta mi paquete", "cuándo llega mi pedido",
        "mi pedido no ha llegado todavía", "estado de mi pedido por favor",
        "ya enviaron mi paquete?", "quiero saber dónde está mi compra",
        "cuando me llega el envío", "sigo esperando mi pedido",
    ],
    "check_balance": [
        "cuánto saldo tengo", "cuál es mi saldo", "cuánto dinero me queda en la cuenta",
        "quiero ver mi saldo", "saldo disponible por favor", "me dices mi saldo",
        "cuánto crédito me queda", "cuánto hay en mi cuenta", "consultar saldo",
    ],
    "request_refund": [
        "quiero un reembolso", "devuélvanme mi dinero",
        "quiero que me devuelvan el dinero", "necesito un reembolso por favor",
        "reembolso de mi compra", "me pueden reembolsar", "quiero mi dinero de vuelta",
        "solicito la devolución del dinero", "pido un reembolso",
    ],
}  # fmt: skip
NEEDED = {text: intent for intent, texts in WEEK.items() for text in texts}


async def customers_write(model: Path, tracker_db: Path) -> dict[str, str]:
    """Each wording from a customer of its own; {sender: wording} of those whose
    answer was wrong."""
    from rasa.core.agent import Agent
    from rasa.core.tracker_store import SQLTrackerStore

    store = SQLTrackerStore(dialect="sqlite", db=str(tracker_db))
    agent = Agent.load(str(model), tracker_store=store)
    disappointed = {}
    for text, intent in NEEDED.items():
        sender = f"week-{uuid.uuid4().hex[:8]}"
        replies = await agent.handle_text(text, sender_id=sender)
        if ANSWERS[intent] not in [reply.get("text") for reply in replies]:
            disappointed[sender] = text
    return disappointed


def accuracy(model: Path, texts: list[str], gold: list[str]) -> float:
    said = asyncio.run(predict(model, texts))
    return sum(s == g for s, g in zip(said, gold)) / len(gold)


def test_a_week_of_reviewed_conversations_teaches_the_live_model(
    tmp_path: Path,
) -> None:
    root = tmp_path / "project"
    shutil.copytree(PROJECT, root)
    project = Project(root)
    intents = domain_intents(project.domain)
    train(project, root / "models", FIRST_MODEL.removesuffix(".tar.gz"), None, 1.0)
    first = root / "models" / FIRST_MODEL
    week_texts, week_gold = list(NEEDED), list(NEEDED.values())
    held_texts, held_gold = load_test_examples(root / "tests/data/nlu_test.yml")
    before_week = accuracy(first, week_texts, week_gold)
    before_held = score(held_gold, asyncio.run(predict(first, held_texts)), intents)
    assert before_week < 0.5, "the live model should not read Spanish yet"

    # The week: customers talk to the live model; the disappointed rate it 1.
    tracker_url = f"sqlite:///{tmp_path}/conversations.db"
    business_url = f"sqlite:///{tmp_path}/assistant.db"
    upgrade_head(business_url)
    disappointed = asyncio.run(customers_write(first, tmp_path / "conversations.db"))
    business = make_engine(business_url)
    with Session(business) as session, session.begin():
        session.add_all(CsatRating(conversation_id=c, rating=1) for c in disappointed)

    learning = learning_command(
        900, DATABASE_URL=business_url, TRACKER_DATABASE_URL=tracker_url
    )

    built = learning("build")
    assert built.returncode == 0, built.stderr

    # The reviewer: every wording of the week is offered, and decided once.
    with Session(business) as session, session.begin():
        offered = {item.text: item for item in queue.pending(session)}
        assert set(disappointed.values()) <= set(offered) <= set(NEEDED)
        for text, item in offered.items():
            guess = item.top_intents[0][0]
            verdict = ACCEPTED if guess == NEEDED[text] else CORRECTED
            decide(session, item.id, verdict, "ana", NEEDED[text],
                   known_intents=intents)  # fmt: skip
        summary = reviewed_data.export(
            session,
            root / reviewed_data.TRAINING_PATH,
            root / reviewed_data.REGRESSION_PATH,
            known_intents=intents,
        )
        assert queue.pending(session) == []
    assert summary.trained + summary.regression == len(offered)
    assert summary.regression >= 3, "the frozen regression set needs some wordings"

    retrained = learning("retrain", "--project", str(root))
    assert retrained.returncode == 0, retrained.stdout + retrained.stderr
    assert "candidate fine-tuned from v1" in retrained.stdout
    store = ModelStore(root / "models")
    assert store.live().number == 2

    # The same wordings are now understood, those never trained on included.
    live = store.path_of(store.live())
    regression_texts, regression_gold = load_test_examples(
        root / reviewed_data.REGRESSION_PATH
    )
    after_week = accuracy(live, week_texts, week_gold)
    assert after_week >= 0.8 and after_week > before_week + 0.3
    assert accuracy(live, regression_texts, regression_gold) > accuracy(
        first, regression_texts, regression_gold
    )
    after_held = score(held_gold, asyncio.run(predict(live, held_texts)), intents)
    assert after_held.macro_f1 >= before_held.macro_f1 - 0.005
    print(
        f"\nsimulated week: Spanish wordings read right {before_week:.0%} -> "
        f"{after_week:.0%}; held-out English macro-F1 {before_held.macro_f1:.3f} -> "
        f"{after_held.macro_f1:.3f}; {len(disappointed)} customers rated 1"
    )
