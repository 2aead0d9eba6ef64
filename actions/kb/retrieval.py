"""Rank help-center articles for a question: dense, lexical, and the two fused.

Each article is several texts: its title, each example question, and its
answer. The dense score of an article is the best cosine between the question
and any of them (a question phrased like one example question matches that one
closely, whatever the others say). The lexical score is BM25 over all the
article's words, divided by what a document matching every word of the
question would score, so it lies in [0, 1] like the cosine.

The hybrid score is a weighted sum of the two. Reciprocal rank fusion would
rank about as well, but it throws the scores away, and the answer-or-decline
decision needs a score that means the same for every question: the weighted
sum keeps one, and its threshold is calibrated once (``calibration``).

A score alone cannot tell a question the help center answers from one that
only shares its words ("is the kettle dishwasher safe?" lands on kettle
descaling). So the index also holds questions the help center does not answer
(``data/kb_not_covered.yml``), and each hit carries the cosine of the nearest
of them: the rule declines when the best article is not clearly nearer the
question than that, by a margin calibrated with the threshold.

Nor can a score tell which of two sibling articles a question wants when both
fit about equally ("my gift card" on buying one and on using one): a coin flip
there is a confidently wrong answer half the time. So the rule also asks the
best article to lead the runner-up by a calibrated amount, and otherwise says
honestly that it has no answer and offers a person.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from actions.kb.lexical import BM25, words

MODES = ("hybrid", "dense", "lexical")
LEXICAL_WEIGHT = 0.3  # the hybrid's share of the lexical score
# Beyond this many articles the dense score is computed exactly only for the
# CANDIDATES articles whose mean vector is nearest the question; the others
# keep that mean's cosine (a little below their best). Keeps 50,000 articles
# within a few milliseconds.
PREFILTER_ABOVE = 2_000
CANDIDATES = 300


@dataclass(frozen=True)
class Entry:
    """What an answer needs of an article, kept in memory."""

    slug: str
    title: str
    answer: str
    language: str


@dataclass(frozen=True)
class Hit:
    slug: str
    title: str
    score: float
    dense: float
    lexical: float
    not_covered: float = -1.0  # the nearest not-covered question's cosine
    runner_up: float = -1.0  # the best other article's score (-1: there is none)


@dataclass(frozen=True)
class Rule:
    """When the best article answers a question; each part calibrated
    (``evaluation.calibrate``) and set in the action server's settings."""

    threshold: float  # the hybrid score it needs at least
    margin: float = -1.0  # its lead in cosine over the nearest not-covered question
    lead: float = 0.0  # its lead in score over the runner-up article

    def answers(self, hit: Hit) -> bool:
        return self.fits(hit) and hit.score - hit.runner_up >= self.lead

    def fits(self, hit: Hit) -> bool:
        """Good enough to answer, were the runner-up not as good."""
        return (
            hit.score >= self.threshold and hit.dense - hit.not_covered >= self.margin
        )


def article_texts(title: str, questions: list[str], answer: str) -> list[str]:
    """The texts embedded for one article, in the order its vectors are stored."""
    return [title, *questions, answer]


