"""config_bilingual.yml: config.yml with only the classifier's options changed."""

from __future__ import annotations

import yaml

from components.intent_sentiment_classifier import BertIntentSentimentClassifier
from scripts.bilingual_config import CLASSIFIER, bilingual_config, main
from tests.conftest import REPO_ROOT


def test_only_the_classifier_options_differ_from_config_yml() -> None:
    default = yaml.safe_load((REPO_ROOT / "config.yml").read_text())
    bilingual = bilingual_config()
    assert bilingual["policies"] == default["policies"]
    others = [part for part in bilingual["pipeline"] if part["name"] != CLASSIFIER]
    assert others == [p for p in default["pipeline"] if p["name"] != CLASSIFIER]
    [classifier] = [p for p in bilingual["pipeline"] if p["name"] == CLASSIFIER]
    assert classifier["model_name_or_path"] == "multilingual-e5-small"
    BertIntentSentimentClassifier.validate_config(
        {**BertIntentSentimentClassifier.get_default_config(), **classifier}
    )
    for path in classifier["sentiment_data"]:
        assert (REPO_ROOT / path).is_file(), path


def test_the_written_file_is_what_rasa_reads(tmp_path) -> None:
    target = tmp_path / "bilingual" / "config.yml"
    main(str(target))
    assert yaml.safe_load(target.read_text()) == bilingual_config()
    assert "edit config_bilingual.yml" in target.read_text().splitlines()[0]
