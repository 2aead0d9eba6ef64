"""The review queue: customer messages the assistant may have got wrong.

A message is offered for review when the NLU fell back or was unsure (its two
best intents within ``MARGIN``), when it was negative, when the help center
declined it or it was voted unhelpful, or when its conversation ended with a
person (a ticket) or a rating of 1-2 (then its last ``LAST_MESSAGES`` customer
messages). Button taps (``/intent`` payloads) never are: the customer chose.

Building reads the conversations since the last build only (``review_scans``),
so it is safe to repeat; it reads them in SQL order, one conversation at a
time, never a whole period into memory. Texts are masked before they are
stored; a message seen again (the same masked words, any digits) adds to its
item's ``occurrences`` instead of becoming a second item.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from actions.db.models import (
    CsatRating,
    KbAnswer,
    ReviewDecision,
    ReviewItem,
    ReviewScan,
    SupportTicket,
)
from actions.privacy import mask_personal, mask_secrets
from analytics.figures import FALLBACK_INTENT
from analytics.sql import events
from analytics.unanswered import similarities
from components.language_detector import language_of

MARGIN = 0.2  # top intent's confidence less than this above the second's: unsure
LAST_MESSAGES = 3  # of a conversation that ended with a person or a low rating
LOW_RATING = 2
SIMILAR = 0.5  # char n-gram cosine from which two items are one group
MAX_GROUPED = 2000  # pending items regrouped at each build, most frequent first
FIRST_SCAN_DAYS = 7  # how far back the very first build reads

# Why a message is offered, in the order the page lists them.
NOT_UNDERSTOOD = "not_understood"
UNSURE = "unsure"
NEGATIVE = "negative"
KB_DECLINED = "kb_declined"
KB_UNHELPFUL = "kb_unhelpful"
HANDED_OVER = "handed_over"
RATED_LOW = "rated_low"
REASONS = (NOT_UNDERSTOOD, UNSURE, NEGATIVE, KB_DECLINED, KB_UNHELPFUL,
           HANDED_OVER, RATED_LOW)  # fmt: skip

_DIGITS = re.compile(r"\d+")


@dataclass
class Candidate:
    text: str  # masked
    language: str | None
    top_intents: list[tuple[str, float]]
    previous_bot_message: str | None  # masked
    conversation_id: str
    occurred_at: datetime
    reasons: set[str] = field(default_factory=set)


def fingerprint(masked_text: str) -> str:
    """One key for repeats of a message: case, spacing and digits ignored."""
    normal = _DIGITS.sub("0", " ".join(masked_text.lower().split()))
    return hashlib.sha256(normal.encode()).hexdigest()


def _top_intents(parse_data: dict) -> list[tuple[str, float]]:
    ranking = parse_data.get("intent_ranking") or [parse_data.get("intent") or {}]
    named = [
        (str(entry["name"]), round(float(entry.get("confidence") or 0.0), 3))
        for entry in ranking
        if entry.get("name") and entry.get("name") != FALLBACK_INTENT
    ]
    return named[:3]


@dataclass
class _Outcomes:
    """What the business database says about the period's conversations."""

    handed_over: set[str]
    rated_low: set[str]
    kb: dict[tuple[str, str], str]  # (conversation, masked question): reason


def _outcomes(business: Engine, start: datetime, end: datetime) -> _Outcomes:
    # A ticket or a rating comes after the messages: look a day past the end.
    late = end + timedelta(days=1)
    with business.connect() as connection:
        handed_over = set(
            connection.scalars(
                sa.select(SupportTicket.conversation_id).where(
                    SupportTicket.created_at >= start, SupportTicket.created_at < late
                )
            )
        )
        rated_low = set(
            connection.scalars(
                sa.select(CsatRating.conversation_id).where(
                    CsatRating.created_at >= start,
                    CsatRating.created_at < late,
                    CsatRating.rating <= LOW_RATING,
                )
            )
        )
        kb = {}
        for conversation, question, answered, helpful in connection.execute(
            sa.select(
                KbAnswer.conversation_id,
                KbAnswer.question,
                KbAnswer.answered,
                KbAnswer.helpful,
            ).where(KbAnswer.created_at >= start, KbAnswer.created_at < late)
        ):
            if not answered:
                kb[(conversation, question)] = KB_DECLINED
            elif helpful is False:
                kb[(conversation, question)] = KB_UNHELPFUL
    return _Outcomes(handed_over, rated_low, kb)


def _conversations(
    tracker: Engine, start: datetime, end: datetime
) -> Iterator[tuple[str, list[dict]]]:
    """(sender, its user and bot events in order) for the period, one at a time."""
    query = (
        sa.select(events.c.sender_id, events.c.data)
        .where(
            events.c.type_name.in_(("user", "bot")),
            events.c.timestamp >= start.timestamp(),
            events.c.timestamp < end.timestamp(),
        )
        .order_by(events.c.sender_id, events.c.timestamp, events.c.id)
    )
    with tracker.connect() as connection:
        current, batch = None, []
        rows = connection.execution_options(stream_results=True, yield_per=2000)
        for sender, data in rows.execute(query):
            if sender != current and batch:
                yield current, batch
                batch = []
            current = sender
            batch.append(json.loads(data))
        if batch:
            yield current, batch


