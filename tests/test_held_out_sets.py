"""The held-out sets: every intent covered, and never a sentence trained on."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.shared.nlu.training_data.loading import load_data

from components.sentiment_data import SENTIMENT_LABELS, read_sentiment_csv
from tests.conftest import REPO_ROOT

DATA = REPO_ROOT / "data"
HELD_OUT = REPO_ROOT / "tests" / "data"


def intent_examples(path: Path) -> list[tuple[str, str]]:
    data = load_data(str(path))
    return [(m.get("text"), m.get("intent")) for m in data.intent_examples]


def normalised(text: str) -> str:
    return "".join(text.lower().split())


def repeated(texts: list[str]) -> list[str]:
    """Held-out texts the training data holds too. A one-word answer ("yes",
    "3", "好的") can be written only one way: those are not counted."""
    seen = trained_texts()
    return [t for t in texts if len(normalised(t)) > 4 and normalised(t) in seen]


def trained_texts() -> set[str]:
    """Every training sentence, English and Chinese (data/, reviewed ones too)."""
    texts = {text for path in DATA.rglob("*.yml") for text, _ in _examples_of(path)}
    for path in (DATA / "sentiment.csv", DATA / "sentiment_zh.csv"):
        texts |= {text for text, _ in read_sentiment_csv(path)}
    return {normalised(text) for text in texts}


def _examples_of(path: Path) -> list[tuple[str, str]]:
    return intent_examples(path) if "nlu:" in path.read_text() else []


@pytest.mark.parametrize("name", ["nlu_test.yml", "nlu_test_zh.yml"])
def test_intent_sets_cover_every_intent_and_no_training_sentence(name: str) -> None:
    trained = {intent for _, intent in intent_examples(DATA / "nlu.yml")}
    held_out = intent_examples(HELD_OUT / name)
    counts = {intent: 0 for intent in trained}
    for _, intent in held_out:
        counts[intent] += 1  # an intent the model does not know fails here
    assert min(counts.values()) >= 5, counts
    assert not repeated([text for text, _ in held_out])


@pytest.mark.parametrize("name", ["sentiment_test.csv", "sentiment_test_zh.csv"])
def test_sentiment_sets_cover_every_label_and_no_training_sentence(name: str) -> None:
    rows = read_sentiment_csv(HELD_OUT / name)
    labels = [label for _, label in rows]
    assert set(labels) == set(SENTIMENT_LABELS)
    assert min(labels.count(label) for label in SENTIMENT_LABELS) >= 90
    assert not repeated([text for text, _ in rows])


def test_the_reviewed_regression_set_is_never_trained_on() -> None:
    """Written by `python -m learning export` (learning/reviewed_data.py) once
    reviewers decide; the wordings it holds must not reach data/."""
    from learning.reviewed_data import REGRESSION_FILE

    assert REGRESSION_FILE.parent == HELD_OUT
    if REGRESSION_FILE.is_file():
        texts = [text for text, _ in intent_examples(REGRESSION_FILE)]
        assert texts and not repeated(texts)


def test_chinese_sets_are_chinese() -> None:
    texts = [text for text, _ in intent_examples(HELD_OUT / "nlu_test_zh.yml")]
    texts += [
        text for text, _ in read_sentiment_csv(HELD_OUT / "sentiment_test_zh.csv")
    ]
    with_chinese = [t for t in texts if any("\u4e00" <= c <= "\u9fff" for c in t)]
    assert len(with_chinese) >= 0.9 * len(texts)


HELP_CENTERS = {  # language: (articles, not-covered questions, held-out sets)
    "en": (
        "help_center",
        "kb_not_covered.yml",
        ("kb_questions_test.csv", "kb_questions_fresh.csv"),
    ),
    "zh": ("help_center_zh", "kb_not_covered_zh.yml", ("kb_questions_test_zh.csv",)),
}


@pytest.mark.parametrize("language", sorted(HELP_CENTERS))
def test_help_center_holds_no_held_out_question(language: str) -> None:
    """The help center's example questions and its not-covered questions are
    what retrieval matches against: a near copy of a held-out question there
    would be the answer key. "Near" is a character-level similarity of 0.8 or
    more after dropping case and punctuation, which catches a reworded tense or
    a swapped article but not a question about the same need. The calibration
    set only sets the rule, but a copy there would tune it to the test."""
    from difflib import SequenceMatcher

    from actions.kb.articles import read_markdown_folder
    from actions.kb.evaluation import read_labelled_file
    from actions.kb.knowledge import CALIBRATION_SETS, read_not_covered

    def plain(text: str) -> str:
        return " ".join(
            "".join(c for c in text.lower() if c.isalnum() or c == " ").split()
        )

    articles, not_covered, tests = HELP_CENTERS[language]
    written = [q for a in read_markdown_folder(DATA / articles) for q in a.questions]
    written += read_not_covered(DATA / not_covered)
    written += [q.question for q in read_labelled_file(CALIBRATION_SETS[language])]
    held_out = [
        plain(q.question) for name in tests for q in read_labelled_file(HELD_OUT / name)
    ]
    assert held_out
    written = [plain(question) for question in written]
    copies = []
    for test in held_out:
        matcher = SequenceMatcher(None, b=test)  # b is the side it indexes
        for question in written:
            matcher.set_seq1(question)
            # the two quick ratios are upper bounds of ratio(), cheap to rule out
            if (
                matcher.real_quick_ratio() >= 0.8
                and matcher.quick_ratio() >= 0.8
                and matcher.ratio() >= 0.8
            ):
                copies.append((question, test))
    assert not copies, copies[:5]
