"""How the assistant is doing over a period, computed in SQL.

Two databases hold the picture: the tracker store (every message, reply and
action, in Rasa's ``events`` table) and the assistant's own database (tickets,
ratings, help-center answers and votes). They may be one database or two (the
default SQLite files are two), so each query runs where its tables are; the
only thing carried from one to the other is the list of confirmations (good
ratings and helpful votes), into a temporary table. Python receives only
aggregates, never the conversations.

A conversation is a Rasa session: the events of one sender between two
``action_session_start`` actions (a new session starts after an hour of
silence). It belongs to the period in which its first customer message falls.
Each figure's definition, in one sentence, is in :data:`DEFINITIONS`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.expression import ClauseElement

from actions.db.models import CsatRating, KbAnswer, SupportTicket
from analytics.sql import DAY_S, HOUR_S, bucket, events, json_text, share

# Intents that mean the customer did not get what they came for.
UNRESOLVED_INTENTS = ("nlu_fallback", "request_human", "out_of_scope", "complain")
FALLBACK_INTENT = "nlu_fallback"
THANK_INTENT = "thank"
HANDOFF_ACTION = "action_handoff"
ASK_RATING = "utter_ask_rating"
SESSION_START = "action_session_start"
NEGATIVE = "negative"
CALL_BACK_WINDOW_S = DAY_S
TOP_INTENTS = 8
# A rating or vote is stored a moment after its message: the slack for matching
# it to its conversation.
CONFIRMATION_SLACK_S = 60

HOUR_FORMAT = "%Y-%m-%d %H:00"  # how the hourly tables write an hour (UTC)
DEFINITIONS = {
    "conversations": "Rasa sessions with at least one customer message that "
    "started in the period (a session ends after an hour of silence).",
    "customer_messages": "Messages customers sent in those conversations.",
    "containment": "Share of conversations with no handoff to a person and no "
    "new conversation from the same customer within 24 hours after it ended.",
    "resolution_confirmed": "Share of conversations the customer confirmed: a "
    "rating of 4-5, a help-center answer voted helpful, or a thank-you, with no "
    "handoff.",
    "resolution_assumed": "Share of conversations not confirmed, not handed "
    "over and not rated 1-2, whose last customer message was understood and "
    "answered: the customer left without asking for more.",
    "handoff_rate": "Share of conversations handed over to a person, by the "
    "reason on the ticket.",
    "fallback_rate": "Share of customer messages the assistant did not "
    "understand (intent nlu_fallback).",
    "kb_answer_rate": "Share of help-center questions answered with an "
    "article rather than declined.",
    "kb_helpful_share": "Share of votes on help-center answers that said the "
    "answer helped.",
    "csat_score": "Share of ratings that were 4 or 5.",
    "csat_response_rate": "Ratings given per rating asked for.",
    "negative_share": "Share of customer messages whose sentiment was negative.",
    "reply_time": "Seconds from a customer message to the assistant's first "
    "reply to it, median and 95th percentile.",
    "top_intents": "What customers asked for, by message count.",
    "alert_reach": "How many hours the surge alert is expected to take to see "
    "the share of negative messages rise by its shift (analytics/alerts.yml), "
    "for a rise that began at each hour of the day, at this period's messages "
    "per hour: the fewer messages, the longer it takes to tell a rise from "
    "chance.",
    "unanswered": "Questions the assistant could not answer (not understood, "
    "out of scope or declined by the help center), grouped by similarity, "
    "personal data masked.",
}


@dataclass(frozen=True)
class Period:
    """A half-open UTC interval [start, end)."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        for moment in (self.start, self.end):
            if moment.tzinfo is None:
                raise ValueError("a period's start and end must be timezone-aware")
        if self.end <= self.start:
            raise ValueError("a period must end after it starts")

    @classmethod
    def last_days(cls, days: int, now: datetime | None = None) -> Period:
        end = (now or datetime.now(timezone.utc)).replace(microsecond=0)
        return cls(end - timedelta(days=days), end)

    @property
    def first_s(self) -> float:
        return self.start.timestamp()

    @property
    def end_s(self) -> float:
        return self.end.timestamp()


