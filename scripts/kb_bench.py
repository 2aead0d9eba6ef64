"""Benchmark: the help-center knowledge base against today's FAQ intents, in
English and in Chinese.

On each held-out set (English: tests/data/kb_questions_test.csv and
kb_questions_fresh.csv; Chinese: kb_questions_test_zh.csv; written apart and
never used for anything but this), for the hybrid, dense-only and lexical-only
rankers, each with its rule calibrated on the language's calibration set
(data/kb_calibration.csv, data/kb_calibration_zh.csv) in this run:
answer rate, precision, declined ``none`` questions, wrong answers, recall@1/@3
and MRR. Then, with the trained NLU model: the four FAQ intents as the baseline
(an FAQ intent above the fallback threshold answers with its article), how
often a ``none`` question reaches a task intent above that threshold, and the
whole pipeline (the NLU routes, the knowledge base answers). Last, retrieval
latency on one core (embedding the question plus ranking) with the 102 seed
articles, 1,000 and 50,000 articles, and the index's memory; and the hybrid's
figures and latency for each way of running the embedding model (ONNX Runtime
float32 and int8, eager PyTorch), each embedding the articles itself.

Chinese questions are answered from the Chinese articles by the Chinese model
(KB_ZH_EMBEDDING_MODEL); for comparison, the same questions answered across
languages (the English articles, by the same model) and by the English model.

    python -m scripts.kb_bench                 # make bench-kb: both languages
    python -m scripts.kb_bench --language zh   # one of them
    python -m scripts.kb_bench --no-nlu        # without the trained model
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

import settings.action_server as settings
from actions.kb.retrieval import Rule
from learning.versions import code_commit

ROOT = Path(__file__).resolve().parent.parent
HELD_OUT = ROOT / "tests" / "data"
TEST_SETS = {  # held out: never used to write articles, calibrate or tune
    "en": (HELD_OUT / "kb_questions_test.csv", HELD_OUT / "kb_questions_fresh.csv"),
    "zh": (HELD_OUT / "kb_questions_test_zh.csv",),
}
MODEL = ROOT / "models" / "assistant.tar.gz"
FALLBACK_THRESHOLD = 0.45  # config.yml's FallbackClassifier
FAQ_ARTICLES = {
    "faq_shipping_times": "shipping-times",
    "faq_return_policy": "return-policy",
    "faq_payment_methods": "payment-methods",
    "faq_contact_hours": "contact-hours",
}
# The intents whose messages go to the knowledge base (data/rules.yml).
TO_KNOWLEDGE_BASE = {*FAQ_ARTICLES, "complain", "out_of_scope", "nlu_fallback"}
TASK_INTENTS = {
    "check_order_status", "ask_other_order", "list_orders", "cancel_order",
    "return_item", "refund_status", "check_balance", "recent_transactions",
}  # fmt: skip
SCALES = (1_000, 50_000)
RUNTIMES = (  # (name, runtime, precision), the configured default first
    ("onnx", "onnx", "float32"),
    ("onnx-int8", "onnx", "int8"),
    ("torch", "torch", "float32"),
)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # Rasa's TensorFlow, quiet


def commit() -> str:
    return code_commit(ROOT) or "unknown"


def build_knowledge_base(directory: Path, embedder, language: str = "en"):
    """The seed help center in a fresh SQLite file, embedded as ``make seed``
    does; answering from the ``language`` articles with that language's
    not-covered questions."""
    from actions.db.engine import make_engine, session_scope
    from actions.db.migrate import upgrade_head
    from actions.db.seed import HELP_CENTERS
    from actions.kb import knowledge
    from actions.kb.articles import read_markdown_folder
    from actions.kb.store import save_articles

    url = f"sqlite:///{directory / f'kb-{id(embedder)}-{language}.db'}"
    upgrade_head(url)
    engine = make_engine(url)
    articles = [a for folder in HELP_CENTERS for a in read_markdown_folder(folder)]
    with session_scope(engine) as session:
        save_articles(session, articles, actor="bench")
        knowledge.embed_missing(session, embedder, language)
    return knowledge.KnowledgeBase(
        embedder,
        Rule(threshold=0.0),
        not_covered=knowledge.read_not_covered(knowledge.NOT_COVERED[language]),
        refresh_seconds=3600,
        sessions=lambda: session_scope(engine),
        language=language,
    )


def slugs_by_title(kb) -> dict[str, str]:
    """The labelled sets name an article by its title."""
    return {e.title: e.slug for e in kb.index().entries}


def print_figures(name: str, f) -> None:
    rule = f.rule
    print(
        f"{name:<22} {rule.threshold:>9.2f} {rule.margin:>6.2f} {rule.lead:>5.3f} "
        f"{f.answer_rate:>8.3f} "
        f"{f.precision:>9.3f} {f.declined:>8.3f} {f.wrong:>6.3f} "
        f"{f.recall_at_1:>6.3f} {f.recall_at_3:>6.3f} {f.mrr:>6.3f}"
    )


def header() -> None:
    print(
        f"{'':<22} {'threshold':>9} {'margin':>6} {'lead':>5} {'answered':>8} "
        f"{'precision':>9} "
        f"{'declined':>8} {'wrong':>6} {'r@1':>6} {'r@3':>6} {'MRR':>6}"
    )


def rankers(kb, test, calibration, slug_of_title):
    """Each ranker with its threshold and not-covered margin calibrated here;
    the hybrid once more with the threshold alone, the margin's baseline."""
    from actions.kb.evaluation import calibrate, figures, rank_all
    from actions.kb.retrieval import MODES

    print(
        "\n== Rankers (threshold and not-covered margin calibrated on the "
        "calibration set) =="
    )
    header()
    ranked_test, chosen_hybrid = {}, None
    rows = [(mode, mode, None) for mode in MODES]
    rows.insert(1, ("hybrid, threshold only", "hybrid", ([-1.0], [0.0])))
    for name, mode, margins in rows:

        def search(question: str, mode: str = mode):
            return kb.search(question, k=3, mode=mode)

        ranked_calibration = rank_all(calibration, slug_of_title, search)
        chosen = calibrate(ranked_calibration, *(margins or ()))
        ranked_test[mode] = rank_all(test, slug_of_title, search)
        print_figures(name, figures(ranked_test[mode], chosen.rule))
        chosen_hybrid = chosen_hybrid or chosen
    return ranked_test, chosen_hybrid


