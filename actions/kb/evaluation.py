"""How well the knowledge base answers a labelled set of questions.

A labelled set is a CSV ``question,article``: the article's title, or ``none``
for a question the help center does not answer. The figures are the ones the
answer-or-decline decision is judged by:

* answer rate: answerable questions that get an answer at all;
* precision: answers given to answerable questions that are the right article;
* declined: ``none`` questions that get the honest "no answer";
* wrong: questions answered with a wrong article, or answered though ``none``,
  as a share of all questions;
* recall@1, recall@3 and MRR of the ranking, on answerable questions.

``calibrate`` picks the threshold and the not-covered margin (see
``retrieval.answers``) from a calibration set (never the held-out test set):
the pair that answers most while precision and declines reach their targets.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from actions.kb.retrieval import Hit, answers

NONE = "none"
PRECISION_TARGET = 0.92
DECLINED_TARGET = 0.85
THRESHOLDS = [round(t, 2) for t in np.arange(0.30, 0.90, 0.01)]
# -1 switches the not-covered check off; above 0 an article must be clearly nearer.
MARGINS = [-1.0, *(round(m, 2) for m in np.arange(-0.10, 0.301, 0.02))]


@dataclass(frozen=True)
class Labelled:
    question: str
    article: str | None  # a title; None for ``none``


@dataclass(frozen=True)
class Ranked:
    """A labelled question and the ranker's best articles for it."""

    wanted: str | None  # the wanted article's slug
    hits: list[Hit]

    @property
    def score(self) -> float:
        return self.hits[0].score if self.hits else 0.0

    def answered(self, threshold: float, margin: float) -> bool:
        return bool(self.hits) and answers(self.hits[0], threshold, margin)

    def right(self) -> bool:
        return bool(self.hits) and self.hits[0].slug == self.wanted


@dataclass(frozen=True)
class Figures:
    threshold: float
    margin: float
    answer_rate: float
    precision: float
    declined: float
    wrong: float
    recall_at_1: float
    recall_at_3: float
    mrr: float
    answerable: int
    unanswerable: int

    def meets_targets(self) -> bool:
        return self.precision >= PRECISION_TARGET and self.declined >= DECLINED_TARGET


def read_labelled(text: str) -> list[Labelled]:
    rows = list(csv.DictReader(io.StringIO(text)))
    return [
        Labelled(
            row["question"],
            None if row["article"].strip().lower() == NONE else row["article"],
        )
        for row in rows
    ]


def read_labelled_file(path: Path) -> list[Labelled]:
    return read_labelled(path.read_text(encoding="utf-8"))


def rank_all(
    questions: list[Labelled], slug_of_title: dict[str, str], search
) -> list[Ranked]:
    """``search(question) -> hits``; titles that no article has are an error."""
    unknown = {q.article for q in questions if q.article} - set(slug_of_title)
    if unknown:
        raise ValueError(f"labels name no stored article: {sorted(unknown)[:3]}")
    return [
        Ranked(slug_of_title[q.article] if q.article else None, search(q.question))
        for q in questions
    ]


def figures(ranked: list[Ranked], threshold: float, margin: float = -1.0) -> Figures:
    answerable = [r for r in ranked if r.wanted]
    unanswerable = [r for r in ranked if not r.wanted]
    answered = [r for r in answerable if r.answered(threshold, margin)]
    right = sum(r.right() for r in answered)
    wrongly_answered = sum(r.answered(threshold, margin) for r in unanswerable)
    wrong = (len(answered) - right) + wrongly_answered

    def rank_of(r: Ranked) -> int | None:
        slugs = [h.slug for h in r.hits]
        return slugs.index(r.wanted) + 1 if r.wanted in slugs else None

    ranks = [rank_of(r) for r in answerable]
    return Figures(
        threshold=threshold,
        margin=margin,
        answer_rate=_share(len(answered), len(answerable)),
        precision=_share(right, len(answered)),
        declined=_share(len(unanswerable) - wrongly_answered, len(unanswerable)),
        wrong=_share(wrong, len(ranked)),
        recall_at_1=_share(sum(k == 1 for k in ranks), len(ranks)),
        recall_at_3=_share(sum(k is not None and k <= 3 for k in ranks), len(ranks)),
        mrr=_share(sum(1 / k for k in ranks if k), len(ranks)),
        answerable=len(answerable),
        unanswerable=len(unanswerable),
    )


def calibrate(ranked: list[Ranked], margins: list[float] = MARGINS) -> Figures:
    """The threshold and margin meeting the targets with the most answers (the
    fewest wrong among equals); if none does, the pair with the most right
    answers less two per wrong one."""
    table = [figures(ranked, t, m) for m in margins for t in THRESHOLDS]
    meeting = [f for f in table if f.meets_targets()]
    if meeting:
        return max(meeting, key=lambda f: (f.answer_rate, -f.wrong, -f.threshold))
    return max(
        table,
        key=lambda f: (
            f.answer_rate * f.precision * f.answerable
            - 2 * f.wrong * (f.answerable + f.unanswerable)
        ),
    )


def _share(part: float, whole: int) -> float:
    return part / whole if whole else 0.0