@dataclass
class Table:
    """One table of the page: what its CSV download holds."""

    name: str
    columns: Sequence[str]
    rows: list[tuple[Any, ...]]

    def column(self, name: str) -> list[Any]:
        index = list(self.columns).index(name)
        return [row[index] for row in self.rows]

    def column_pairs(self, key: str, value: str) -> list[tuple[Any, Any]]:
        return list(zip(self.column(key), self.column(value)))


@dataclass
class Figures:
    period: Period
    summary: dict[str, float | int | None]
    tables: dict[str, Table] = field(default_factory=dict)
    unanswered_texts: list[tuple[str, int]] = field(default_factory=list)


def compute(tracker: Engine, business: Engine, period: Period) -> Figures:
    """Every figure of the page for ``period``."""
    with business.connect() as connection:
        confirmations = _confirmations(connection, period)
        business_summary, business_tables = _business_figures(connection, period)
        declined = _declined_questions(connection, period)
    with tracker.connect() as connection:
        summary, tables, unanswered = _tracker_figures(
            connection, period, confirmations
        )
    summary.update(business_summary)
    conversations = summary["conversations"] or 0
    handoffs = business_tables["handoffs"]
    business_tables["handoffs"] = Table(
        "handoffs",
        ("reason", "tickets", "share_of_conversations"),
        [
            (reason, count, count / conversations if conversations else None)
            for reason, count in handoffs.rows
        ],
    )
    tables.update(business_tables)
    asked = summary.pop("csat_asked")
    summary["csat_response_rate"] = (
        min(1.0, summary["csat_ratings"] / asked) if asked else None
    )
    return Figures(period, summary, tables, _merge_counts(unanswered + declined))


# -- the tracker store ------------------------------------------------------


def _tagged(period: Period) -> sa.sql.Select:
    """The events the figures read, each with its conversation (session) number.

    Events until 24 hours after the period are included: containment looks for
    a customer's next conversation.
    """
    session_start = sa.case(
        (
            sa.and_(
                events.c.type_name == "action", events.c.action_name == SESSION_START
            ),
            1,
        ),
        else_=0,
    )
    is_user = events.c.type_name == "user"
    return sa.select(
        events.c.id,
        events.c.sender_id,
        sa.func.sum(session_start)
        .over(partition_by=events.c.sender_id, order_by=events.c.id)
        .label("session"),
        events.c.timestamp.label("ts"),
        events.c.type_name,
        events.c.intent_name,
        events.c.action_name,
        sa.case(
            (is_user, json_text(events.c.data, "parse_data", "sentiment", "label"))
        ).label("sentiment"),
        sa.case((is_user, json_text(events.c.data, "input_channel"))).label("channel"),
        # A text match, not a JSON parse, on every reply: only one response
        # is counted (the rating question).
        sa.case(
            (
                sa.and_(
                    events.c.type_name == "bot",
                    events.c.data.like(f'%"utter_action": "{ASK_RATING}"%'),
                ),
                1,
            ),
            else_=0,
        ).label("asked_rating"),
    ).where(
        events.c.timestamp >= period.first_s,
        events.c.timestamp < period.end_s + CALL_BACK_WINDOW_S,
        events.c.type_name.in_(("user", "bot", "action")),
    )