async def parse_all(model: Path, questions: list[str]) -> list[tuple[str, float]]:
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # Rasa logs every parse at debug level
    agent = Agent.load(str(model))
    parsed = []
    for question in questions:
        intent = (await agent.parse_message(question))["intent"]
        parsed.append((intent["name"], float(intent["confidence"])))
    return parsed


def with_nlu(model, test, ranked_hybrid, chosen, language: str) -> None:
    from actions.kb.evaluation import Ranked, figures
    from actions.kb.retrieval import Hit

    parsed = asyncio.run(parse_all(model, [q.question for q in test]))
    print(f"\n== With the NLU model ({model.name}) ==")
    header()
    suffix = "" if language == "en" else f"-{language}"

    def faq_answer(intent: str, confidence: float) -> list[Hit]:
        if intent in FAQ_ARTICLES and confidence >= FALLBACK_THRESHOLD:
            return [Hit(FAQ_ARTICLES[intent] + suffix, "", 1.0, 1.0, 1.0)]
        return []

    baseline = [Ranked(r.wanted, faq_answer(*p)) for r, p in zip(ranked_hybrid, parsed)]
    print_figures("FAQ intents (baseline)", figures(baseline, Rule(0.5)))
    # The pipeline: only what the NLU routes to the knowledge base is searched.
    routed = [
        r if p[0] in TO_KNOWLEDGE_BASE else Ranked(r.wanted, [])
        for r, p in zip(ranked_hybrid, parsed)
    ]
    print_figures("NLU + hybrid", figures(routed, chosen.rule))
    none = [p for r, p in zip(ranked_hybrid, parsed) if r.wanted is None]
    leaked = [p for p in none if p[0] in TASK_INTENTS and p[1] >= FALLBACK_THRESHOLD]
    print(
        f"`none` questions reaching a task intent above {FALLBACK_THRESHOLD}: "
        f"{len(leaked)} of {len(none)} ({len(leaked) / max(len(none), 1):.1%})"
    )
    answerable = [p for r, p in zip(ranked_hybrid, parsed) if r.wanted]
    kept = sum(p[0] in TO_KNOWLEDGE_BASE for p in answerable)
    print(
        f"answerable questions the NLU routes to the knowledge base: {kept} of "
        f"{len(answerable)} ({kept / max(len(answerable), 1):.1%})"
    )


