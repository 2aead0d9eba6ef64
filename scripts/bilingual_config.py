"""Write the bilingual configuration: config.yml with config_bilingual.yml's
classifier options. One home for every other setting (config.yml), one for what
the bilingual assistant changes (config_bilingual.yml).

    python -m scripts.bilingual_config var/bilingual/config.yml
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CLASSIFIER = "components.intent_sentiment_classifier.BertIntentSentimentClassifier"


def bilingual_config() -> dict:
    config = yaml.safe_load((ROOT / "config.yml").read_text())
    changes = yaml.safe_load((ROOT / "config_bilingual.yml").read_text())
    [classifier] = [part for part in config["pipeline"] if part["name"] == CLASSIFIER]
    classifier.update(changes["classifier"])
    return config


def main(target: str) -> None:
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "# Written by scripts/bilingual_config.py: edit config_bilingual.yml.\n"
    path.write_text(header + yaml.safe_dump(bilingual_config(), sort_keys=False))


if __name__ == "__main__":
    main(sys.argv[1])
