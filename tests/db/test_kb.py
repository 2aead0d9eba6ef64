"""Help-center articles in SQL, on SQLite and PostgreSQL: import, export, history."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from actions.db.engine import get_engine, make_engine, session_scope
from actions.db.migrate import upgrade_head
from actions.db.models import Article, AuditLog
from actions.kb import store
from actions.kb.__main__ import main
from actions.kb.articles import ArticleData, write_markdown

ARTICLES = [
    ArticleData("Do you ship to Canada?", "Yes, in 6 to 10 business days.",
                ("shipping to canada", "deliver to toronto"), ("shipping",), "en",
                "ship-to-canada"),
    ArticleData("Do you sell gift cards?", "Yes, digital gift cards from $10.",
                ("gift card", "buy a voucher"), ("gift-cards",), "en", "gift-cards"),
    ArticleData("Can I change my address?", "Yes, until the order ships.",
                ("change delivery address", "wrong address"), ("orders",), "en",
                "change-address"),
]  # fmt: skip


@pytest.fixture
def kb_url(empty_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A migrated, empty database that the CLI (python -m actions.kb) uses."""
    upgrade_head(empty_db_url)
    monkeypatch.setenv("DATABASE_URL", empty_db_url)
    get_engine.cache_clear()
    yield empty_db_url
    get_engine().dispose()  # PostgreSQL drops no database that has connections
    get_engine.cache_clear()


def write_folder(folder: Path, articles: list[ArticleData]) -> Path:
    folder.mkdir(exist_ok=True)
    for article in articles:
        (folder / f"{article.slug}.md").write_text(write_markdown(article))
    return folder


def counts(url: str) -> tuple[int, int]:
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            articles = session.scalar(select(func.count()).select_from(Article))
            audits = session.scalar(
                select(func.count())
                .select_from(AuditLog)
                .where(AuditLog.action.like("kb_%"))
            )
            return articles, audits
    finally:
        engine.dispose()


