"""Benchmark: this project's NLU pipeline against Rasa's stock DIET pipeline.

Trains both in one run and prints, on a held-out test set, intent accuracy and
macro-F1, sentiment accuracy and macro-F1, `rasa train` wall time, and the latency of
`Agent.parse_message` for single messages (p50/p95).

    python -m scripts.bench                        # the project's own data
    python -m scripts.bench --nlu train.yml --test test.yml   # any Rasa NLU data set
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rasa.utils.log_utils import configure_structlog
from sklearn.metrics import accuracy_score, f1_score

from components.sentiment_data import read_sentiment_csv
from learning.evaluation import FALLBACK_INTENT, load_test_examples, top_intent

ROOT = Path(__file__).resolve().parent.parent
RASA = str(Path(sys.executable).with_name("rasa"))
DIET_CONFIG = ROOT / "scripts" / "diet_baseline.yml"
LATENCY_MESSAGES = 200


@dataclass
class PipelineResult:
    name: str
    train_seconds: float
    train_command: str
    intent_accuracy: float
    intent_macro_f1: float
    fallback_rate: float
    parse_p50_ms: float
    parse_p95_ms: float
    sentiment_accuracy: float | None = None
    sentiment_macro_f1: float | None = None
    notes: list[str] = field(default_factory=list)


def timed_train(arguments: list[str], model_dir: Path, name: str) -> tuple[Path, float]:
    """Train from scratch: an empty training cache, so no earlier run's results
    are reused (`rasa train nlu` has no --force)."""
    command = [
        RASA,
        "train",
        *arguments,
        "--out",
        str(model_dir),
        "--fixed-model-name",
        name,
    ]
    env = {**os.environ, "RASA_CACHE_DIRECTORY": str(model_dir / f"cache-{name}")}
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    return model_dir / f"{name}.tar.gz", time.perf_counter() - started


async def evaluate(
    model_path: Path,
    texts: list[str],
    gold: list[str],
    sentiment_rows: list[tuple[str, str]] | None,
) -> dict:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model_path))
    for text in texts[:10]:  # warm-up: first calls allocate buffers
        await agent.parse_message(text)

    latencies = []
    predictions = []
    fallbacks = 0
    for index, text in enumerate(texts):
        started = time.perf_counter()
        parse = await agent.parse_message(text)
        elapsed = time.perf_counter() - started
        if index < LATENCY_MESSAGES:
            latencies.append(elapsed * 1000)
        predictions.append(top_intent(parse))
        fallbacks += parse["intent"]["name"] == FALLBACK_INTENT

    result = {
        "intent_accuracy": accuracy_score(gold, predictions),
        "intent_macro_f1": f1_score(
            gold, predictions, average="macro", zero_division=0
        ),
        "fallback_rate": fallbacks / len(texts),
        "parse_p50_ms": statistics.median(latencies),
        "parse_p95_ms": statistics.quantiles(latencies, n=20)[-1],
    }
    if sentiment_rows:
        sentiment_gold = [label for _, label in sentiment_rows]
        sentiment_pred = []
        for text, _ in sentiment_rows:
            parse = await agent.parse_message(text)
            sentiment_pred.append((parse.get("sentiment") or {}).get("label", "none"))
        result["sentiment_accuracy"] = accuracy_score(sentiment_gold, sentiment_pred)
        result["sentiment_macro_f1"] = f1_score(
            sentiment_gold, sentiment_pred, average="macro", zero_division=0
        )
    return result


def print_table(results: list[PipelineResult], test_size: int) -> None:
    def fmt(value: float | None, pattern: str) -> str:
        return "n/a" if value is None else pattern.format(value)

    rows = [
        ("intent accuracy", "intent_accuracy", "{:.1%}"),
        ("intent macro-F1", "intent_macro_f1", "{:.3f}"),
        ("nlu_fallback rate", "fallback_rate", "{:.1%}"),
        ("sentiment accuracy", "sentiment_accuracy", "{:.1%}"),
        ("sentiment macro-F1", "sentiment_macro_f1", "{:.3f}"),
        ("train wall time (s)", "train_seconds", "{:.0f}"),
        ("parse p50 (ms)", "parse_p50_ms", "{:.1f}"),
        ("parse p95 (ms)", "parse_p95_ms", "{:.1f}"),
    ]
    print(f"\nHeld-out intent examples: {test_size}")
    header = f"{'metric':<22}" + "".join(f"{r.name:>22}" for r in results)
    print(header)
    print("-" * len(header))
    for label, key, pattern in rows:
        values = "".join(f"{fmt(getattr(r, key), pattern):>22}" for r in results)
        print(f"{label:<22}{values}")
    for r in results:
        print(f"{r.name}: trained with `{r.train_command}`")
        for note in r.notes:
            print(f"  note: {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config.yml")
    parser.add_argument("--nlu", type=Path, help="NLU training data (default: data/)")
    parser.add_argument("--test", type=Path, default=ROOT / "tests/data/nlu_test.yml")
    parser.add_argument(
        "--sentiment-test", type=Path, default=ROOT / "tests/data/sentiment_test.csv"
    )
    parser.add_argument("--output", type=Path, default=ROOT / "results/bench.json")
    args = parser.parse_args()
    configure_structlog(logging.WARNING)  # Rasa logs every parse at debug level

    texts, gold = load_test_examples(args.test)
    sentiment_rows = read_sentiment_csv(args.sentiment_test)
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(tmp)
        if args.nlu is None:
            # The project's full `rasa train` (NLU + dialogue), as a user runs it.
            ours_args = ["--config", str(args.config), "--force"]
            # The English examples: the held-out set is English.
            nlu = str(ROOT / "data" / "nlu.yml")
            diet_args = ["nlu", "--config", str(DIET_CONFIG), "--nlu", nlu]
        else:
            ours_args = ["nlu", "--config", str(args.config), "--nlu", str(args.nlu)]
            diet_args = ["nlu", "--config", str(DIET_CONFIG), "--nlu", str(args.nlu)]

        results = []
        for name, train_args, sentiments in (
            ("BERT (this project)", ours_args, sentiment_rows),
            ("stock DIET", diet_args, None),
        ):
            print(f"training {name}: rasa train {' '.join(train_args)}", flush=True)
            model, seconds = timed_train(train_args, model_dir, name.split()[0].lower())
            metrics = asyncio.run(evaluate(model, texts, gold, sentiments))
            results.append(
                PipelineResult(
                    name=name,
                    train_seconds=seconds,
                    train_command="rasa train " + " ".join(train_args),
                    **metrics,
                )
            )
    results[1].notes.append("DIET has no sentiment output")
    print_table(results, len(texts))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps([asdict(r) for r in results], indent=2))
    print(f"\nfigures written to {args.output.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
