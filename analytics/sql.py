"""The tracker store's ``events`` table, and the SQL that reads inside its JSON.

Rasa's ``SQLTrackerStore`` keeps one row per event: ``type_name``, ``timestamp``
(Unix seconds, a float), ``intent_name`` and ``action_name`` as columns, and the
whole event as JSON text in ``data``. A sentiment, a channel or a slot's value
is only in ``data``; SQLite and PostgreSQL read JSON with different syntax, so
the two expressions below compile to each dialect's own. Everything else in
``analytics/`` is written once, in SQLAlchemy Core, for both.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

metadata = sa.MetaData()

# Rasa's table (rasa/core/tracker_store.py, SQLTrackerStore.SQLEvent), as it is.
events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False),
    sa.Column("type_name", sa.String(255), nullable=False),
    sa.Column("timestamp", sa.Float),
    sa.Column("intent_name", sa.String(255)),
    sa.Column("action_name", sa.String(255)),
    sa.Column("data", sa.Text),
)

# The page's queries select events by time; Rasa indexes only sender_id.
TIMESTAMP_INDEX = sa.Index("ix_events_timestamp", events.c.timestamp)

HOUR_S = 3600
DAY_S = 86400


def ensure_indexes(engine: sa.engine.Engine) -> None:
    """Add the index the analytics need to the tracker store (idempotent)."""
    with engine.begin() as connection:
        if sa.inspect(connection).has_table("events"):
            TIMESTAMP_INDEX.create(connection, checkfirst=True)


class json_text(FunctionElement):
    """``data``'s value at a fixed path, as text (NULL where absent).

    The path is part of the code (names such as ``parse_data``), never input,
    so it is written into the SQL as a literal.
    """

    type = sa.String()
    inherit_cache = True

    def __init__(self, column: ColumnElement, *path: str) -> None:
        self.path = path
        super().__init__(column)


@compiles(json_text, "sqlite")
def _json_text_sqlite(element: json_text, compiler, **kw) -> str:
    path = "$." + ".".join(element.path)
    return f"json_extract({compiler.process(element.clauses, **kw)}, '{path}')"


@compiles(json_text, "postgresql")
def _json_text_postgresql(element: json_text, compiler, **kw) -> str:
    path = "{" + ",".join(element.path) + "}"
    return f"(CAST({compiler.process(element.clauses, **kw)} AS JSON) #>> '{path}')"


class whole_seconds(FunctionElement):
    """A Unix timestamp (float) rounded down to whole seconds, as an integer.

    Integer division of it gives hour and day buckets in UTC in both dialects.
    """

    type = sa.BigInteger()
    inherit_cache = True


@compiles(whole_seconds, "sqlite")
def _whole_seconds_sqlite(element: whole_seconds, compiler, **kw) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS INTEGER)"


@compiles(whole_seconds, "postgresql")
def _whole_seconds_postgresql(element: whole_seconds, compiler, **kw) -> str:
    return f"CAST(FLOOR({compiler.process(element.clauses, **kw)}) AS BIGINT)"


def bucket(timestamp: ColumnElement, seconds: int) -> ColumnElement:
    """The start (Unix seconds) of the UTC hour or day ``timestamp`` falls in."""
    return (whole_seconds(timestamp) / seconds) * seconds


def share(part: ColumnElement, whole: ColumnElement) -> ColumnElement:
    """``part / whole`` as a float, NULL when ``whole`` is 0."""
    return sa.cast(part, sa.Float) / sa.func.nullif(whole, 0)