def test_an_import_twice_changes_nothing_the_second_time(
    kb_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_folder(tmp_path / "kb", ARTICLES)
    assert main(["import", str(folder)]) == 0
    assert "3 added, 0 changed, 0 unchanged" in capsys.readouterr().out
    assert counts(kb_url) == (3, 3)
    assert main(["import", str(folder)]) == 0
    assert "0 added, 0 changed, 3 unchanged" in capsys.readouterr().out
    assert counts(kb_url) == (3, 3)  # no new history either


@pytest.mark.parametrize("form", ["folder", "kb.csv"])
def test_export_then_import_is_no_change(
    form: str, kb_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["import", str(write_folder(tmp_path / "kb", ARTICLES))])
    exported = tmp_path / form
    assert main(["export", str(exported)]) == 0
    capsys.readouterr()
    assert main(["import", str(exported)]) == 0
    assert "0 added, 0 changed, 3 unchanged" in capsys.readouterr().out


def test_a_bad_row_rejects_the_whole_file_with_its_line(
    kb_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "title,answer,questions\n"
        "Gift wrap?,We wrap for $4.95.,gift wrap|wrapping\n"
        "No answer,,a question\n"
    )
    assert main(["import", str(bad)]) == 2
    error = capsys.readouterr().err
    assert "bad.csv line 3: the answer is empty; nothing was imported" in error
    assert counts(kb_url) == (0, 0)


def test_an_edit_is_recorded_with_what_changed(kb_url: str, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "kb", ARTICLES)
    main(["import", str(folder)])
    edited = ArticleData(**{**ARTICLES[0].__dict__, "answer": "Yes, 5 to 8 days."})
    write_folder(folder, [edited])
    main(["import", str(folder)])
    engine = make_engine(kb_url)
    try:
        with session_scope(engine) as session:
            article = store.find(session, "ship-to-canada")
            assert article is not None and article.answer == "Yes, 5 to 8 days."
            edit = session.scalars(
                select(AuditLog).where(AuditLog.action == "kb_edit")
            ).one()
            assert edit.target == "ship-to-canada"
            assert json.loads(edit.detail) == {"changed": ["answer"]}
    finally:
        engine.dispose()


def test_a_csv_keeps_the_tags_it_does_not_carry(kb_url: str, tmp_path: Path) -> None:
    main(["import", str(write_folder(tmp_path / "kb", ARTICLES))])
    csv_file = tmp_path / "kb.csv"
    main(["export", str(csv_file)])
    main(["import", str(csv_file)])
    engine = make_engine(kb_url)
    try:
        with session_scope(engine) as session:
            assert store.find(session, "gift-cards").tags == ["gift-cards"]
    finally:
        engine.dispose()


def test_a_deactivated_article_is_no_longer_listed(
    kb_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["import", str(write_folder(tmp_path / "kb", ARTICLES))])
    assert main(["deactivate", "gift-cards"]) == 0
    capsys.readouterr()
    main(["list"])
    listed = capsys.readouterr().out
    assert "gift-cards" not in listed and "ship-to-canada" in listed
    assert main(["deactivate", "no-such-article"]) == 1


def test_competing_questions_are_reported(
    kb_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    competing = ArticleData(
        "Gift vouchers", "Yes.", ("Gift card!", "voucher codes"), slug="vouchers"
    )
    folder = write_folder(tmp_path / "kb", [*ARTICLES, competing])
    assert main(["validate", str(folder)]) == 1
    assert "'gift card' is also a question of" in capsys.readouterr().out


def stored_article(url: str, slug: str) -> Article:
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            return store.find(session, slug)
    finally:
        engine.dispose()


def test_added_and_edited_articles_are_embedded_and_found(
    kb_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["import", str(write_folder(tmp_path / "kb", ARTICLES))])
    imported = stored_article(kb_url, "gift-cards")
    assert imported.embedding and imported.embedding_model == "all-MiniLM-L6-v2+int8"
    assert main([
        "add", "--title", "Do you repair headphones?",
        "--answer", "Yes, within two years of purchase.",
        "--question", "fix my headphones", "--question", "headphone repair",
    ]) == 0  # fmt: skip
    assert "do-you-repair-headphones: added" in capsys.readouterr().out
    assert main(["search", "my headphones broke, can you fix them?"]) == 0
    ranking = capsys.readouterr().out.splitlines()
    assert ranking[1].endswith("do-you-repair-headphones")
    assert float(ranking[1].split()[0]) > float(ranking[2].split()[0])
    assert ranking[-1].startswith("decision (hybrid threshold")

    before = stored_article(kb_url, "gift-cards")
    assert main(["edit", "gift-cards", "--question", "plastic gift card"]) == 0
    after = stored_article(kb_url, "gift-cards")
    assert after.questions == ["plastic gift card"]
    assert after.embedding != before.embedding  # computed again for the new text
    assert after.answer == before.answer  # fields not given stay


def test_an_embedding_is_not_an_edit(kb_url: str, tmp_path: Path) -> None:
    """Storing vectors leaves updated_at alone, so replicas do not rebuild again."""
    engine = make_engine(kb_url)
    try:
        with session_scope(engine) as session:
            store.save_articles(session, ARTICLES, actor="test")
        changed_at = stored_article(kb_url, "gift-cards").updated_at
        with session_scope(engine) as session:
            from actions.kb.knowledge import embed_if_missing

            assert embed_if_missing(session) == 3
            assert embed_if_missing(session) == 0
    finally:
        engine.dispose()
    assert stored_article(kb_url, "gift-cards").updated_at == changed_at


@pytest.mark.parametrize(
    ("arguments", "status", "message"),
    [
        (["add", "--title", "X", "--answer", " ", "--question", "q"], 2,
         "the answer is empty"),
        (["edit", "no-such-article", "--answer", "Yes."], 1, "no article"),
        (["add", "--title", "Do you sell gift cards?", "--answer", "Yes.",
          "--question", "q"], 1, "exists: edit it"),
    ],
)  # fmt: skip
def test_bad_add_or_edit_says_why_and_changes_nothing(
    arguments: list[str], status: int, message: str, kb_url: str, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    main(["import", str(write_folder(tmp_path / "kb", ARTICLES))])
    capsys.readouterr()
    assert main(arguments) == status
    assert message in capsys.readouterr().err
    assert counts(kb_url) == (3, 3)


def test_calibrate_measures_a_threshold_on_a_labelled_file(
    kb_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["import", str(write_folder(tmp_path / "kb", ARTICLES))])
    labelled = tmp_path / "labelled.csv"
    labelled.write_text(
        "question,article\n"
        "can you send a parcel to vancouver,Do you ship to Canada?\n"
        "i typed the wrong street on my order,Can I change my address?\n"
        "how tall is mount everest,none\n"
    )
    capsys.readouterr()
    assert main(["calibrate", str(labelled)]) == 0
    assert "KB_ANSWER_THRESHOLD=0." in capsys.readouterr().out
    labelled.write_text("question,article\nhello,No such article\n")
    assert main(["calibrate", str(labelled)]) == 2
    assert "labels name no stored article" in capsys.readouterr().err


def test_a_question_nearer_a_not_covered_one_is_declined(
    kb_url: str, tmp_path: Path
) -> None:
    """Any score clears a threshold of 0; the not-covered margin still declines
    a question that is nearer something the help center does not answer."""
    from actions.kb.knowledge import KnowledgeBase, embedder_from_settings
    from actions.kb.retrieval import Rule

    main(["import", str(write_folder(tmp_path / "kb", ARTICLES))])

    def knowledge(margin: float) -> KnowledgeBase:
        return KnowledgeBase(
            embedder_from_settings(),
            Rule(threshold=0.0, margin=margin),
            refresh_seconds=3600,
            not_covered=["how tall is mount everest", "how high are the alps"],
        )

    mountain = "how high is mount everest in canada"
    assert knowledge(-1.0).decide(mountain).answered  # the threshold alone
    checked = knowledge(0.0)
    declined = checked.decide(mountain)
    assert not declined.answered and declined.hit.slug == "ship-to-canada"
    assert declined.hit.not_covered > declined.hit.dense
    assert checked.decide("can you send a parcel to vancouver").answered


def test_a_question_two_articles_fit_equally_is_declined(
    kb_url: str, tmp_path: Path
) -> None:
    """A question that fits two articles about as well is declined when the
    rule asks for a lead over the runner-up; a clear one is still answered."""
    from actions.kb.knowledge import KnowledgeBase, embedder_from_settings
    from actions.kb.retrieval import Rule

    main(["import", str(write_folder(tmp_path / "kb", ARTICLES))])

    def knowledge(lead: float) -> KnowledgeBase:
        return KnowledgeBase(
            embedder_from_settings(), Rule(threshold=0.0, lead=lead), 3600
        )

    both = "shipping to canada and changing my address"
    close = knowledge(0.0).decide(both)
    assert close.answered
    assert 0 <= close.hit.score - close.hit.runner_up < 0.1
    assert not knowledge(0.1).decide(both).answered
    assert knowledge(0.1).decide("can you send a parcel to vancouver").answered


ARTICLES_ZH = [
    ArticleData("能寄到加拿大吗？", "可以，6 到 10 个工作日送达。",
                ("寄加拿大", "能送到多伦多吗"), ("shipping",), "zh",
                "ship-to-canada-zh"),
    ArticleData("你们卖礼品卡吗？", "卖，电子礼品卡 10 美元起。",
                ("礼品卡", "买个代金券"), ("gift-cards",), "zh", "gift-cards-zh"),
]  # fmt: skip


def test_each_language_is_answered_from_its_own_articles(
    kb_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Chinese articles are embedded by the model that reads Chinese and
    answer only Chinese questions; English ones only English questions."""
    from actions.kb.knowledge import KnowledgeBase

    main(["import", str(write_folder(tmp_path / "kb", ARTICLES + ARTICLES_ZH))])
    assert "5 added" in capsys.readouterr().out
    chinese = stored_article(kb_url, "gift-cards-zh")
    assert chinese.embedding_model == "multilingual-e5-small+int8"
    assert stored_article(kb_url, "gift-cards").embedding_model.startswith("all-Mini")

    in_chinese = KnowledgeBase.from_settings("zh")
    assert {e.slug for e in in_chinese.index().entries} == {a.slug for a in ARTICLES_ZH}
    assert in_chinese.search("我想寄到温哥华 可以吗")[0].slug == "ship-to-canada-zh"
    assert in_chinese.search("送朋友一张购物卡")[0].slug == "gift-cards-zh"
    in_english = KnowledgeBase.from_settings("en")
    assert {e.slug for e in in_english.index().entries} == {a.slug for a in ARTICLES}

    assert main(["search", "--language", "zh", "能送到多伦多吗"]) == 0
    assert capsys.readouterr().out.splitlines()[1].endswith("ship-to-canada-zh")
    labelled = tmp_path / "labelled.csv"
    labelled.write_text(
        "question,article\n可以寄到蒙特利尔吗,能寄到加拿大吗？\n今天天气怎么样,none\n",
        encoding="utf-8",
    )
    assert main(["calibrate", "--language", "zh", str(labelled)]) == 0
    assert "KB_ZH_ANSWER_THRESHOLD=" in capsys.readouterr().out
