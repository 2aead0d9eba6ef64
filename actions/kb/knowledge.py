"""A process's view of the help center: an in-memory index kept fresh from SQL.

Every process that answers questions (each action server, each CLI run) holds
one :class:`KnowledgeBase`. It reads the articles and their stored vectors once,
and then, at most every ``KB_REFRESH_SECONDS``, asks the database one cheap
question (how many articles, the latest change) and rebuilds the index only
when the answer moved. So an article added or edited with ``python -m
actions.kb`` is answered by every replica within seconds, with no retraining
and no restart.

Vectors are computed when an article is added or changed (the CLI does it on
import) and stored with the article; a process only computes the ones missing or
made by another embedding model, and stores them for the others.

The questions the help center does not answer (``data/kb_not_covered.yml``,
see ``retrieval.Rule``) are part of the product's data, not of any shop's
articles: each process embeds them once, when it builds its first index.

Each language has its own knowledge base: the articles written in it
(``Article.language``), its own embedding model (a Chinese question needs one
that reads Chinese), its own not-covered questions and its own calibrated rule.
A customer's question is answered from the articles in the customer's language.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

import settings.action_server as settings
from actions.db.engine import session_scope
from actions.db.models import Article
from actions.kb.embedder import SentenceEmbedder, vectors_name
from actions.kb.retrieval import Entry, Hit, Index, Rule, article_texts

logger = logging.getLogger(__name__)

# A question longer than this is cut before it is ranked: a customer's whole
# story still finds its article, and a 5,000-character paste costs no more.
MAX_QUESTION_CHARS = 1000
DATA = Path(__file__).resolve().parents[2] / "data"
ENGLISH, CHINESE = "en", "zh"
LANGUAGES = (ENGLISH, CHINESE)
NOT_COVERED = {
    ENGLISH: DATA / "kb_not_covered.yml",
    CHINESE: DATA / "kb_not_covered_zh.yml",
}
CALIBRATION_SETS = {
    ENGLISH: DATA / "kb_calibration.csv",
    CHINESE: DATA / "kb_calibration_zh.csv",
}


def read_not_covered(path: Path = NOT_COVERED[ENGLISH]) -> list[str]:
    """The questions no article answers; a missing file means none."""
    if not path.is_file():
        return []
    questions = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get(
        "questions"
    ) or []
    return [" ".join(str(q).split()) for q in questions if str(q).strip()]


@functools.cache
def embedder_from_settings(language: str = ENGLISH) -> SentenceEmbedder:
    """The language's configured model, loaded once per process (about 100 MB),
    when the first question in that language comes.

    One thread: a process embeds one short question at a time, which a second
    thread barely speeds up, and the replicas beside it want the other cores.
    """
    return SentenceEmbedder(*_configured_embedder(language), threads=1)


def _configured_embedder(language: str = ENGLISH) -> tuple[str, str, str]:
    """The model, runtime and precision the settings ask for."""
    runtime, _, precision = settings.KB_EMBEDDING_RUNTIME.read().partition("-")
    model = (
        settings.KB_ZH_EMBEDDING_MODEL if language == CHINESE
        else settings.KB_EMBEDDING_MODEL
    ).read()  # fmt: skip
    return model, runtime, precision or "float32"


def configured_rule(language: str = ENGLISH) -> Rule:
    if language == CHINESE:
        return Rule(
            threshold=settings.KB_ZH_ANSWER_THRESHOLD.read(),
            margin=settings.KB_ZH_NOT_COVERED_MARGIN.read(),
            lead=settings.KB_ZH_RUNNER_UP_LEAD.read(),
        )
    return Rule(
        threshold=settings.KB_ANSWER_THRESHOLD.read(),
        margin=settings.KB_NOT_COVERED_MARGIN.read(),
        lead=settings.KB_RUNNER_UP_LEAD.read(),
    )


@dataclass(frozen=True)
class Decision:
    """What to do with a question: answer with ``hit``, ask which of two
    articles it means (``alternative``), or say there is none."""

    question: str
    hit: Hit | None  # the best article, also when declined (for the feedback)
    answered: bool
    entry: Entry | None
    alternative: Entry | None = None  # the runner-up, when both fit about equally

    @property
    def score(self) -> float:
        return self.hit.score if self.hit else 0.0


def _signature(session: Session) -> tuple:
    """Changes whenever an article is added, edited, deactivated or re-embedded."""
    return tuple(
        session.execute(
            select(func.count(Article.id), func.max(Article.updated_at))
        ).one()
    )


def _in_language(language: str):
    """An article written in ``language``; every other language is English's."""
    if language == ENGLISH:
        return Article.language.not_in(
            [other for other in LANGUAGES if other != ENGLISH]
        )
    return Article.language == language


def _stale(model_name: str, language: str):
    return _in_language(language) & (
        Article.embedding.is_(None)
        | Article.embedding_model.is_(None)
        | (Article.embedding_model != model_name)
    )


def embed_if_missing(session: Session) -> int:
    """Embed the articles that need it, loading a model only if any do
    (``make seed`` runs before every start; it should not load torch for nothing)."""
    embedded = 0
    for language in LANGUAGES:
        name = vectors_name(*_configured_embedder(language))
        stale = select(func.count(Article.id)).where(_stale(name, language))
        if session.scalar(stale):
            embedder = embedder_from_settings(language)
            embedded += embed_missing(session, embedder, language)
    return embedded


