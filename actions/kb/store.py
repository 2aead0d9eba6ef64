"""Help-center articles, answers and votes in SQL.

Never commits: the caller's session_scope does, so an import is all or
nothing, and each change and its audit row go together.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from actions.db.models import Article, AuditLog, KbAnswer, utcnow
from actions.kb.articles import ArticleData

KB_CONVERSATION = "kb-admin"  # audit rows of the knowledge base have no conversation


@dataclass(frozen=True)
class ImportSummary:
    added: int
    changed: int
    unchanged: int


def as_data(article: Article) -> ArticleData:
    return ArticleData(
        title=article.title,
        answer=article.answer,
        questions=tuple(article.questions),
        tags=tuple(article.tags),
        language=article.language,
        slug=article.slug,
    )


def _audit(session: Session, actor: str, action: str, slug: str, detail: dict) -> None:
    session.add(
        AuditLog(
            conversation_id=KB_CONVERSATION,
            actor=actor,
            action=action,
            target=slug,
            detail=json.dumps(detail, ensure_ascii=False, sort_keys=True),
        )
    )


def save_articles(
    session: Session, articles: list[ArticleData], actor: str
) -> ImportSummary:
    """Add new articles, update changed ones (by slug); the same file twice
    changes nothing. Each change is an audit row with what changed."""
    stored = list(session.scalars(select(Article)))
    by_slug = {a.slug: a for a in stored}
    # A CSV has no slugs: its rows are matched by title, which is unique too.
    by_title = {a.title.strip().lower(): a for a in stored}
    added = changed = unchanged = 0
    for data in articles:
        row = by_slug.get(data.slug) or by_title.get(data.title.strip().lower())
        if row is None:
            session.add(
                Article(
                    slug=data.slug, title=data.title, answer=data.answer,
                    questions=list(data.questions), tags=list(data.tags or ()),
                    language=data.language or "en", active=True,
                )
            )  # fmt: skip
            _audit(session, actor, "kb_add", data.slug, {"title": data.title})
            added += 1
            continue
        fields: dict[str, object] = {
            "title": data.title,
            "answer": data.answer,
            "questions": list(data.questions),
        }
        if data.tags is not None:
            fields["tags"] = list(data.tags)
        if data.language is not None:
            fields["language"] = data.language
        differences = {k: v for k, v in fields.items() if getattr(row, k) != v}
        if not differences:
            unchanged += 1
            continue
        for key, value in differences.items():
            setattr(row, key, value)
        row.embedding = None  # recomputed for the new text
        _audit(session, actor, "kb_edit", data.slug, {"changed": sorted(differences)})
        changed += 1
    session.flush()
    return ImportSummary(added, changed, unchanged)


def add_missing_articles(
    session: Session, articles: list[ArticleData], actor: str
) -> int:
    """Add the articles not stored yet (by slug or title); stored ones, maybe
    edited since, are left as they are. Returns how many were added."""
    stored = session.execute(select(Article.slug, Article.title)).all()
    known = {slug for slug, _ in stored} | {t.strip().lower() for _, t in stored}
    missing = [
        a for a in articles
        if a.slug not in known and a.title.strip().lower() not in known
    ]  # fmt: skip
    return save_articles(session, missing, actor).added


def articles(session: Session, include_inactive: bool = False) -> list[Article]:
    query = select(Article).order_by(Article.slug)
    if not include_inactive:
        query = query.where(Article.active.is_(True))
    return list(session.scalars(query))


def find(session: Session, slug: str) -> Article | None:
    return session.scalars(select(Article).where(Article.slug == slug)).one_or_none()


def same_slug_or_title(session: Session, article: ArticleData) -> Article | None:
    """The stored article that ``article`` would overwrite, if any."""
    return session.scalars(
        select(Article).where(
            (Article.slug == article.slug)
            | (func.lower(Article.title) == article.title.strip().lower())
        )
    ).first()


def deactivate(session: Session, slug: str, actor: str) -> bool:
    """Stop answering with an article (kept, with its history); False if unknown."""
    article = find(session, slug)
    if article is None:
        return False
    if article.active:
        article.active = False
        _audit(session, actor, "kb_deactivate", slug, {})
    return True


# Stored questions are cut here (a 5,000-character paste is kept, shortened).
MAX_STORED_QUESTION_CHARS = 1000


def record_answer(
    session: Session,
    conversation_id: str,
    masked_question: str,
    article_slug: str | None,
    score: float,
    answered: bool,
) -> int:
    """One answer or decline; the caller masks the question's secrets first."""
    row = KbAnswer(
        conversation_id=conversation_id,
        question=masked_question[:MAX_STORED_QUESTION_CHARS],
        article_slug=article_slug,
        score=round(score, 4),
        answered=answered,
    )
    session.add(row)
    session.flush()
    return row.id


def record_vote(session: Session, conversation_id: str, helpful: bool) -> str | None:
    """The customer's vote on the latest answer in the conversation.

    Voting again changes the vote (a tap twice, a change of mind): still one
    vote per answer. Returns the article voted on, None if nothing was answered.
    """
    latest = session.scalars(
        select(KbAnswer)
        .where(KbAnswer.conversation_id == conversation_id)
        .where(KbAnswer.answered.is_(True))
        .order_by(KbAnswer.id.desc())
        .limit(1)
    ).one_or_none()
    if latest is None:
        return None
    latest.helpful = helpful
    latest.voted_at = utcnow()
    return latest.article_slug
