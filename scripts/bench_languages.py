"""Benchmark: the English-only assistant and the default (English and Chinese)
one, trained and measured in one run, on the English and the Chinese held-out
sets, for each way the encoder can answer.

For each model: full `rasa train` time and archive size; for each runtime and
precision (PyTorch float32 and bfloat16 with a TorchScript trace, PyTorch int8,
ONNX Runtime int8, and int8 with float32 deciding near ties) and each
language: intent accuracy and macro-F1, sentiment accuracy and macro-F1, and
the latency of `Agent.parse_message` for single messages (p50/p95, one
thread).

    python -m scripts.bench_languages            # make bench-languages
    python -m scripts.bench_languages --trained  # the models in models/, untrained
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import tempfile
from pathlib import Path

from rasa.utils.log_utils import configure_structlog

from components.encoder_model import INFERENCE_PRECISIONS
from components.sentiment_data import read_sentiment_csv
from scripts.bench import evaluate, load_test_examples, timed_train
from scripts.english_config import english_data
from scripts.english_config import main as write_english_config
from scripts.kb_bench import commit

ROOT = Path(__file__).resolve().parent.parent
HELD_OUT = ROOT / "tests" / "data"
SETS = {  # language: (intent set, sentiment set)
    "en": (HELD_OUT / "nlu_test.yml", HELD_OUT / "sentiment_test.csv"),
    "zh": (HELD_OUT / "nlu_test_zh.yml", HELD_OUT / "sentiment_test_zh.csv"),
}
MODELS = {  # name: (configuration, archive in models/, training data or None: data/)
    "English-only": ("var/english/config.yml", "assistant-english", english_data()),
    "default (en + zh)": ("config.yml", "assistant", None),
}
# "auto" is one of the others, whichever this CPU computes fastest.
PRECISIONS = [p for p in INFERENCE_PRECISIONS if p != "auto"]


async def measure(model: Path, precision: str, language: str) -> dict:
    """The figures of ``model`` answering at ``precision`` (NLU_INFERENCE, the
    Rasa server's setting, read when the model loads)."""
    intents, sentiments = SETS[language]
    texts, gold = load_test_examples(intents)
    os.environ["NLU_INFERENCE"] = precision
    try:
        return await evaluate(model, texts, gold, read_sentiment_csv(sentiments))
    finally:
        del os.environ["NLU_INFERENCE"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--trained", action="store_true", help="measure models/*.tar.gz as they are"
    )
    args = parser.parse_args()
    configure_structlog(logging.WARNING)
    write_english_config(str(ROOT / "var" / "english" / "config.yml"))
    print(f"Language benchmark at commit {commit()}")
    with tempfile.TemporaryDirectory() as scratch:
        models = {}
        for name, (config, archive, data) in MODELS.items():
            if args.trained:
                models[name] = (ROOT / "models" / f"{archive}.tar.gz", None)
                continue
            print(f"training {name}: rasa train --config {config}", flush=True)
            train = ["--config", str(ROOT / config), "--force"]
            if data:
                train += ["--data", *(str(path) for path in data)]
            models[name] = timed_train(train, Path(scratch), archive)
        print(
            f"\n{'model':<18} {'train s':>7} {'MB':>4}  {'answering':<17} {'set':<3} "
            f"{'intent acc':>10} {'F1':>6} {'sent. acc':>9} {'F1':>6} "
            f"{'p50 ms':>7} {'p95 ms':>7}"
        )
        for name, (model, seconds) in models.items():
            if not model.exists():
                print(f"{name:<18} (no {model}: make train / make train-english)")
                continue
            size = model.stat().st_size / 2**20
            trained = f"{seconds:>7.0f}" if seconds else f"{'-':>7}"
            for precision in PRECISIONS:
                for language in SETS:
                    m = asyncio.run(measure(model, precision, language))
                    print(
                        f"{name:<18} {trained} {size:>4.0f}  {precision:<17} "
                        f"{language:<3} {m['intent_accuracy']:>10.3f} "
                        f"{m['intent_macro_f1']:>6.3f} {m['sentiment_accuracy']:>9.3f} "
                        f"{m['sentiment_macro_f1']:>6.3f} {m['parse_p50_ms']:>7.1f} "
                        f"{m['parse_p95_ms']:>7.1f}",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
