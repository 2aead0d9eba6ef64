"""Alembic environment: migrates the database that actions.db.engine points at.

The URL comes from ``database_url()`` ($DATABASE_URL or the embedded SQLite
file) unless a caller passes one in ``config.attributes["database_url"]``.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context

from actions.db.engine import database_url, make_engine
from actions.db.models import Base

config = context.config
if config.config_file_name is not None and config.attributes.get(
    "configure_logger", True
):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _url() -> str:
    return config.attributes.get("database_url") or database_url()


def run_migrations_offline() -> None:
    """Emit the migration SQL (``alembic upgrade head --sql``) for review or a DBA."""
    url = _url()
    context.configure(
        url=url,
        target_metadata=Base.metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Apply migrations; SQLite needs batch mode because it cannot ALTER most things."""
    engine = make_engine(_url())
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=connection.dialect.name == "sqlite",
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
