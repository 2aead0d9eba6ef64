"""Help-center articles as files: parse and write them, with no database.

A bad file is refused whole, with the line (CSV) or file (Markdown) that is
wrong, so an import is never half done.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

MAX_ANSWER_CHARS = 2000
MAX_TITLE_CHARS = 200


class ArticleFileError(ValueError):
    """A file that cannot be imported; the message says where and why."""


@dataclass(frozen=True)
class ArticleData:
    title: str
    answer: str
    questions: tuple[str, ...]
    # None where the file does not say (a CSV): a stored article keeps its own.
    tags: tuple[str, ...] | None = None
    language: str | None = None
    slug: str = field(default="")

    def __post_init__(self) -> None:
        if not self.slug:
            object.__setattr__(self, "slug", slugify(self.title))


def slugify(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:100]


def checked(article: ArticleData, where: str) -> ArticleData:
    """The article if it can be stored, else ArticleFileError naming ``where``."""
    if not article.title.strip():
        raise ArticleFileError(f"{where}: the title is empty")
    if len(article.title) > MAX_TITLE_CHARS:
        raise ArticleFileError(
            f"{where}: the title is over {MAX_TITLE_CHARS} characters"
        )
    if not article.answer.strip():
        raise ArticleFileError(f"{where}: the answer is empty")
    if len(article.answer) > MAX_ANSWER_CHARS:
        raise ArticleFileError(
            f"{where}: the answer is over {MAX_ANSWER_CHARS} characters"
        )
    if not article.questions:
        raise ArticleFileError(f"{where}: no example questions")
    return article


def _unique(articles: list[ArticleData], wheres: list[str]) -> list[ArticleData]:
    seen: dict[str, str] = {}
    for article, where in zip(articles, wheres):
        key = article.title.strip().lower()
        if key in seen:
            raise ArticleFileError(f"{where}: the title is already used at {seen[key]}")
        seen[key] = where
    return articles


def read_markdown_folder(folder: Path) -> list[ArticleData]:
    """Every ``*.md`` in ``folder``: YAML front matter, then the answer."""
    files = sorted(folder.glob("*.md"))
    if not files:
        raise ArticleFileError(f"{folder}: no .md files")
    articles = [_read_markdown(path) for path in files]
    return _unique(articles, [path.name for path in files])


def _read_markdown(path: Path) -> ArticleData:
    text = path.read_text(encoding="utf-8")
    match = re.match(r"^---\n(.*?)\n---\n(.*)$", text, re.S)
    if match is None:
        raise ArticleFileError(f"{path.name}: no front matter between --- lines")
    try:
        meta = yaml.safe_load(match[1]) or {}
    except yaml.YAMLError as error:
        raise ArticleFileError(
            f"{path.name}: front matter is not YAML: {error}"
        ) from None
    if not isinstance(meta, dict):
        raise ArticleFileError(f"{path.name}: front matter must be key: value lines")
    questions = meta.get("questions") or []
    if not isinstance(questions, list):
        raise ArticleFileError(f"{path.name}: questions must be a list")
    return checked(
        ArticleData(
            title=str(meta.get("title") or "").strip(),
            answer=match[2].strip(),
            questions=tuple(str(q).strip() for q in questions if str(q).strip()),
            tags=tuple(str(t) for t in meta.get("tags") or ()),
            language=str(meta.get("language") or "en"),
            slug=path.stem,
        ),
        path.name,
    )


def read_csv(text: str, name: str = "CSV") -> list[ArticleData]:
    """Columns ``title,answer,questions``; questions separated by ``|``."""
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or not {"title", "answer", "questions"} <= set(
        reader.fieldnames
    ):
        raise ArticleFileError(
            f"{name} line 1: the columns must be title,answer,questions"
        )
    articles, wheres = [], []
    for row in reader:
        where = f"{name} line {reader.line_num}"
        if None in row:
            raise ArticleFileError(f"{where}: more fields than columns")
        questions = tuple(
            q.strip() for q in (row["questions"] or "").split("|") if q.strip()
        )
        articles.append(
            checked(
                ArticleData(
                    (row["title"] or "").strip(),
                    (row["answer"] or "").strip(),
                    questions,
                ),
                where,
            )
        )
        wheres.append(where)
    return _unique(articles, wheres)


def write_markdown(article: ArticleData) -> str:
    meta = {
        "title": article.title,
        "tags": list(article.tags or ()),
        "language": article.language or "en",
        "questions": list(article.questions),
    }
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    return f"---\n{front}---\n{article.answer}\n"


def write_csv(articles: list[ArticleData]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["title", "answer", "questions"])
    for article in articles:
        writer.writerow([article.title, article.answer, "|".join(article.questions)])
    return out.getvalue()


def _normalised(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def problems(articles: list[ArticleData]) -> list[str]:
    """What makes a set of articles answer badly: empty answers, titles used
    twice, and example questions that two articles compete for."""
    found = []
    owners: dict[str, str] = {}
    titles: dict[str, str] = {}
    for article in articles:
        if not article.answer.strip():
            found.append(f"{article.slug}: the answer is empty")
        title = _normalised(article.title)
        if title in titles:
            found.append(f"{article.slug}: same title as {titles[title]}")
        titles.setdefault(title, article.slug)
        for question in {_normalised(q) for q in (article.title, *article.questions)}:
            other = owners.setdefault(question, article.slug)
            if other != article.slug:
                found.append(
                    f"{article.slug}: {question!r} is also a question of {other}"
                )
    return found
