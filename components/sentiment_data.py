"""Reads the sentiment-labelled CSV file that config.yml points the classifier to."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

SENTIMENT_LABELS = ("negative", "neutral", "positive")


class SentimentDataError(ValueError):
    """The sentiment file is missing, malformed or has an unknown label."""


def read_sentiment_csv(path: str | Path) -> list[tuple[str, str]]:
    """(text, label) pairs from a CSV with a `text,label` header."""
    path = Path(path)
    if not path.is_file():
        raise SentimentDataError(f"sentiment data file not found: {path}")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"text", "label"} <= set(reader.fieldnames):
            raise SentimentDataError(f"{path} needs a 'text,label' header line")
        rows = []
        for line_number, row in enumerate(reader, start=2):
            label = (row["label"] or "").strip().lower()
            if label not in SENTIMENT_LABELS:
                raise SentimentDataError(
                    f"{path}:{line_number}: label must be one of {SENTIMENT_LABELS}, "
                    f"got {row['label']!r}"
                )
            rows.append((row["text"] or "", label))
    return rows


def sentiment_files(configured: str | list[str] | None) -> list[str]:
    """The ``sentiment_data`` option as a list: one file, several, or none."""
    if not configured:
        return []
    return [configured] if isinstance(configured, (str, Path)) else list(configured)


def file_fingerprint(path: str | Path) -> str:
    """Content hash, so editing the file retrains the model and renaming does not."""
    path = Path(path)
    if not path.is_file():
        return f"missing:{path}"
    return hashlib.sha256(path.read_bytes()).hexdigest()
