"""What a reviewer decides about an item of the review queue.

Five verdicts: ``accepted`` (the model's best intent was right), ``corrected``
(another intent of the domain), ``out_of_scope`` (nothing the assistant should
do; trained as the domain's ``out_of_scope`` intent), ``kb_example`` (a way to
ask an existing help-center article) and ``new_intent`` (a new intent, named by
the reviewer, which waits in the queue's export until a developer adds it to
domain.yml). Each decision is stored with who and when, once per item: a
second decision on the same item is refused, whoever makes it.
"""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa
import yaml
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from actions.db.models import Article, ReviewDecision, ReviewItem

ACCEPTED = "accepted"
CORRECTED = "corrected"
OUT_OF_SCOPE = "out_of_scope"
KB_EXAMPLE = "kb_example"
NEW_INTENT = "new_intent"
VERDICTS = (ACCEPTED, CORRECTED, OUT_OF_SCOPE, KB_EXAMPLE, NEW_INTENT)
DOMAIN = Path(__file__).resolve().parents[1] / "domain.yml"
# Intents a customer never types: they are buttons' payloads or Rasa's own.
NOT_FOR_EXAMPLES = {"nlu_fallback", "rate", "kb_vote"}
_INTENT_NAME = re.compile(r"^[a-z][a-z0-9_]{2,60}$")


class ReviewError(ValueError):
    """A decision that cannot be stored; the message says why, for the reviewer."""


def domain_intents(domain: Path = DOMAIN) -> list[str]:
    """The intents of domain.yml, as names."""
    intents = yaml.safe_load(domain.read_text())["intents"]
    return [next(iter(i)) if isinstance(i, dict) else str(i) for i in intents]


def taking_guess(item: ReviewItem, intent: str) -> tuple[str, str | None]:
    """(verdict, intent) for a reviewer who picks one of the model's guesses:
    the first is accepted, another one corrects it."""
    first = item.top_intents[0][0] if item.top_intents else None
    return (ACCEPTED, None) if intent == first else (CORRECTED, intent)


def decide(
    session: Session,
    item_id: int,
    verdict: str,
    reviewer: str,
    intent: str | None = None,
    article_slug: str | None = None,
    known_intents: list[str] | None = None,
) -> ReviewDecision:
    """Store a reviewer's decision on item ``item_id`` (not committed here)."""
    item = session.get(ReviewItem, item_id)
    if item is None:
        raise ReviewError(f"there is no review item {item_id}")
    reviewer = (reviewer or "").strip()
    if not reviewer:
        raise ReviewError("a decision needs the reviewer's name")
    known = set(known_intents if known_intents is not None else domain_intents())
    known -= NOT_FOR_EXAMPLES
    if verdict == ACCEPTED:
        if not item.top_intents:
            raise ReviewError("the model had no intent to accept: correct it")
        intent = item.top_intents[0][0]
    elif verdict == CORRECTED:
        if intent not in known:
            raise ReviewError(f"{intent!r} is not an intent of the domain")
    elif verdict == OUT_OF_SCOPE:
        intent = OUT_OF_SCOPE
    elif verdict == NEW_INTENT:
        if not intent or not _INTENT_NAME.match(intent):
            raise ReviewError(
                "a new intent needs a name in lower case with underscores, "
                "e.g. gift_wrapping"
            )
        if intent in known:
            raise ReviewError(f"{intent} is already an intent: correct to it")
    elif verdict == KB_EXAMPLE:
        found = session.scalar(
            sa.select(Article.slug).where(
                Article.slug == article_slug, Article.active.is_(True)
            )
        )
        if found is None:
            raise ReviewError(f"there is no help-center article {article_slug!r}")
        intent = None
    else:
        raise ReviewError(f"unknown verdict {verdict!r}: one of {', '.join(VERDICTS)}")
    earlier = session.scalar(
        sa.select(ReviewDecision).where(ReviewDecision.item_id == item_id)
    )
    if earlier is not None:
        raise already_decided(earlier)
    decision = ReviewDecision(
        item_id=item_id,
        verdict=verdict,
        intent=intent,
        article_slug=article_slug if verdict == KB_EXAMPLE else None,
        reviewer=reviewer[:100],
    )
    session.add(decision)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:  # another reviewer decided it a moment ago
        raise ReviewError(f"item {item_id} was decided meanwhile") from None
    return decision


def already_decided(decision: ReviewDecision) -> ReviewError:
    return ReviewError(
        f"item {decision.item_id} was already decided ({decision.verdict}) by "
        f"{decision.reviewer} at {decision.decided_at:%Y-%m-%d %H:%M} UTC"
    )
