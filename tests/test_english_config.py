"""scripts/english_config.py: config.yml reduced to its English classifier."""

from __future__ import annotations

import yaml

from components.intent_sentiment_classifier import BertIntentSentimentClassifier
from scripts.english_config import CLASSIFIER, english_config, english_data, main
from tests.conftest import REPO_ROOT


def test_only_the_other_languages_classifier_is_gone() -> None:
    default = yaml.safe_load((REPO_ROOT / "config.yml").read_text())
    english = english_config()
    assert english["policies"] == default["policies"]
    others = [part for part in english["pipeline"] if part["name"] != CLASSIFIER]
    assert others == [p for p in default["pipeline"] if p["name"] != CLASSIFIER]
    classifiers = [p for p in default["pipeline"] if p["name"] == CLASSIFIER]
    assert len(classifiers) == 2, "config.yml reads English and Chinese"
    [classifier] = [p for p in english["pipeline"] if p["name"] == CLASSIFIER]
    assert "languages" not in classifier  # it reads every message
    [default_english] = [p for p in classifiers if "en" in p["languages"]]
    assert classifier == {k: v for k, v in default_english.items() if k != "languages"}
    BertIntentSentimentClassifier.validate_config(
        {**BertIntentSentimentClassifier.get_default_config(), **classifier}
    )


def test_it_trains_on_every_data_file_but_the_chinese_ones() -> None:
    names = {path.name for path in english_data()}
    assert {"nlu.yml", "rules.yml", "stories.yml"} <= names
    assert "nlu_zh.yml" not in names


def test_the_written_file_is_what_rasa_reads(tmp_path, capsys) -> None:
    target = tmp_path / "english" / "config.yml"
    main(str(target))
    assert capsys.readouterr().out.split() == [
        str(path.relative_to(REPO_ROOT)) for path in english_data()
    ]
    assert yaml.safe_load(target.read_text()) == english_config()
    assert "edit that" in target.read_text().splitlines()[0]