def generated_index(kb, size: int, rng: random.Random):
    """``size`` articles made from the seed ones, each as a typical article is
    stored: a title, three example questions and an answer (five vectors). The
    vectors are a seed article's with noise (no two the same), the words its
    own plus random ones from the help center's vocabulary (so BM25's postings
    grow as with real text). Embedding 50,000 real articles would take hours
    here; the question is embedded for real on every search."""
    from actions.kb.lexical import words
    from actions.kb.retrieval import Entry, Index

    base = kb.index()
    seeds = base.entries
    vocabulary = sorted({w for e in seeds for w in words(f"{e.title} {e.answer}")})
    entries, vectors, documents = [], [], []
    for number in range(size):
        seed = seeds[number % len(seeds)]
        stored = base.vectors_of(seed.slug)[[0, 1, 2, 3, -1]]
        noise = np.random.default_rng(number).normal(0, 0.05, stored.shape)
        noisy = stored + noise.astype(np.float32)
        noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
        entries.append(Entry(f"{seed.slug}-{number}", seed.title, seed.answer, "en"))
        vectors.append(noisy.astype(np.float32))
        extra = " ".join(rng.choice(vocabulary) for _ in range(30))
        documents.append(f"{seed.title} {seed.answer} {extra}")
    return Index(entries, vectors, documents)


def latency(kb, questions: list[str]) -> None:
    rng = random.Random(7)
    embedder = kb.embedder
    print(
        f"\n== Retrieval latency on one core ({embedder.name}, {embedder.runtime}) =="
    )
    print("(embedding the question is the same at every size; ranking grows)")
    print(
        f"{'articles':>9} {'embed+rank p50':>14} {'p95 ms':>7} "
        f"{'rank only p50':>13} {'p95 ms':>7} {'index MB':>9}"
    )
    indexes = [(len(kb.index()), kb.index())]
    indexes += [(size, generated_index(kb, size, rng)) for size in SCALES]
    for size, index in indexes:
        total, ranking = timings(kb.embedder, index, questions)
        print(
            f"{size:>9,} {statistics.median(total):>14.1f} {p95(total):>7.1f} "
            f"{statistics.median(ranking):>13.1f} {p95(ranking):>7.1f} "
            f"{index.memory_bytes() / 2**20:>9.1f}"
        )


def timings(embedder, index, questions: list[str]) -> tuple[list, list]:
    """Milliseconds per question: embedding plus ranking, and ranking alone."""
    total, ranking = [], []
    for question in questions[:10]:  # warm-up
        index.search(question, embedder.embed_queries([question])[0])
    for question in questions:
        start = time.perf_counter()
        vector = embedder.embed_queries([question])[0]
        embedded = time.perf_counter()
        index.search(question, vector, k=5)
        end = time.perf_counter()
        total.append((end - start) * 1000)
        ranking.append((end - embedded) * 1000)
    return total, ranking


def runtimes(directory: Path, test, calibration, language: str) -> None:
    """The hybrid's quality and speed for each way of running the embedder."""
    from actions.kb.embedder import SentenceEmbedder
    from actions.kb.evaluation import calibrate, figures, rank_all

    print("\n== Embedding runtimes (hybrid ranker; latency with 1,000 articles) ==")
    print(
        f"{'runtime':<12} {'threshold':>9} {'margin':>6} {'lead':>5} {'answered':>8} "
        f"{'precision':>9} {'declined':>8} {'wrong':>6} {'r@1':>6} "
        f"{'p50 ms':>7} {'p95 ms':>7}"
    )
    model = (
        settings.KB_ZH_EMBEDDING_MODEL if language == "zh"
        else settings.KB_EMBEDDING_MODEL
    ).read()  # fmt: skip
    for name, runtime, precision in RUNTIMES:
        embedder = SentenceEmbedder(model, runtime, precision, threads=1)
        kb = build_knowledge_base(directory, embedder, language)
        slug_of_title = slugs_by_title(kb)

        def search(question: str, kb=kb):
            return kb.search(question, k=3)

        chosen = calibrate(rank_all(calibration, slug_of_title, search))
        ranked = rank_all(test, slug_of_title, search)
        f = figures(ranked, chosen.rule)
        index = generated_index(kb, 1_000, random.Random(7))
        total, _ = timings(embedder, index, [q.question for q in test])
        print(
            f"{name:<12} {f.rule.threshold:>9.2f} {f.rule.margin:>6.2f} "
            f"{f.rule.lead:>5.3f} {f.answer_rate:>8.3f} "
            f"{f.precision:>9.3f} {f.declined:>8.3f} {f.wrong:>6.3f} "
            f"{f.recall_at_1:>6.3f} {statistics.median(total):>7.1f} "
            f"{p95(total):>7.1f}"
        )


