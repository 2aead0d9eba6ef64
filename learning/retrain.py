"""`make retrain`: a candidate trained on all the data, compared with the live
model in one run, and promoted only when it is not worse.

The candidate is fine-tuned from the live model's weights (``rasa train
--finetune``, a fraction of the epochs) when the domain's intents are the ones
the live model knows; when intents were added or removed it is trained fully
(Rasa's fine-tuning refuses new labels). Both models then read the held-out
sets (``tests/data/nlu_test*.yml``) and the frozen regression set of reviewed
wordings (``tests/data/nlu_reviewed_regression.yml``), neither ever trained on.
The candidate is promoted when

* its macro-F1 on the held-out sets, over the intents the live model knows,
  is at most ``MAX_F1_DROP`` (half a point) below the live model's, and
* it reads more of the reviewed wordings correctly than the live model (or
  all of them, as the live one already did);

otherwise the live model stays and the report says which rule failed.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from cluster.services import rasa_environment
from learning.decisions import domain_intents
from learning.evaluation import Scores, load_test_examples, predict, score
from learning.reviewed_data import REGRESSION_PATH
from learning.versions import (
    ModelStore,
    Version,
    VersionError,
    code_commit,
    data_hash,
)

MAX_F1_DROP = 0.005
FINETUNE_EPOCH_FRACTION = 0.3
RASA = Path(sys.executable).with_name("rasa")
FIRST_MODEL = "assistant.tar.gz"  # what `make train` writes, adopted as version 1


@dataclass(frozen=True)
class Project:
    """A Rasa project folder: config.yml, domain.yml, data/, tests/data/."""

    root: Path

    @property
    def domain(self) -> Path:
        return self.root / "domain.yml"

    def training_inputs(self) -> list[Path]:
        files = [p for p in (self.root / "data").rglob("*") if p.is_file()]
        return [self.root / "config.yml", self.domain, *files]

    def held_out_sets(self) -> list[Path]:
        return sorted((self.root / "tests" / "data").glob("nlu_test*.yml"))

    @property
    def regression_set(self) -> Path:
        return self.root / REGRESSION_PATH


@dataclass(frozen=True)
class Comparison:
    known: list[str]
    live: Scores
    candidate: Scores
    live_regression: Scores | None
    candidate_regression: Scores | None


@dataclass(frozen=True)
class Outcome:
    promoted: Version | None
    reasons: list[str]
    report: str
    training: str  # "fine-tuned from v2" or "full"
    train_seconds: float


def train(project: Project, out: Path, name: str, finetune: Path | None,
          epoch_fraction: float) -> float:  # fmt: skip
    """Train ``out/name.tar.gz`` from ``project``; its wall time in seconds."""
    command = [str(RASA), "train", "--out", str(out), "--fixed-model-name", name]
    if finetune is not None:
        command += [
            "--finetune",
            str(finetune),
            "--epoch-fraction",
            str(epoch_fraction),
        ]
    # A cache of its own: nothing from an earlier training is reused unseen.
    env = rasa_environment(RASA_CACHE_DIRECTORY=str(out / f"cache-{name}"))
    out.mkdir(parents=True, exist_ok=True)
    log = out / f"{name}.log"
    started = time.perf_counter()
    with log.open("w") as output:
        result = subprocess.run(command, cwd=project.root, env=env, stdout=output,
                                stderr=subprocess.STDOUT)  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"rasa train failed; the end of {log}:\n"
                           + log.read_text()[-3000:])  # fmt: skip
    return time.perf_counter() - started


async def compare(project: Project, live: Path, candidate: Path,
                  known: list[str]) -> Comparison:  # fmt: skip
    texts, gold = [], []
    for path in project.held_out_sets():
        more_texts, more_gold = load_test_examples(path)
        texts += more_texts
        gold += more_gold
    regression_texts, regression_gold = (
        load_test_examples(project.regression_set)
        if project.regression_set.is_file()
        else ([], [])
    )
    every = texts + regression_texts
    live_said, candidate_said = (
        await predict(live, every),
        await predict(candidate, every),
    )
    held = len(texts)
    reviewed = sorted(set(regression_gold))

    def regression(said: list[str]) -> Scores | None:
        if not regression_texts:
            return None
        return score(regression_gold, said[held:], reviewed)

    return Comparison(
        known,
        score(gold, live_said[:held], known),
        score(gold, candidate_said[:held], known),
        regression(live_said),
        regression(candidate_said),
    )


def verdict(
    comparison: Comparison, max_drop: float = MAX_F1_DROP
) -> tuple[bool, list[str]]:
    """Whether to promote, and each rule's finding in a sentence."""
    live, candidate = comparison.live.macro_f1, comparison.candidate.macro_f1
    kept = live - candidate <= max_drop + 1e-9
    reasons = [
        f"held-out macro-F1 over the {len(comparison.known)} intents the live model "
        f"knows: {live:.4f} live, {candidate:.4f} candidate "
        f"({'within' if kept else 'beyond'} the {max_drop * 100:.1f}-point allowance)"
    ]
    if comparison.live_regression is None:
        improved = True
        reasons.append("no reviewed wordings in the regression set yet")
    else:
        before = comparison.live_regression.accuracy
        after = comparison.candidate_regression.accuracy
        improved = after > before or after == before == 1.0
        reasons.append(
            f"reviewed wordings ({comparison.live_regression.examples}) read right: "
            f"{before:.1%} live, {after:.1%} candidate "
            f"({'improved' if improved else 'not improved'})"
        )
    return kept and improved, reasons


