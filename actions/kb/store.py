"""Help-center articles in SQL. Never commits: the caller's session_scope does,
so an import is all or nothing, and each change and its audit row go together."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from actions.db.models import Article, AuditLog
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


def articles(session: Session, include_inactive: bool = False) -> list[Article]:
    query = select(Article).order_by(Article.slug)
    if not include_inactive:
        query = query.where(Article.active.is_(True))
    return list(session.scalars(query))


def find(session: Session, slug: str) -> Article | None:
    return session.scalars(select(Article).where(Article.slug == slug)).one_or_none()


def deactivate(session: Session, slug: str, actor: str) -> bool:
    """Stop answering with an article (kept, with its history); False if unknown."""
    article = find(session, slug)
    if article is None:
        return False
    if article.active:
        article.active = False
        _audit(session, actor, "kb_deactivate", slug, {})
    return True
