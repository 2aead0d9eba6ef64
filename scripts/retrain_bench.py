"""`make bench-retrain`: fine-tuning from the live model against a full training.

Both candidates are trained in one run on the project's current data (data/
and data/reviewed/), exactly as `make retrain` trains them, and read the
held-out sets and the reviewed-wordings regression set beside the live model
(models/live.tar.gz, else what `make train` wrote). Printed: training wall time,
held-out accuracy and macro-F1 over the live model's intents, the reviewed
wordings read right, and forgetting: the intents whose F1 fell by more than
0.05 from the live model's. Nothing is promoted.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from learning.decisions import domain_intents
from learning.retrain import (
    FINETUNE_EPOCH_FRACTION,
    FIRST_MODEL,
    Comparison,
    Project,
    compare,
    train,
)
from learning.reviewed_data import REPO_ROOT
from learning.versions import LIVE_FILE, ModelStore
from scripts.kb_bench import commit

FORGOTTEN = 0.05  # an intent whose F1 fell by more than this counts as forgotten


def live_model(models: Path) -> Path:
    live = models / LIVE_FILE
    return live if live.is_file() else models / FIRST_MODEL


def row(name: str, seconds: float | None, comparison: Comparison, live: bool) -> str:
    scores = comparison.live if live else comparison.candidate
    regression = comparison.live_regression if live else comparison.candidate_regression
    before = comparison.live.per_intent
    forgotten = [] if live else [
        f"{intent} {before[intent].f1:.2f}->{new.f1:.2f} (n={new.support})"
        for intent, new in comparison.candidate.per_intent.items()
        if intent in before and before[intent].f1 - new.f1 > FORGOTTEN
    ]  # fmt: skip
    took = f"{seconds:>7.0f}" if seconds is not None else f"{'-':>7}"
    reviewed = f"{regression.accuracy:>9.1%}" if regression else f"{'-':>9}"
    return (f"{name:<22} {took} {scores.accuracy:>9.1%} {scores.macro_f1:>9.4f} "
            f"{reviewed} {', '.join(forgotten) or '-'}")  # fmt: skip


def main() -> None:
    project = Project(REPO_ROOT)
    live = live_model(REPO_ROOT / "models")
    if not live.is_file():
        raise SystemExit(f"no live model: {live} is missing (make train)")
    known = ModelStore(REPO_ROOT / "models").live()
    with tempfile.TemporaryDirectory(prefix="bench-retrain-") as work:
        out = Path(work)
        print(f"bench-retrain at {commit()}: live model {live.relative_to(REPO_ROOT)}")
        print(f"fine-tuning ({FINETUNE_EPOCH_FRACTION:.0%} of the epochs) ...")
        finetune_s = train(project, out, "finetuned", live, FINETUNE_EPOCH_FRACTION)
        print("training fully ...")
        full_s = train(project, out, "full", None, 1.0)
        intents = known.intents if known else domain_intents(project.domain)
        finetuned = asyncio.run(compare(project, live, out / "finetuned.tar.gz",
                                        intents))  # fmt: skip
        full = asyncio.run(compare(project, live, out / "full.tar.gz", intents))
    print(f"\n{'model':<22} {'train s':>7} {'accuracy':>9} {'macro-F1':>9} "
          f"{'reviewed':>9} forgotten (F1 -{FORGOTTEN})")  # fmt: skip
    print(row("live", None, finetuned, live=True))
    print(row("fine-tuned from live", finetune_s, finetuned, live=False))
    print(row("full training", full_s, full, live=False))
    print(f"\nheld-out examples: {finetuned.live.examples}; fine-tuning took "
          f"{finetune_s / full_s:.0%} of a full training's time")  # fmt: skip


if __name__ == "__main__":
    main()
