"""The review queue on the command line.

    python -m learning build                  # add what came since the last build
    python -m learning list [--limit 20]      # what waits, largest groups first
    python -m learning decide ID VERDICT [--intent NAME] [--article SLUG]
    python -m learning review                 # one item at a time, by keyboard
    python -m learning export [--root DIR]    # decisions to data/reviewed/ etc.
    python -m learning retrain [--full]       # train, compare, promote or keep
    python -m learning versions               # the models, and which one is live
    python -m learning rollback               # serve the previous live model

VERDICT is accepted, corrected (--intent), out_of_scope, kb_example
(--article) or new_intent (--intent). The reviewer is $REVIEWER, else the login
name. The databases are the assistant's (DATABASE_URL, TRACKER_DATABASE_URL,
else the SQLite files in var/).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from actions.db.engine import make_engine, session_scope
from actions.db.models import ReviewItem
from learning import queue, reviewed_data
from learning import retrain as retraining
from learning.decisions import (
    CORRECTED,
    KB_EXAMPLE,
    NEW_INTENT,
    OUT_OF_SCOPE,
    VERDICTS,
    ReviewError,
    decide,
    domain_intents,
    taking_guess,
)
from learning.versions import ModelStore, VersionError
from settings import action_server as settings
from settings.rasa_server import tracker_database_url

KEYS = """  Enter/1 accept the first guess   2/3 the second/third guess
  c correct (type the intent)        o out of scope
  k a question of an article         n a new intent
  s skip for now                     q quit"""


def reviewer_name() -> str:
    return settings.REVIEWER.read() or getpass.getuser()


def describe(item: ReviewItem) -> str:
    guesses = ", ".join(f"{n} {c:.2f}" for n, c in item.top_intents) or "none"
    lines = [
        f"#{item.id}  ({item.occurrences}x, group {item.group_id}, "
        f"{', '.join(item.reasons)})",
        f"  bot before: {item.previous_bot_message or '-'}",
        f"  customer:   {item.text}",
        f"  model:      {guesses}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m learning", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("build", help="add the messages since the last build")
    listing = commands.add_parser("list", help="the items waiting for review")
    listing.add_argument("--limit", type=int, default=20)
    deciding = commands.add_parser("decide", help="decide on one item")
    deciding.add_argument("item", type=int)
    deciding.add_argument("verdict", choices=VERDICTS)
    deciding.add_argument("--intent")
    deciding.add_argument("--article")
    commands.add_parser("review", help="review item after item by keyboard")
    exporting = commands.add_parser("export", help="write the decisions out")
    exporting.add_argument(
        "--root", type=Path, default=reviewed_data.REPO_ROOT,
        help="the project folder whose data/reviewed/ and tests/data/ to write",
    )  # fmt: skip
    for name, text in (("retrain", "train a candidate, promote it if not worse"),
                       ("versions", "the model versions"),
                       ("rollback", "serve the previous live model")):  # fmt: skip
        command = commands.add_parser(name, help=text)
        command.add_argument("--project", type=Path, default=reviewed_data.REPO_ROOT)
        command.add_argument(
            "--models", type=Path, help="the model store (default: PROJECT/models)"
        )
        if name == "retrain":
            command.add_argument("--full", action="store_true",
                                 help="train from the base model even if it "
                                 "could be fine-tuned")  # fmt: skip
            fraction = retraining.FINETUNE_EPOCH_FRACTION
            command.add_argument("--epoch-fraction", type=float, default=fraction)
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (ReviewError, VersionError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except SQLAlchemyError as error:
        print(f"error: the database is unreachable ({type(error).__name__})",
              file=sys.stderr)  # fmt: skip
        return 1


def _build(_args: argparse.Namespace) -> int:
    tracker = make_engine(tracker_database_url())
    try:
        with session_scope() as session:
            summary = queue.build(session, tracker)
    finally:
        tracker.dispose()
    period = f"{summary.scanned_from:%Y-%m-%d %H:%M} to {summary.scanned_to:%H:%M}"
    print(
        f"review queue: {summary.new_items} new, {summary.repeats} repeats "
        f"({period} UTC)"
    )
    return 0


def _list(args: argparse.Namespace) -> int:
    with session_scope() as session:
        items = queue.pending(session, args.limit)
        for item in items:
            print(describe(item))
    if not items:
        print("review queue: nothing waits")
    return 0


def _decide(args: argparse.Namespace) -> int:
    with session_scope() as session:
        decision = decide(
            session, args.item, args.verdict, reviewer_name(), args.intent, args.article
        )
        what = decision.intent or decision.article_slug or ""
    print(f"#{args.item}: {args.verdict} {what}".rstrip())
    return 0


def _review(_args: argparse.Namespace) -> int:
    intents = domain_intents()
    reviewer, skipped, decided = reviewer_name(), set(), 0
    print(KEYS)
    while True:
        with session_scope() as session:
            items = [i for i in queue.pending(session) if i.id not in skipped]
        if not items:
            print(f"review queue: done ({decided} decided)")
            return 0
        item = items[0]
        print("\n" + describe(item))
        key = input("> ").strip().lower()
        choice = _choice(key, item, intents)
        if choice == "quit":
            print(f"{decided} decided")
            return 0
        if choice is None:
            skipped.add(item.id)
            continue
        verdict, intent, article = choice
        try:
            with session_scope() as session:
                decide(session, item.id, verdict, reviewer, intent, article, intents)
            decided += 1
        except ReviewError as error:
            print(f"  {error}")


def _choice(key: str, item: ReviewItem, intents: list[str]):
    guesses = [name for name, _ in item.top_intents]
    if key == "q":
        return "quit"
    if key in ("", "1", "2", "3") and len(guesses) >= int(key or 1):
        return *taking_guess(item, guesses[int(key or 1) - 1]), None
    if key == "c":
        return CORRECTED, input(f"  intent ({len(intents)} known): ").strip(), None
    if key == "o":
        return OUT_OF_SCOPE, None, None
    if key == "k":
        return KB_EXAMPLE, None, input("  article slug: ").strip()
    if key == "n":
        return NEW_INTENT, input("  new intent name: ").strip(), None
    return None  # s, or anything else: skip


def _export(args: argparse.Namespace) -> int:
    with session_scope() as session:
        summary = reviewed_data.export(
            session,
            args.root / reviewed_data.TRAINING_PATH,
            args.root / reviewed_data.REGRESSION_PATH,
        )
    print(
        f"export: {summary.trained} training examples (data/reviewed/), "
        f"{summary.regression} to the regression set, "
        f"{summary.kb_examples} help-center questions"
    )
    for intent, count in summary.waiting_for_domain.items():
        print(
            f"  {count} example(s) of the new intent {intent} wait for it in domain.yml"
        )
    return 0


def _store(args: argparse.Namespace) -> ModelStore:
    return ModelStore(args.models or args.project / "models")


def _retrain(args: argparse.Namespace) -> int:
    outcome = retraining.retrain(
        retraining.Project(args.project), _store(args), args.full, args.epoch_fraction
    )
    print(f"retrain: candidate {outcome.training}, trained in "
          f"{outcome.train_seconds:.0f} s")  # fmt: skip
    print(outcome.report)
    for reason in outcome.reasons:
        print(f"  {reason}")
    if outcome.promoted is None:
        print("retrain: kept the live model")
        return 3
    print(f"retrain: promoted v{outcome.promoted.number}; live now")
    return 0


def _versions(args: argparse.Namespace) -> int:
    store = _store(args)
    live = store.live()
    for version in store.versions():
        mark = "*" if live and version.number == live.number else " "
        code = f"code {version.commit}  " if version.commit else ""
        print(f"{mark} v{version.number}  {version.created_at}  {version.trained:<24} "
              f"data {version.data_hash}  {code}{version.metrics}")  # fmt: skip
    if live is None:
        print("no model versions yet (python -m learning retrain adopts models/)")
    return 0


def _rollback(args: argparse.Namespace) -> int:
    version = _store(args).rollback()
    print(f"rollback: v{version.number} is live again")
    return 0


COMMANDS = {
    "retrain": _retrain,
    "versions": _versions,
    "rollback": _rollback,
    "build": _build,
    "list": _list,
    "decide": _decide,
    "review": _review,
    "export": _export,
}

if __name__ == "__main__":
    sys.exit(main())