def _tracker_figures(
    connection: Connection, period: Period, confirmations: list[tuple[str, float]]
) -> tuple[dict, dict[str, Table], list[tuple[str, int]]]:
    """The figures from the events: three passes materialized as temporary
    tables (the events, one row per conversation, its outcome), then small
    aggregates over them. Joins, not correlated subqueries: each step is one
    hash join or one window over rows sorted once, at any volume."""
    if connection.dialect.name == "postgresql":
        # Sorts and hashes of a month of events fit in memory, not on disk.
        connection.execute(sa.text("SET LOCAL work_mem = '64MB'"))
    confirmed = _temporary_confirmations(connection, confirmations)
    tagged = materialize(connection, "analytics_tagged", _tagged(period))
    user = tagged.c.type_name == "user"
    in_period = sa.and_(tagged.c.ts >= period.first_s, tagged.c.ts < period.end_s)

    def flag(condition) -> sa.sql.ColumnElement:
        return sa.func.max(sa.case((condition, 1), else_=0))

    first_ts = sa.func.min(sa.case((user, tagged.c.ts)))
    messages_in = sa.func.sum(sa.case((user, 1), else_=0))
    conversation = materialize(
        connection,
        "analytics_conversations",
        sa.select(
            tagged.c.sender_id,
            tagged.c.session,
            first_ts.label("first_ts"),
            sa.func.max(tagged.c.ts).label("last_ts"),
            # The same customer's next conversation, for containment.
            sa.func.lead(first_ts)
            .over(partition_by=tagged.c.sender_id, order_by=tagged.c.session)
            .label("next_ts"),
            sa.func.min(sa.case((user, sa.func.coalesce(tagged.c.channel, "")))).label(
                "channel"
            ),
            sa.func.max(sa.case((user, tagged.c.id))).label("last_user_id"),
            flag(tagged.c.action_name == HANDOFF_ACTION).label("handed_off"),
            flag(tagged.c.intent_name == THANK_INTENT).label("thanked"),
            messages_in.label("messages"),
        )
        .group_by(tagged.c.sender_id, tagged.c.session)
        .having(messages_in > 0),
    )
    c = conversation.c
    ratings = (
        sa.select(
            c.sender_id,
            c.session,
            sa.func.max(sa.case((confirmed.c.good == 1, 1), else_=0)).label("good"),
            sa.func.max(sa.case((confirmed.c.good == 0, 1), else_=0)).label("bad"),
        )
        .join_from(
            conversation,
            confirmed,
            sa.and_(
                confirmed.c.sender_id == c.sender_id,
                confirmed.c.ts >= c.first_ts,
                confirmed.c.ts <= c.last_ts + CONFIRMATION_SLACK_S,
            ),
        )
        .group_by(c.sender_id, c.session)
        .subquery("ratings")
    )
    last_user = tagged.alias("last_user")
    answered_last = sa.and_(
        last_user.c.intent_name.is_not(None),
        last_user.c.intent_name.not_in(UNRESOLVED_INTENTS),
    )
    handed_off = c.handed_off == 1
    called_back = sa.and_(
        c.next_ts.is_not(None), c.next_ts <= c.last_ts + CALL_BACK_WINDOW_S
    )
    good = sa.func.coalesce(ratings.c.good, 0) == 1
    bad = sa.func.coalesce(ratings.c.bad, 0) == 1
    is_confirmed = sa.and_(sa.not_(handed_off), sa.or_(good, c.thanked == 1))
    per_conversation = materialize(
        connection,
        "analytics_outcomes",
        sa.select(
            c.first_ts,
            c.channel,
            c.messages,
            sa.case(
                (sa.and_(sa.not_(handed_off), sa.not_(called_back)), 1), else_=0
            ).label("contained"),
            sa.case((is_confirmed, 1), else_=0).label("confirmed"),
            sa.case(
                (
                    sa.and_(
                        sa.not_(is_confirmed),
                        sa.not_(handed_off),
                        sa.not_(bad),
                        answered_last,
                    ),
                    1,
                ),
                else_=0,
            ).label("assumed"),
        )
        .select_from(conversation)
        .join(last_user, last_user.c.id == c.last_user_id)
        .outerjoin(
            ratings,
            sa.and_(ratings.c.sender_id == c.sender_id, ratings.c.session == c.session),
        )
        .where(c.first_ts >= period.first_s, c.first_ts < period.end_s),
    )

    totals = connection.execute(
        sa.select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(per_conversation.c.messages), 0),
            share(sa.func.sum(per_conversation.c.contained), sa.func.count()),
            share(sa.func.sum(per_conversation.c.confirmed), sa.func.count()),
            share(sa.func.sum(per_conversation.c.assumed), sa.func.count()),
        )
    ).one()
    summary: dict[str, Any] = {
        "conversations": totals[0],
        "customer_messages": totals[1],
        "containment": totals[2],
        "resolution_confirmed": totals[3],
        "resolution_assumed": totals[4],
    }

    day = bucket(per_conversation.c.first_ts, DAY_S).label("day")
    daily = connection.execute(
        sa.select(
            day,
            per_conversation.c.channel,
            sa.func.count(),
            sa.func.sum(per_conversation.c.messages),
        )
        .group_by(day, per_conversation.c.channel)
        .order_by(day, per_conversation.c.channel)
    ).all()

    messages = sa.select(tagged).where(user, in_period).subquery("messages")
    negative = sa.case((messages.c.sentiment == NEGATIVE, 1), else_=0)
    row = connection.execute(
        sa.select(
            share(
                sa.func.sum(
                    sa.case((messages.c.intent_name == FALLBACK_INTENT, 1), else_=0)
                ),
                sa.func.count(),
            ),
            share(sa.func.sum(negative), sa.func.count(messages.c.sentiment)),
        )
    ).one()
    summary["fallback_rate"], summary["negative_share"] = row

    tables = {
        "daily": Table(
            "daily",
            ("day", "channel", "conversations", "customer_messages"),
            [(_day(d), c or "unknown", n, m) for d, c, n, m in daily],
        ),
        **_sentiment_tables(connection, messages, negative),
        **_intent_tables(connection, messages),
    }
    summary["csat_asked"] = connection.execute(
        sa.select(sa.func.count()).where(tagged.c.asked_rating == 1, in_period)
    ).scalar_one()
    summary["reply_time_p50"], summary["reply_time_p95"] = _reply_times(
        connection, tagged, period
    )
    unanswered = connection.execute(
        sa.select(json_text(events.c.data, "text"), sa.func.count())
        .where(
            events.c.type_name == "user",
            events.c.timestamp >= period.first_s,
            events.c.timestamp < period.end_s,
            events.c.intent_name.in_(("nlu_fallback", "out_of_scope")),
        )
        .group_by(json_text(events.c.data, "text"))
    ).all()
    return summary, tables, [(text, count) for text, count in unanswered if text]


