"""The component's defaults are stated once: in get_default_config.

config.yml sets only what differs from them, and the options table in
docs/dialogue-and-data.md lists every option with the default the code has.
"""

from __future__ import annotations

import json
import re

import yaml

from components.intent_sentiment_classifier import BertIntentSentimentClassifier
from tests.conftest import REPO_ROOT

COMPONENT = "components.intent_sentiment_classifier.BertIntentSentimentClassifier"
ROW = re.compile(r"^\| `(?P<key>\w+)` \| `(?P<default>[^`]*)` \|", re.M)


def as_written(value: object) -> str:
    """A default as the docs write it: JSON, with none for null."""
    return "none" if value is None else json.dumps(value).strip('"')


def test_config_yml_sets_only_what_differs_from_the_defaults() -> None:
    config = yaml.safe_load((REPO_ROOT / "config.yml").read_text())
    components = [part for part in config["pipeline"] if part["name"] == COMPONENT]
    assert len(components) == 2  # one per language
    defaults = BertIntentSentimentClassifier.get_default_config()
    for component in components:
        options = {key: value for key, value in component.items() if key != "name"}
        assert set(options) <= set(defaults), set(options) - set(defaults)
        same = [key for key, value in options.items() if defaults[key] == value]
        assert same == [], f"config.yml repeats the defaults of {same}"


def test_the_docs_table_lists_every_option_with_its_default() -> None:
    docs = (REPO_ROOT / "docs" / "dialogue-and-data.md").read_text()
    documented = {m["key"]: m["default"] for m in ROW.finditer(docs)}
    defaults = BertIntentSentimentClassifier.get_default_config()
    expected = {key: as_written(value) for key, value in defaults.items()}
    assert {key: documented.get(key) for key in expected} == expected
