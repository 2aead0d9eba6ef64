"""Write the English-only configuration: config.yml without the classifiers of
other languages, its English classifier reading every message, trained on the
English data (``english_data``: data/ without the Chinese files). It is the
assistant as it was before it read Chinese, the baseline `make bench-languages`
measures the default against. One home for every setting (config.yml).

    python -m scripts.english_config var/english/config.yml  # prints the data
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CLASSIFIER = "components.intent_sentiment_classifier.BertIntentSentimentClassifier"


def english_config() -> dict:
    config = yaml.safe_load((ROOT / "config.yml").read_text())
    pipeline = []
    for part in config["pipeline"]:
        if part["name"] == CLASSIFIER:
            if "en" not in (part.get("languages") or ["en"]):
                continue
            part = {key: value for key, value in part.items() if key != "languages"}
        pipeline.append(part)
    config["pipeline"] = pipeline
    return config


def english_data() -> list[Path]:
    """The training data files but the Chinese ones (``*_zh.yml``)."""
    files = (ROOT / "data").glob("*.yml")
    return sorted(path for path in files if not path.stem.endswith("_zh"))


def main(target: str) -> None:
    """Write the configuration to ``target``; print the data files to train on."""
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "# Written by scripts/english_config.py from config.yml: edit that.\n"
    path.write_text(header + yaml.safe_dump(english_config(), sort_keys=False))
    print(" ".join(str(p.relative_to(ROOT)) for p in english_data()))


if __name__ == "__main__":
    main(sys.argv[1])