def p95(timings: list[float]) -> float:
    return statistics.quantiles(timings, n=20)[-1]


def across_languages(directory: Path, test, calibration) -> None:
    """Chinese questions answered otherwise: from the English articles by the
    Chinese model (across languages), and from the Chinese articles by the
    English model (what the English default would do)."""
    from actions.db.seed import HELP_CENTERS
    from actions.kb.articles import read_markdown_folder
    from actions.kb.embedder import SentenceEmbedder
    from actions.kb.evaluation import calibrate, figures, rank_all

    chinese_slugs = {a.title: a.slug for a in read_markdown_folder(HELP_CENTERS[1])}
    print("\n== Chinese questions, answered otherwise (hybrid, calibrated) ==")
    header()
    runtime, _, precision = settings.KB_EMBEDDING_RUNTIME.read().partition("-")
    for name, model, language in (
        ("zh → en articles, e5", settings.KB_ZH_EMBEDDING_MODEL.read(), "en"),
        ("zh articles, MiniLM", settings.KB_EMBEDDING_MODEL.read(), "zh"),
    ):
        embedder = SentenceEmbedder(model, runtime, precision or "float32", 1)
        kb = build_knowledge_base(directory, embedder, language)
        # The labels are Chinese titles; an English twin's slug lacks the -zh.
        slug_of_title = {
            title: slug.removesuffix("-zh") if language == "en" else slug
            for title, slug in chinese_slugs.items()
        }

        def search(question: str, kb=kb):
            return kb.search(question, k=3)

        chosen = calibrate(rank_all(calibration, slug_of_title, search))
        print_figures(name, figures(rank_all(test, slug_of_title, search), chosen.rule))


def bench_language(language: str, args, directory: Path) -> None:
    from actions.kb import knowledge
    from actions.kb.evaluation import read_labelled_file

    tests = {
        path.name: read_labelled_file(path) for path in args.test or TEST_SETS[language]
    }
    calibration_set = knowledge.CALIBRATION_SETS[language]
    calibration = read_labelled_file(calibration_set)
    sizes = ", ".join(
        f"{name} {len(test)} ({sum(q.article is None for q in test)} none)"
        for name, test in tests.items()
    )
    print(
        f"\n############ {language}: held out {sizes}; calibrated on "
        f"{calibration_set.name} ({len(calibration)})"
    )
    kb = build_knowledge_base(
        directory, knowledge.embedder_from_settings(language), language
    )
    slug_of_title = slugs_by_title(kb)
    for name, test in tests.items():
        print(f"\n###### {name}")
        ranked, chosen = rankers(kb, test, calibration, slug_of_title)
        if args.no_nlu or not args.model.exists():
            print("\n(no NLU model: make train, or drop --no-nlu)")
        else:
            with_nlu(args.model, test, ranked["hybrid"], chosen, language)
    everything = [q for test in tests.values() for q in test]
    if language == "zh":
        across_languages(directory, everything, calibration)
    latency(kb, [q.question for q in everything])
    runtimes(directory, everything, calibration, language)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--language", choices=sorted(TEST_SETS), action="append")
    parser.add_argument("--test", type=Path, action="append")
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--no-nlu", action="store_true")
    args = parser.parse_args()
    languages = args.language or list(TEST_SETS)
    if args.test and len(languages) > 1:
        parser.error("--test needs one --language")
    print(f"Knowledge-base benchmark at commit {commit()}")
    import torch

    torch.set_num_threads(1)  # one core, for every runtime
    with tempfile.TemporaryDirectory() as directory:
        for language in languages:
            bench_language(language, args, Path(directory))


if __name__ == "__main__":
    main()