def embed_missing(
    session: Session, embedder: SentenceEmbedder, language: str = ENGLISH
) -> int:
    """Compute and store the vectors of the language's articles that lack
    current ones.

    ``updated_at`` is written back unchanged: a new vector is not an edit, and
    must not make every other process rebuild its index once more.
    """
    stale = list(
        session.scalars(select(Article).where(_stale(embedder.name, language)))
    )
    # All texts in one call, each embedded alone (embedder.BATCH_SIZE says why).
    texts = [
        article_texts(article.title, list(article.questions), article.answer)
        for article in stale
    ]
    every_vector = embedder.embed_passages([text for each in texts for text in each])
    ends = np.cumsum([len(each) for each in texts])
    for article, end, count in zip(stale, ends, map(len, texts)):
        vectors = every_vector[end - count : end]
        session.execute(
            update(Article)
            .where(Article.id == article.id)
            .values(
                embedding=vectors.astype(np.float32).tobytes(),
                embedding_model=embedder.name,
                updated_at=article.updated_at,
            )
        )
    return len(stale)


def build_index(
    session: Session,
    embedder: SentenceEmbedder,
    not_covered: np.ndarray | None = None,
    language: str = ENGLISH,
) -> Index:
    """The index of the language's active articles, from their stored vectors."""
    embed_missing(session, embedder, language)
    rows = session.scalars(
        select(Article)
        .where(Article.active.is_(True), _in_language(language))
        .order_by(Article.id)
    )
    entries, vectors, documents = [], [], []
    for article in rows:
        texts = article_texts(article.title, list(article.questions), article.answer)
        stored = np.frombuffer(article.embedding, dtype=np.float32)
        entries.append(
            Entry(article.slug, article.title, article.answer, article.language)
        )
        vectors.append(stored.reshape(len(texts), embedder.dimension))
        documents.append(" ".join(texts))
    return Index(entries, vectors, documents, not_covered=not_covered)


class KnowledgeBase:
    """Answers questions from the help center; safe to share between threads."""

    def __init__(
        self,
        embedder: SentenceEmbedder,
        rule: Rule,
        refresh_seconds: float,
        not_covered: list[str] | None = None,
        sessions: Callable = session_scope,
        clock: Callable[[], float] = time.monotonic,
        language: str = ENGLISH,
    ) -> None:
        """With no ``not_covered`` questions the rule's margin must be -1 (off)."""
        self.embedder = embedder
        self.language = language
        self.rule = rule
        self._not_covered_questions = not_covered or []
        self._not_covered: np.ndarray | None = None
        self.refresh_seconds = refresh_seconds
        self._sessions = sessions
        self._clock = clock
        self._lock = threading.Lock()
        self._index: Index | None = None
        self._signature: tuple | None = None
        self._checked_at = float("-inf")

    @classmethod
    def from_settings(cls, language: str = ENGLISH) -> KnowledgeBase:
        return cls(
            embedder_from_settings(language),
            configured_rule(language),
            refresh_seconds=settings.KB_REFRESH_SECONDS.read(),
            not_covered=read_not_covered(NOT_COVERED[language]),
            language=language,
        )

    def index(self) -> Index:
        """The current index, rebuilt first if the articles changed."""
        with self._lock:
            if self._index is None or self._clock() - self._checked_at >= (
                self.refresh_seconds
            ):
                self._refresh()
            return self._index

    def _refresh(self) -> None:
        with self._sessions() as session:
            signature = _signature(session)
            if self._index is None or signature != self._signature:
                if self._not_covered is None:
                    self._not_covered = self.embedder.embed_queries(
                        self._not_covered_questions
                    )
                # Storing missing vectors keeps updated_at: the signature holds.
                self._index = build_index(
                    session, self.embedder, self._not_covered, self.language
                )
                self._signature = signature
                logger.info(
                    "knowledge base (%s): %d articles indexed",
                    self.language,
                    len(self._index),
                )
        self._checked_at = self._clock()

    def search(self, question: str, k: int = 5, mode: str = "hybrid") -> list[Hit]:
        return self._search(self.index(), question, k, mode)

    def _search(self, index: Index, question: str, k: int, mode: str) -> list[Hit]:
        question = question[:MAX_QUESTION_CHARS]
        vector = self.embedder.embed_queries([question])[0]
        return index.search(question, vector, k=k, mode=mode)

    def decide(self, question: str) -> Decision:
        """Answer with the best article if the rule says so (``retrieval.Rule``)."""
        question = " ".join(question.split())
        index = self.index()
        hits = self._search(index, question, 2, "hybrid") if question else []
        if not hits:
            return Decision(question, None, False, None)
        best = hits[0]
        answered = self.rule.answers(best)
        ambiguous = not answered and len(hits) > 1 and self.rule.fits(best)
        return Decision(
            question,
            best,
            answered,
            index.entry(best.slug),
            index.entry(hits[1].slug) if ambiguous else None,
        )


_shared: dict[str, KnowledgeBase] = {}
_shared_lock = threading.Lock()


def shared(language: str = ENGLISH) -> KnowledgeBase:
    """The process's knowledge base for ``language`` (English for any other),
    made on first use; its index is built on the first question and kept fresh
    from then on."""
    language = language if language in LANGUAGES else ENGLISH
    with _shared_lock:
        if language not in _shared:
            _shared[language] = KnowledgeBase.from_settings(language)
        return _shared[language]
