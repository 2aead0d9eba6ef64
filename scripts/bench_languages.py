"""Benchmark: the default model and the bilingual one on the English and the
Chinese held-out sets, in one run.

For each model: intent accuracy and macro-F1, sentiment accuracy and macro-F1,
and parse latency p50/p95 (single messages, one thread), for each language; and
the model archive's size. Train the models first (make train, make
train-bilingual: each prints its training time).

    python -m scripts.bench_languages          # make bench-languages
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from rasa.utils.log_utils import configure_structlog

from components.sentiment_data import read_sentiment_csv
from scripts.bench import evaluate, load_test_examples
from scripts.kb_bench import commit

ROOT = Path(__file__).resolve().parent.parent
HELD_OUT = ROOT / "tests" / "data"
SETS = {  # language: (intent set, sentiment set)
    "en": (HELD_OUT / "nlu_test.yml", HELD_OUT / "sentiment_test.csv"),
    "zh": (HELD_OUT / "nlu_test_zh.yml", HELD_OUT / "sentiment_test_zh.csv"),
}
MODELS = {
    "default (MiniLM, English)": ROOT / "models" / "assistant.tar.gz",
    "bilingual (e5)": ROOT / "models" / "assistant-bilingual.tar.gz",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    configure_structlog(logging.WARNING)
    print(f"Language benchmark at commit {commit()}")
    print(
        f"{'model':<28} {'set':<3} {'intent acc':>10} {'F1':>6} {'sent. acc':>9} "
        f"{'F1':>6} {'p50 ms':>7} {'p95 ms':>7} {'archive MB':>10}"
    )
    for name, model in MODELS.items():
        if not model.exists():
            print(f"{name:<28} (no {model.relative_to(ROOT)}: train it first)")
            continue
        size = model.stat().st_size / 2**20
        for language, (intents, sentiments) in SETS.items():
            texts, gold = load_test_examples(intents)
            rows = read_sentiment_csv(sentiments)
            m = asyncio.run(evaluate(model, texts, gold, rows))
            print(
                f"{name:<28} {language:<3} {m['intent_accuracy']:>10.3f} "
                f"{m['intent_macro_f1']:>6.3f} {m['sentiment_accuracy']:>9.3f} "
                f"{m['sentiment_macro_f1']:>6.3f} {m['parse_p50_ms']:>7.1f} "
                f"{m['parse_p95_ms']:>7.1f} {size:>10.0f}"
            )


if __name__ == "__main__":
    main()