def _sentiment_tables(connection, messages, negative) -> dict[str, Table]:
    tables = {}
    for name, seconds in (("sentiment_hourly", HOUR_S), ("sentiment_daily", DAY_S)):
        start = bucket(messages.c.ts, seconds).label("start")
        rows = connection.execute(
            sa.select(
                start,
                sa.func.count(messages.c.sentiment),
                sa.func.sum(negative),
                share(sa.func.sum(negative), sa.func.count(messages.c.sentiment)),
            )
            .group_by(start)
            .order_by(start)
        ).all()
        tables[name] = Table(
            name,
            ("start", "messages", "negative", "negative_share"),
            [(_moment(s), n, neg, sh) for s, n, neg, sh in rows],
        )
    rows = connection.execute(
        sa.select(
            messages.c.intent_name,
            sa.func.count(messages.c.sentiment),
            share(sa.func.sum(negative), sa.func.count(messages.c.sentiment)),
        )
        .group_by(messages.c.intent_name)
        .order_by(sa.func.count(messages.c.sentiment).desc(), messages.c.intent_name)
    ).all()
    tables["sentiment_by_intent"] = Table(
        "sentiment_by_intent",
        ("intent", "messages", "negative_share"),
        [(i or "unknown", n, s) for i, n, s in rows],
    )
    return tables