def candidates(
    tracker: Engine, business: Engine, start: datetime, end: datetime
) -> Iterator[Candidate]:
    """The messages of ``[start, end)`` worth a reviewer's look, with why."""
    outcomes = _outcomes(business, start, end)
    for sender, conversation in _conversations(tracker, start, end):
        previous_bot: str | None = None
        typed: list[Candidate] = []
        for event in conversation:
            if event["event"] == "bot":
                previous_bot = event.get("text") or previous_bot
                continue
            text = (event.get("text") or "").strip()
            if not text or text.startswith("/"):
                continue
            parse_data = event.get("parse_data") or {}
            candidate = Candidate(
                text=" ".join(mask_personal(text).split()),
                language=language_of(parse_data),
                top_intents=_top_intents(parse_data),
                previous_bot_message=(
                    mask_personal(previous_bot) if previous_bot else None
                ),
                conversation_id=sender,
                occurred_at=datetime.fromtimestamp(event["timestamp"], timezone.utc),
            )
            candidate.reasons |= _message_reasons(parse_data)
            kb_reason = outcomes.kb.get((sender, mask_secrets(text)))
            if kb_reason:
                candidate.reasons.add(kb_reason)
            typed.append(candidate)
        for reason, conversations in (
            (HANDED_OVER, outcomes.handed_over),
            (RATED_LOW, outcomes.rated_low),
        ):
            if sender in conversations:
                for candidate in typed[-LAST_MESSAGES:]:
                    candidate.reasons.add(reason)
        yield from (candidate for candidate in typed if candidate.reasons)


def _message_reasons(parse_data: dict) -> set[str]:
    reasons = set()
    intent = parse_data.get("intent") or {}
    ranking = parse_data.get("intent_ranking") or []
    if intent.get("name") == FALLBACK_INTENT:
        reasons.add(NOT_UNDERSTOOD)
    elif len(ranking) >= 2:
        first, second = (float(r.get("confidence") or 0) for r in ranking[:2])
        if first - second < MARGIN:
            reasons.add(UNSURE)
    if (parse_data.get("sentiment") or {}).get("label") == "negative":
        reasons.add(NEGATIVE)
    return reasons


@dataclass(frozen=True)
class BuildSummary:
    scanned_from: datetime
    scanned_to: datetime
    new_items: int
    repeats: int


def build(
    session: Session, tracker: Engine, until: datetime | None = None
) -> BuildSummary:
    """Add the messages since the last build to the queue (in ``session``'s
    transaction, with the scan that records it: all or nothing)."""
    end = until or datetime.now(timezone.utc)
    last = session.scalar(sa.select(sa.func.max(ReviewScan.scanned_to)))
    start = last or end - timedelta(days=FIRST_SCAN_DAYS)
    new_items = repeats = 0
    if start < end:
        business = session.get_bind()
        for candidate in candidates(tracker, business, start, end):
            if _add(session, candidate):
                new_items += 1
            else:
                repeats += 1
        session.add(
            ReviewScan(scanned_from=start, scanned_to=end, items_added=new_items)
        )
        session.flush()
        regroup(session)
    return BuildSummary(start, end, new_items, repeats)


def _add(session: Session, candidate: Candidate) -> bool:
    """Store ``candidate``; False when it repeats an item (counted there)."""
    key = fingerprint(candidate.text)
    item = session.scalar(sa.select(ReviewItem).where(ReviewItem.fingerprint == key))
    if item is not None:
        item.occurrences += 1
        item.reasons = sorted(set(item.reasons) | candidate.reasons, key=REASONS.index)
        return False
    session.add(
        ReviewItem(
            fingerprint=key,
            text=candidate.text,
            language=candidate.language,
            reasons=sorted(candidate.reasons, key=REASONS.index),
            top_intents=[list(pair) for pair in candidate.top_intents],
            previous_bot_message=candidate.previous_bot_message,
            conversation_id=candidate.conversation_id,
            occurred_at=candidate.occurred_at,
            occurrences=1,
        )
    )
    session.flush()
    return True


def pending(session: Session, limit: int | None = None) -> list[ReviewItem]:
    """Items nobody has decided on: the largest groups first, and within a
    group the most frequent wording first."""
    decided = sa.select(ReviewDecision.item_id)
    items = list(
        session.scalars(sa.select(ReviewItem).where(ReviewItem.id.not_in(decided)))
    )
    totals: Counter[int] = Counter()
    for item in items:
        totals[item.group_id or item.id] += item.occurrences
    items.sort(
        key=lambda item: (
            -totals[item.group_id or item.id],
            item.group_id or item.id,
            -item.occurrences,
            item.id,
        )
    )
    return items[:limit]


def regroup(session: Session) -> None:
    """Gather similar pending items: each joins the group of the first more
    frequent item whose wording it resembles, or leads a group of its own."""
    decided = sa.select(ReviewDecision.item_id)
    items = list(
        session.scalars(
            sa.select(ReviewItem)
            .where(ReviewItem.id.not_in(decided))
            .order_by(ReviewItem.occurrences.desc(), ReviewItem.id)
            .limit(MAX_GROUPED)
        )
    )
    if not items:
        return
    similarity = similarities([item.text for item in items])
    leaders: list[int] = []
    for i, item in enumerate(items):
        close = [lead for lead in leaders if similarity[i, lead] >= SIMILAR]
        if close:
            item.group_id = items[close[0]].id
        else:
            leaders.append(i)
            item.group_id = item.id
    session.flush()