def report(comparison: Comparison) -> str:
    """Per intent: support, F1 of the live model and the candidate, change."""
    lines = [f"{'intent':<28} {'n':>4} {'live F1':>8} {'candidate':>9} {'change':>7}"]
    for intent in sorted(comparison.candidate.per_intent):
        live = comparison.live.per_intent.get(intent)
        new = comparison.candidate.per_intent[intent]
        change = new.f1 - live.f1 if live else float("nan")
        flag = "  <-- worse" if change < -0.05 else ""
        lines.append(
            f"{intent:<28} {new.support:>4} {live.f1 if live else float('nan'):>8.3f} "
            f"{new.f1:>9.3f} {change:>+7.3f}{flag}"
        )
    lines.append(
        f"{'macro-F1':<28} {comparison.candidate.examples:>4} "
        f"{comparison.live.macro_f1:>8.4f} {comparison.candidate.macro_f1:>9.4f}"
    )
    return "\n".join(lines)


def adopt_first_model(project: Project, store: ModelStore) -> Version:
    """The model `make train` wrote becomes version 1, live (no earlier one)."""
    first = project.root / "models" / FIRST_MODEL
    if not first.is_file():
        raise VersionError(
            f"no live model and no {first}: train one first (make train)"
        )
    version = store.add(
        first,
        data_hash(project.training_inputs()),
        domain_intents(project.domain),
        "adopted (make train)",
    )
    return store.make_live(version.number)


def retrain(
    project: Project,
    store: ModelStore,
    full: bool = False,
    epoch_fraction: float = FINETUNE_EPOCH_FRACTION,
) -> Outcome:
    live = store.live() or adopt_first_model(project, store)
    intents = domain_intents(project.domain)
    finetune = not full and sorted(intents) == sorted(live.intents)
    training = f"fine-tuned from v{live.number}" if finetune else "full"
    with tempfile.TemporaryDirectory(prefix="retrain-", dir=store.folder) as work:
        out = Path(work)
        seconds = train(
            project, out, "candidate",
            store.path_of(live) if finetune else None, epoch_fraction,
        )  # fmt: skip
        candidate = out / "candidate.tar.gz"
        comparison = asyncio.run(
            compare(project, store.path_of(live), candidate, live.intents)
        )
        promote, reasons = verdict(comparison)
        promoted = None
        if promote:
            metrics = {
                "held_out_macro_f1": round(comparison.candidate.macro_f1, 4),
                "held_out_accuracy": round(comparison.candidate.accuracy, 4),
                "train_seconds": round(seconds, 1),
            }
            if comparison.candidate_regression is not None:
                metrics["reviewed_accuracy"] = round(
                    comparison.candidate_regression.accuracy, 4
                )
            version = store.add(
                candidate, data_hash(project.training_inputs()), intents, training,
                metrics, code_commit(project.root),
            )  # fmt: skip
            promoted = store.make_live(version.number)
    return Outcome(promoted, reasons, report(comparison), training, seconds)
