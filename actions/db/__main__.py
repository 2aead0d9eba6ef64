"""Command line: ``python -m actions.db {migrate,seed,init}`` on $DATABASE_URL."""

from __future__ import annotations

import argparse
import sys

from sqlalchemy.exc import ArgumentError, DBAPIError

from actions.db.engine import database_url, make_engine, safe_url, session_scope
from actions.db.migrate import upgrade_head
from actions.db.seed import seed
from actions.kb.knowledge import embed_if_missing
from settings import SettingError


def _migrate(url: str) -> None:
    upgrade_head(url)
    print(f"migrated {safe_url(url)} to the latest schema")


def _seed(url: str) -> None:
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            summary = seed(session)
        with session_scope(engine) as session:
            embedded = embed_if_missing(session)
    finally:
        engine.dispose()
    print(
        f"seeded {safe_url(url)}: {summary.customers} customers, "
        f"{summary.accounts} accounts, {summary.orders} orders, "
        f"{summary.articles} help-center articles added"
        + (f"; {embedded} articles embedded" if embedded else "")
    )


def main(argv: list[str] | None = None) -> int:
    """Run one command; database problems end in a one-line error, not a traceback."""
    parser = argparse.ArgumentParser(
        prog="python -m actions.db",
        description="Manage the assistant database: $DATABASE_URL, "
        "default var/assistant.db.",
    )
    parser.add_argument(
        "command",
        choices=("migrate", "seed", "init"),
        help="migrate: upgrade schema to head; seed: insert demo data; init: both",
    )
    command = parser.parse_args(argv).command
    try:
        url = database_url()
    except SettingError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        if command in ("migrate", "init"):
            _migrate(url)
        if command in ("seed", "init"):
            _seed(url)
    except ArgumentError as error:
        print(f"error: invalid DATABASE_URL: {error}", file=sys.stderr)
        return 2
    except DBAPIError as error:
        reason = str(error.orig).strip().splitlines()[0]
        print(f"error: database {safe_url(url)} failed: {reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
