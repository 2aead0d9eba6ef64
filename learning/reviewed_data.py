"""Reviewed messages out of the queue: training data, regression set, articles.

``export`` writes each decision not yet exported:

* ``accepted``, ``corrected``, ``out_of_scope``: a training example of its
  intent in ``data/reviewed/nlu.yml`` (Rasa NLU YAML, with its provenance as the
  example's metadata), or, for one in three wordings (chosen by the wording's
  fingerprint, so the same every time), an example of the frozen regression set
  ``tests/data/nlu_reviewed_regression.yml``, which is never trained on and
  shows whether a new model learned the reviewed wordings rather than the
  sentences themselves;
* ``new_intent``: the same, once a developer has added the intent to
  domain.yml (with its responses and rules); until then it waits, counted;
* ``kb_example``: a question of its help-center article (re-embedded at once).

Files are rewritten whole through a temporary file, and an example already in
a file (by its review item) is not written again: exporting twice, or after a
crash between writing and committing, changes nothing.
"""

from __future__ import annotations

import os
import tempfile
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from sqlalchemy.orm import Session

from actions.db.models import ReviewDecision, ReviewItem
from actions.kb import store
from learning.decisions import KB_EXAMPLE, NEW_INTENT, domain_intents

REPO_ROOT = Path(__file__).resolve().parents[1]
TRAINING_PATH = Path("data") / "reviewed" / "nlu.yml"
REGRESSION_PATH = Path("tests") / "data" / "nlu_reviewed_regression.yml"
TRAINING_FILE = REPO_ROOT / TRAINING_PATH
REGRESSION_FILE = REPO_ROOT / REGRESSION_PATH
REGRESSION_SHARE = 3  # one wording in this many goes to the regression set
HEADER = (
    "# Written by `python -m learning export` from the review queue "
    "(docs/learning.md);\n# each example's metadata says who reviewed it "
    "and when. Edit by reviewing, not here.\n"
)


@dataclass(frozen=True)
class ExportSummary:
    trained: int
    regression: int
    kb_examples: int
    waiting_for_domain: dict[str, int]  # new intent: examples waiting


def for_regression(fingerprint: str) -> bool:
    return int(fingerprint[:8], 16) % REGRESSION_SHARE == 0


def read_examples(path: Path) -> dict[str, list[dict[str, Any]]]:
    """intent: [{"text": ..., "metadata": {...}}] of a file this module wrote."""
    examples: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if not path.is_file():
        return examples
    document = yaml.safe_load(path.read_text()) or {}
    for block in document.get("nlu") or ():
        examples[block["intent"]].extend(block.get("examples") or ())
    return examples


def _write_examples(path: Path, examples: dict[str, list[dict[str, Any]]]) -> None:
    document = {
        "version": "3.1",
        "nlu": [
            {"intent": intent, "examples": examples[intent]}
            for intent in sorted(examples)
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    text = HEADER + yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w") as out:
        out.write(text)
    os.replace(temporary, path)


def _example(item: ReviewItem, decision: ReviewDecision) -> dict[str, Any]:
    return {
        "text": item.text,
        "metadata": {
            "review_item": item.id,
            "reviewer": decision.reviewer,
            "decided_at": decision.decided_at.astimezone(timezone.utc).isoformat(
                timespec="seconds"
            ),
            "verdict": decision.verdict,
            "reasons": list(item.reasons),
            "model_guess": item.top_intents[0][0] if item.top_intents else None,
        },
    }


def export(
    session: Session,
    training_file: Path = TRAINING_FILE,
    regression_file: Path = REGRESSION_FILE,
    known_intents: list[str] | None = None,
) -> ExportSummary:
    """Write every decision not yet exported (marked in ``session``, which the
    caller commits after this returns)."""
    known = set(known_intents if known_intents is not None else domain_intents())
    rows = session.execute(
        sa.select(ReviewDecision, ReviewItem)
        .join(ReviewItem, ReviewItem.id == ReviewDecision.item_id)
        .where(ReviewDecision.exported_at.is_(None))
        .order_by(ReviewDecision.id)
    ).all()
    training, regression = read_examples(training_file), read_examples(regression_file)
    written = {
        example["metadata"]["review_item"]
        for examples in (*training.values(), *regression.values())
        for example in examples
    }
    now = datetime.now(timezone.utc)
    counts = {"trained": 0, "regression": 0, "kb": 0}
    waiting: dict[str, int] = defaultdict(int)
    for decision, item in rows:
        if decision.verdict == KB_EXAMPLE:
            _add_question(session, decision.article_slug, item.text, decision.reviewer)
            counts["kb"] += 1
        elif decision.verdict == NEW_INTENT and decision.intent not in known:
            waiting[decision.intent] += 1
            continue  # exported once the domain has the intent
        elif item.id not in written:
            held_out = for_regression(item.fingerprint)
            target = regression if held_out else training
            target[decision.intent].append(_example(item, decision))
            counts["regression" if held_out else "trained"] += 1
        decision.exported_at = now
    if counts["trained"]:
        _write_examples(training_file, training)
    if counts["regression"]:
        _write_examples(regression_file, regression)
    session.flush()
    return ExportSummary(
        counts["trained"], counts["regression"], counts["kb"], dict(waiting)
    )


def _add_question(session: Session, slug: str, question: str, reviewer: str) -> None:
    from actions.kb.knowledge import embed_if_missing  # loads the embedding model

    article = store.find(session, slug)
    data = store.as_data(article)
    if question not in data.questions:
        store.save_articles(
            session,
            [replace(data, questions=(*data.questions, question))],
            f"review:{reviewer}",
        )
        embed_if_missing(session)