def _intent_tables(connection, messages) -> dict[str, Table]:
    total = sa.func.count()
    rows = connection.execute(
        sa.select(messages.c.intent_name, total)
        .group_by(messages.c.intent_name)
        .order_by(total.desc(), messages.c.intent_name)
    ).all()
    all_messages = sum(count for _, count in rows)
    top = [intent for intent, _ in rows[:TOP_INTENTS]]
    day = bucket(messages.c.ts, DAY_S).label("day")
    trend = connection.execute(
        sa.select(day, messages.c.intent_name, sa.func.count())
        .where(messages.c.intent_name.in_(top))
        .group_by(day, messages.c.intent_name)
        .order_by(day, messages.c.intent_name)
    ).all()
    return {
        "top_intents": Table(
            "top_intents",
            ("intent", "messages", "share"),
            [(i or "unknown", n, n / all_messages) for i, n in rows],
        ),
        "intent_trend": Table(
            "intent_trend",
            ("day", "intent", "messages"),
            [(_day(d), i, n) for d, i, n in trend],
        ),
    }


def _reply_times(
    connection: Connection, tagged: sa.Table, period: Period
) -> tuple[float | None, ...]:
    """Median and 95th percentile of the delay before the first reply.

    ``LEAD`` pairs each customer message with the sender's next message or
    reply; percentiles are read by position in the sorted delays (SQLite has no
    percentile function).
    """
    talk = tagged.c.type_name.in_(("user", "bot"))
    ordered = (
        sa.select(
            tagged.c.type_name,
            tagged.c.ts,
            sa.func.lead(tagged.c.type_name)
            .over(partition_by=tagged.c.sender_id, order_by=tagged.c.id)
            .label("next_type"),
            sa.func.lead(tagged.c.ts)
            .over(partition_by=tagged.c.sender_id, order_by=tagged.c.id)
            .label("next_ts"),
        )
        .where(talk, tagged.c.ts < period.end_s + HOUR_S)
        .subquery()
    )
    delays = materialize(
        connection,
        "analytics_delays",
        sa.select((ordered.c.next_ts - ordered.c.ts).label("delay")).where(
            ordered.c.type_name == "user",
            ordered.c.next_type == "bot",
            ordered.c.ts < period.end_s,
        ),
    )
    count = connection.execute(sa.select(sa.func.count()).select_from(delays)).scalar()
    if not count:
        return None, None
    return tuple(
        connection.execute(
            sa.select(delays.c.delay)
            .order_by(delays.c.delay)
            .limit(1)
            .offset(min(count - 1, int(q * count)))
        ).scalar()
        for q in (0.5, 0.95)
    )


class _CreateTemporaryTableAs(Executable, ClauseElement):
    inherit_cache = False

    def __init__(self, name: str, query: sa.sql.Select) -> None:
        self.name, self.query = name, query


@compiles(_CreateTemporaryTableAs)
def _create_temporary_table_as(element, compiler, **kw) -> str:
    query = compiler.process(element.query, **kw)
    return f"CREATE TEMPORARY TABLE {element.name} AS {query}"


def materialize(connection: Connection, name: str, query: sa.sql.Select) -> sa.Table:
    """``query``'s rows as temporary table ``name`` (dropped with the
    connection's transaction), computed once for the queries that follow."""
    connection.execute(sa.text(f"DROP TABLE IF EXISTS {name}"))
    connection.execute(_CreateTemporaryTableAs(name, query))
    return sa.Table(
        name,
        sa.MetaData(),
        *(sa.Column(column.name, column.type) for column in query.selected_columns),
    )


def _temporary_confirmations(
    connection: Connection, confirmations: list[tuple[str, float, int]]
) -> sa.Table:
    """The ratings and votes, as a temporary table beside the events."""
    table = sa.Table(
        "analytics_confirmations",
        sa.MetaData(),
        sa.Column("sender_id", sa.String(255)),
        sa.Column("ts", sa.Float),
        sa.Column("good", sa.Integer),
        prefixes=["TEMPORARY"],
    )
    table.drop(connection, checkfirst=True)
    table.create(connection)
    if confirmations:
        connection.execute(
            table.insert(),
            [{"sender_id": s, "ts": t, "good": g} for s, t, g in confirmations],
        )
    return table