class Index:
    """An immutable ranking over a set of articles; rebuilt, never edited."""

    def __init__(
        self,
        entries: list[Entry],
        vectors: list[np.ndarray],
        documents: list[str],
        lexical_weight: float = LEXICAL_WEIGHT,
        not_covered: np.ndarray | None = None,
    ) -> None:
        """``vectors[i]`` holds entry i's unit vectors (one per text, rows);
        ``documents[i]`` its words for BM25; ``not_covered`` the unit vectors
        of questions no article answers (rows)."""
        self.entries = entries
        self._position = {entry.slug: i for i, entry in enumerate(entries)}
        self.lexical_weight = lexical_weight
        dimension = vectors[0].shape[1] if vectors else 1
        self._matrix = (
            np.vstack(vectors).astype(np.float32)
            if vectors
            else np.zeros((0, dimension), dtype=np.float32)
        )
        self._owner = np.concatenate(
            [np.full(len(v), i, dtype=np.int32) for i, v in enumerate(vectors)]
            or [np.zeros(0, dtype=np.int32)]
        )
        self._starts = np.cumsum([0, *(len(v) for v in vectors)])
        self._centroids = None
        if len(entries) > PREFILTER_ABOVE:
            centroids = np.vstack([v.mean(axis=0) for v in vectors])
            centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
            self._centroids = centroids.astype(np.float32)
        self._bm25 = BM25(documents)
        self._not_covered = (
            not_covered.astype(np.float32)
            if not_covered is not None and len(not_covered)
            else None
        )

    def entry(self, slug: str) -> Entry:
        return self.entries[self._position[slug]]

    def vectors_of(self, slug: str) -> np.ndarray:
        return self._matrix[self._owner == self._position[slug]]

    def __len__(self) -> int:
        return len(self.entries)

    def dense_scores(self, query_vector: np.ndarray) -> np.ndarray:
        """Per article: the best cosine over its texts."""
        if self._centroids is None:
            best = np.full(len(self.entries), -1.0, dtype=np.float32)
            if len(self._matrix):
                np.maximum.at(best, self._owner, self._matrix @ query_vector)
            return best
        best = self._centroids @ query_vector
        candidates = np.argpartition(-best, CANDIDATES)[:CANDIDATES]
        rows = np.concatenate(
            [np.arange(self._starts[i], self._starts[i + 1]) for i in candidates]
        )
        exact = np.full(len(self.entries), -1.0, dtype=np.float32)
        np.maximum.at(exact, self._owner[rows], self._matrix[rows] @ query_vector)
        best[candidates] = exact[candidates]
        return best

    def not_covered_similarity(self, query_vector: np.ndarray) -> float:
        """The cosine of the nearest question the help center does not answer."""
        if self._not_covered is None:
            return -1.0
        return float((self._not_covered @ query_vector).max())

    def lexical_scores(self, question: str) -> np.ndarray:
        """BM25 over the best a document with every question word could get."""
        query_words = set(words(question))
        if not query_words or not len(self.entries):
            return np.zeros(len(self.entries), dtype=np.float32)
        return self._bm25.scores(question) / self._bm25.best_possible(query_words)

    def search(
        self, question: str, query_vector: np.ndarray, k: int = 5, mode: str = "hybrid"
    ) -> list[Hit]:
        """The ``k`` best articles for ``question``, best first."""
        if not len(self.entries):
            return []
        dense = self.dense_scores(query_vector)
        lexical = self.lexical_scores(question)
        if mode == "dense":
            fused = dense
        elif mode == "lexical":
            fused = lexical
        else:
            fused = (1 - self.lexical_weight) * dense + self.lexical_weight * lexical
        wanted = min(max(k, 2), len(self.entries))  # the runner-up, always
        top = np.argpartition(-fused, wanted - 1)[:wanted]
        top = top[np.argsort(-fused[top], kind="stable")]
        second = float(fused[top[1]]) if len(top) > 1 else -1.0
        not_covered = self.not_covered_similarity(query_vector)
        return [
            Hit(
                slug=self.entries[i].slug,
                title=self.entries[i].title,
                score=float(fused[i]),
                dense=float(dense[i]),
                lexical=float(lexical[i]),
                not_covered=not_covered,
                runner_up=second if rank == 0 else float(fused[top[0]]),
            )
            for rank, i in enumerate(top[:k])
        ]

    def memory_bytes(self) -> int:
        centroids = self._centroids.nbytes if self._centroids is not None else 0
        arrays = self._matrix.nbytes + self._owner.nbytes + self._starts.nbytes
        if self._not_covered is not None:
            arrays += self._not_covered.nbytes
        return arrays + centroids + self._bm25.memory_bytes()
