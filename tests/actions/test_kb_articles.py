"""The help center's files: the seed content parses, validates, round-trips."""

from __future__ import annotations

from pathlib import Path

import pytest

from actions.kb.articles import (
    ArticleFileError,
    problems,
    read_csv,
    read_markdown_folder,
    write_csv,
)
from tests.conftest import REPO_ROOT

SEED = REPO_ROOT / "data" / "help_center"


def test_the_seed_help_center_is_whole_and_valid() -> None:
    articles = read_markdown_folder(SEED)
    assert len(articles) >= 80
    assert all(len(article.questions) >= 3 for article in articles)
    assert problems(articles) == []
    [policy] = [a for a in articles if a.slug == "return-policy"]
    assert "{return_window_days}" in policy.answer


def test_a_csv_round_trip_keeps_every_article() -> None:
    articles = read_markdown_folder(SEED)
    again = read_csv(write_csv(articles))
    assert [(a.title, a.answer, a.questions) for a in again] == [
        (a.title, a.answer, a.questions) for a in articles
    ]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("title,answer\nA,B\n", "line 1: the columns must be title,answer,questions"),
        ("title,answer,questions\nA,B,\n", "line 2: no example questions"),
        ("title,answer,questions\nA,B,q\na,C,r\n", "line 3: the title is already used"),
    ],
)
def test_a_bad_csv_says_which_line(text: str, error: str) -> None:
    with pytest.raises(ArticleFileError, match=error):
        read_csv(text, "upload.csv")


def test_a_markdown_file_without_front_matter_is_named(tmp_path: Path) -> None:
    (tmp_path / "loose.md").write_text("just an answer\n")
    with pytest.raises(ArticleFileError, match="loose.md: no front matter"):
        read_markdown_folder(tmp_path)