# -- the assistant's database ----------------------------------------------


def _between(column, period: Period, extra: timedelta = timedelta()):
    return sa.and_(column >= period.start, column < period.end + extra)


def _confirmations(connection: Connection, period: Period) -> list[tuple]:
    """(conversation, Unix time, 1 good / 0 bad) for each rating and vote."""
    ratings = sa.select(
        CsatRating.conversation_id,
        CsatRating.created_at,
        sa.case((CsatRating.rating >= 4, 1), (CsatRating.rating <= 2, 0)),
    ).where(_between(CsatRating.created_at, period, timedelta(days=1)))
    votes = sa.select(KbAnswer.conversation_id, KbAnswer.voted_at, 1).where(
        KbAnswer.helpful.is_(True),
        _between(KbAnswer.voted_at, period, timedelta(days=1)),
    )
    rows = [*connection.execute(ratings), *connection.execute(votes)]
    return [
        (conversation, _utc(at).timestamp(), good)
        for conversation, at, good in rows
        if good is not None
    ]


def _business_figures(
    connection: Connection, period: Period
) -> tuple[dict, dict[str, Table]]:
    handoffs = connection.execute(
        sa.select(SupportTicket.reason, sa.func.count())
        .where(_between(SupportTicket.created_at, period))
        .group_by(SupportTicket.reason)
        .order_by(sa.func.count().desc(), SupportTicket.reason)
    ).all()
    ratings = dict(
        connection.execute(
            sa.select(CsatRating.rating, sa.func.count())
            .where(_between(CsatRating.created_at, period))
            .group_by(CsatRating.rating)
        ).all()
    )
    kb = connection.execute(
        sa.select(
            sa.func.count(),
            sa.func.sum(sa.case((KbAnswer.answered.is_(True), 1), else_=0)),
            sa.func.count(KbAnswer.helpful),
            sa.func.sum(sa.case((KbAnswer.helpful.is_(True), 1), else_=0)),
        ).where(_between(KbAnswer.created_at, period))
    ).one()
    rated = sum(ratings.values())
    summary = {
        "handoffs": sum(count for _, count in handoffs),
        "csat_ratings": rated,
        "csat_score": (ratings.get(4, 0) + ratings.get(5, 0)) / rated
        if rated
        else None,
        "kb_questions": kb[0],
        "kb_answer_rate": (kb[1] or 0) / kb[0] if kb[0] else None,
        "kb_votes": kb[2],
        "kb_helpful_share": (kb[3] or 0) / kb[2] if kb[2] else None,
    }
    tables = {
        "handoffs": Table(
            "handoffs", ("reason", "tickets"), [tuple(r) for r in handoffs]
        ),
        "csat": Table(
            "csat",
            ("rating", "count", "share"),
            [
                (r, ratings.get(r, 0), ratings.get(r, 0) / rated if rated else None)
                for r in range(1, 6)
            ],
        ),
    }
    return summary, tables


def _declined_questions(connection: Connection, period: Period) -> list[tuple]:
    rows = connection.execute(
        sa.select(KbAnswer.question, sa.func.count())
        .where(
            _between(KbAnswer.created_at, period),
            sa.or_(KbAnswer.answered.is_(False), KbAnswer.helpful.is_(False)),
        )
        .group_by(KbAnswer.question)
    ).all()
    return [(question, count) for question, count in rows]


# -- small helpers ----------------------------------------------------------


def _merge_counts(pairs: list[tuple[str, int]]) -> list[tuple[str, int]]:
    merged: dict[str, int] = {}
    for text, count in pairs:
        merged[text] = merged.get(text, 0) + count
    return sorted(merged.items(), key=lambda pair: (-pair[1], pair[0]))


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _day(seconds: int) -> str:
    return datetime.fromtimestamp(int(seconds), timezone.utc).date().isoformat()


def _moment(seconds: int) -> str:
    return datetime.fromtimestamp(int(seconds), timezone.utc).strftime(HOUR_FORMAT)
