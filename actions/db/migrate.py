"""Schema migrations, driven through Alembic's API so they work from any directory."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from actions.db.engine import REPO_ROOT

ALEMBIC_INI = REPO_ROOT / "alembic.ini"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    """Alembic config for ``url`` (default: the configured database).

    Leaves logging alone, so callers (tests, the CLI) keep their own setup.
    """
    config = Config(str(ALEMBIC_INI))
    # alembic.ini's relative script_location assumes the repo root is the cwd.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.attributes["configure_logger"] = False
    if url is not None:
        config.attributes["database_url"] = url
    return config


def upgrade_head(url: str | None = None) -> None:
    """Bring the database schema up to the latest migration."""
    command.upgrade(alembic_config(url), "head")
