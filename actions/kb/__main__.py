"""python -m actions.kb: the help center's articles in the assistant's database.

  list | show SLUG | deactivate SLUG | import PATH | export PATH | validate [PATH]
PATH is a folder of Markdown files with front matter, or a .csv file with the
columns title,answer,questions (questions separated by |).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from actions.db.engine import database_url, safe_url, session_scope
from actions.kb import store
from actions.kb.articles import (
    ArticleFileError,
    problems,
    read_csv,
    read_markdown_folder,
    write_csv,
    write_markdown,
)


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
        print(
            f"imported {args.path}: {summary.added} added, {summary.changed} changed, "
            f"{summary.unchanged} unchanged"
        )
        return 0
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


if __name__ == "__main__":
    sys.exit(main())
