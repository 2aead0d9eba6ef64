"""python -m actions.kb: the help center's articles in the assistant's database.

  list | show SLUG | add | edit SLUG | deactivate SLUG | import PATH | export PATH
  validate [PATH] | search QUESTION | calibrate [CSV]
search and calibrate take --language zh for the Chinese articles.
PATH is a folder of Markdown files with front matter, or a .csv file with the
columns title,answer,questions (questions separated by |). Articles added or
changed are embedded at once, so every process answers with them within
KB_REFRESH_SECONDS.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from dataclasses import replace
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from actions.db.engine import database_url, safe_url, session_scope
from actions.kb import store
from actions.kb.articles import (
    ArticleData,
    ArticleFileError,
    checked,
    problems,
    read_csv,
    read_markdown_folder,
    write_csv,
    write_markdown,
)
from actions.kb.evaluation import (
    THRESHOLDS,
    calibrate,
    figures,
    rank_all,
    read_labelled_file,
)
from actions.kb.knowledge import (
    CALIBRATION_SETS,
    CHINESE,
    LANGUAGES,
    KnowledgeBase,
    embed_if_missing,
)
from actions.kb.retrieval import MODES

# The environment variables of each language's rule (settings/action_server.py).
RULE_VARIABLES = {
    language: tuple(
        f"KB_{prefix}{name}"
        for name in ("ANSWER_THRESHOLD", "NOT_COVERED_MARGIN", "RUNNER_UP_LEAD")
    )
    for language, prefix in (("en", ""), (CHINESE, "ZH_"))
}


def _report(found: list[str]) -> int:
    for problem in found:
        print(problem)
    print(f"{len(found)} problem(s)")
    return 1 if found else 0


def _read(path: Path) -> list:
    if path.suffix.lower() == ".csv":
        return read_csv(path.read_text(encoding="utf-8"), path.name)
    return read_markdown_folder(path)


def main(argv: list[str] | None = None) -> int:
    """Run one command; a database problem is one line, not a traceback."""
    try:
        return _run(argv)
    except DBAPIError as error:
        reason = str(error.orig).strip().splitlines()[0]
        print(
            f"error: database {safe_url(database_url())} failed: {reason} "
            "(make seed creates the schema)",
            file=sys.stderr,
        )
        return 1


def _run(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="python -m actions.kb", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="active articles: slug and title")
    for name in ("show", "deactivate"):
        commands.add_parser(name).add_argument("slug")
    for name in ("import", "export"):
        commands.add_parser(name).add_argument("path", type=Path)
    commands.add_parser(
        "validate", help="the stored articles, or PATH's: empty, duplicate, competing"
    ).add_argument("path", type=Path, nargs="?")
    add = commands.add_parser("add", help="a new article")
    edit = commands.add_parser("edit", help="change an article's fields")
    edit.add_argument("slug")
    for command, required in ((add, True), (edit, False)):
        command.add_argument("--title", required=required)
        command.add_argument("--answer", required=required)
        command.add_argument(
            "--question", action="append", required=required,
            help="an example question; repeat it (edit: replaces them all)",
        )  # fmt: skip
        command.add_argument("--tag", action="append", help="repeat for several")
        command.add_argument("--language")
    search = commands.add_parser("search", help="the ranking for a question, scored")
    search.add_argument("question")
    search.add_argument("--mode", choices=MODES, default="hybrid")
    search.add_argument("-k", type=int, default=5)
    calibrate_ = commands.add_parser(
        "calibrate",
        help="the answer rule measured on a labelled CSV (default: the language's "
        "data/kb_calibration*.csv)",
    )
    calibrate_.add_argument("path", type=Path, nargs="?")
    for command in (search, calibrate_):
        command.add_argument(
            "--language", choices=LANGUAGES, default="en",
            help="answer from the articles in this language (default en)",
        )  # fmt: skip
    args = parser.parse_args(argv)
    actor = f"cli:{getpass.getuser()}"

    if args.command == "validate" and args.path is not None:
        try:
            return _report(problems(_read(args.path)))
        except (ArticleFileError, OSError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    if args.command == "import":
        try:
            articles = _read(args.path)
        except (ArticleFileError, OSError) as error:
            print(f"error: {error}; nothing was imported", file=sys.stderr)
            return 2
        with session_scope() as session:
            summary = store.save_articles(session, articles, actor)
            embed_if_missing(session)
        print(
            f"imported {args.path}: {summary.added} added, {summary.changed} changed, "
            f"{summary.unchanged} unchanged"
        )
        return 0
    if args.command in ("add", "edit"):
        return _add_or_edit(args, actor)
    if args.command == "search":
        return _search(args)
    if args.command == "calibrate":
        return _calibrate(args.path or CALIBRATION_SETS[args.language], args.language)
    with session_scope() as session:
        if args.command == "list":
            for article in store.articles(session):
                print(f"{article.slug}\t{article.title}")
        elif args.command == "show":
            article = store.find(session, args.slug)
            if article is None:
                print(f"error: no article {args.slug}", file=sys.stderr)
                return 1
            print(write_markdown(store.as_data(article)), end="")
        elif args.command == "deactivate":
            if not store.deactivate(session, args.slug, actor):
                print(f"error: no article {args.slug}", file=sys.stderr)
                return 1
            print(f"{args.slug}: deactivated")
        elif args.command == "validate":
            return _report(
                problems([store.as_data(a) for a in store.articles(session)])
            )
        elif args.command == "export":
            data = [store.as_data(a) for a in store.articles(session)]
            if args.path.suffix.lower() == ".csv":
                args.path.write_text(write_csv(data), encoding="utf-8")
            else:
                args.path.mkdir(parents=True, exist_ok=True)
                for article in data:
                    (args.path / f"{article.slug}.md").write_text(
                        write_markdown(article), encoding="utf-8"
                    )
            print(f"exported {len(data)} articles to {args.path}")
    return 0


def _add_or_edit(args: argparse.Namespace, actor: str) -> int:
    with session_scope() as session:
        if args.command == "add":
            current = None
        else:
            stored = store.find(session, args.slug)
            if stored is None:
                print(f"error: no article {args.slug}", file=sys.stderr)
                return 1
            current = store.as_data(stored)
        try:
            article = checked(
                ArticleData(
                    title=args.title or current.title,
                    answer=args.answer or current.answer,
                    questions=tuple(args.question or current.questions),
                    tags=tuple(args.tag) if args.tag else None,
                    language=args.language,
                    slug=current.slug if current else "",
                ),
                "the article",
            )
        except ArticleFileError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        clash = store.same_slug_or_title(session, article)
        if clash is not None and (current is None or clash.slug != current.slug):
            print(f"error: an article {clash.slug} exists: edit it", file=sys.stderr)
            return 1
        summary = store.save_articles(session, [article], actor)
        embed_if_missing(session)
    done = "added" if summary.added else "changed" if summary.changed else "unchanged"
    print(f"{article.slug}: {done}")
    return 0


def _search(args: argparse.Namespace) -> int:
    knowledge = KnowledgeBase.from_settings(args.language)
    hits = knowledge.search(args.question, k=args.k, mode=args.mode)
    print(f"{'score':>6} {'dense':>6} {'lexical':>7}  article")
    for hit in hits:
        print(f"{hit.score:6.3f} {hit.dense:6.3f} {hit.lexical:7.3f}  {hit.slug}")
    if hits:
        print(f"nearest not-covered question: {hits[0].not_covered:.3f} (cosine)")
    decision = knowledge.decide(args.question)
    verdict = "answer" if decision.answered else "decline"
    rule = knowledge.rule
    print(
        f"decision (hybrid threshold {rule.threshold}, not-covered margin "
        f"{rule.margin}, lead over the runner-up {rule.lead}): {verdict}"
    )
    return 0


def _calibrate(path: Path, language: str) -> int:
    try:
        questions = read_labelled_file(path)
    except (OSError, KeyError) as error:
        print(f"error: {path}: {error}", file=sys.stderr)
        return 2
    knowledge = KnowledgeBase.from_settings(language)
    index = knowledge.index()
    slug_of_title = {entry.title: entry.slug for entry in index.entries}
    try:
        ranked = rank_all(questions, slug_of_title, lambda q: knowledge.search(q, k=3))
    except ValueError as error:
        print(f"error: {path}: {error}", file=sys.stderr)
        return 2
    chosen = calibrate(ranked)
    rule = chosen.rule
    print(
        f"threshold  answered  precision  declined  wrong  (margin {rule.margin}, "
        f"lead {rule.lead})"
    )
    for threshold in THRESHOLDS[::5]:
        f = figures(ranked, replace(rule, threshold=threshold))
        print(
            f"{threshold:9.2f}  {f.answer_rate:8.2f}  {f.precision:9.2f}  "
            f"{f.declined:8.2f}  {f.wrong:5.2f}"
        )
    threshold, margin, lead = RULE_VARIABLES[language]
    print(
        f"{threshold}={rule.threshold} {margin}={rule.margin} "
        f"{lead}={rule.lead} (answers {chosen.answer_rate:.2f} "
        f"of answerable questions at precision {chosen.precision:.2f}, declines "
        f"{chosen.declined:.2f} of the others; targets met: {chosen.meets_targets()})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
