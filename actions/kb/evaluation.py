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

``calibrate`` picks the rule (threshold, not-covered margin and lead over the
runner-up; see ``retrieval.Rule``) on a calibration set, never the held-out
test set: the rule with the most right answers less ``WRONG_COST`` per wrong
one. Picking "the most answers that still reach the targets" instead chose a
rule on the edge of the calibration set, which fell below them on new
questions; a price on wrong answers keeps a safety margin.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from actions.kb.retrieval import Hit, Rule

NONE = "none"
PRECISION_TARGET = 0.92
DECLINED_TARGET = 0.85
# A wrong answer costs as much as four right ones: the customer acts on it,
# while a declined question is still offered a person.
WRONG_COST = 4
THRESHOLDS = [round(t, 2) for t in np.arange(0.30, 0.90, 0.01)]
# -1 switches the not-covered check off; above 0 an article must be clearly nearer.
MARGINS = [-1.0, *(round(m, 2) for m in np.arange(-0.10, 0.301, 0.02))]
LEADS = [round(lead, 3) for lead in np.arange(0.0, 0.1001, 0.005)]


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

    def answered(self, rule: Rule) -> bool:
        return bool(self.hits) and rule.answers(self.hits[0])

    def right(self) -> bool:
        return bool(self.hits) and self.hits[0].slug == self.wanted


@dataclass(frozen=True)
class Figures:
    rule: Rule
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


def figures(ranked: list[Ranked], rule: Rule) -> Figures:
    answerable = [r for r in ranked if r.wanted]
    unanswerable = [r for r in ranked if not r.wanted]
    answered = [r for r in answerable if r.answered(rule)]
    right = sum(r.right() for r in answered)
    wrongly_answered = sum(r.answered(rule) for r in unanswerable)
    wrong = (len(answered) - right) + wrongly_answered

    def rank_of(r: Ranked) -> int | None:
        slugs = [h.slug for h in r.hits]
        return slugs.index(r.wanted) + 1 if r.wanted in slugs else None

    ranks = [rank_of(r) for r in answerable]
    return Figures(
        rule=rule,
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


def calibrate(
    ranked: list[Ranked], margins: list[float] = MARGINS, leads: list[float] = LEADS
) -> Figures:
    """The rule with the most right answers less ``WRONG_COST`` per wrong one
    (the fewest wrong, then the highest threshold, among equals), searched
    over every threshold, margin and lead at once."""
    best = [r.hits[0] if r.hits else None for r in ranked]
    right = np.array([r.right() for r in ranked])
    score = np.array([h.score if h else -np.inf for h in best])[:, None, None, None]
    nearer = np.array([h.dense - h.not_covered if h else -np.inf for h in best])
    ahead = np.array([h.score - h.runner_up if h else -np.inf for h in best])
    # Rule.answers for every question and every rule at once (questions x
    # thresholds x margins x leads): a change to the rule belongs in both.
    answered = (
        (score >= np.array(THRESHOLDS)[None, :, None, None])
        & (nearer[:, None, None, None] >= np.array(margins)[None, None, :, None])
        & (ahead[:, None, None, None] >= np.array(leads)[None, None, None, :])
    )
    rights = (answered & right[:, None, None, None]).sum(axis=0)
    wrongs = answered.sum(axis=0) - rights
    value = rights - WRONG_COST * wrongs
    # among equals: fewer wrong, then the highest threshold (the last index)
    order = np.lexsort((
        np.broadcast_to(np.arange(len(THRESHOLDS))[:, None, None], value.shape).ravel(),
        -wrongs.ravel(),
        value.ravel(),
    ))  # fmt: skip
    t, m, lead = np.unravel_index(order[-1], value.shape)
    return figures(ranked, Rule(THRESHOLDS[t], margins[m], leads[lead]))


def _share(part: float, whole: int) -> float:
    return part / whole if whole else 0.0
