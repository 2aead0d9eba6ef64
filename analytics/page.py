"""The analytics page as one HTML document, and each of its tables as CSV.

The same document is served at ``/analytics`` (connectors/analytics_page.py)
and written by ``python -m analytics report`` (``make report``); the served one
adds the period picker and the CSV links, the written one is for printing and
sharing. Texts customers typed reach it only through
:func:`analytics.unanswered.group`, which masks personal data.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from analytics import unanswered
from analytics.alerts import DetectorSettings, expected_delays
from analytics.figures import DEFINITIONS, Figures, Table
from analytics.plots import all_plots

TEMPLATES = Path(__file__).with_name("templates")
_environment = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"])
)

# The summary cards: (figure, label, how it is written).
CARDS = (
    ("conversations", "Conversations", "count"),
    ("customer_messages", "Customer messages", "count"),
    ("containment", "Contained", "percent"),
    ("resolution_confirmed", "Resolved, confirmed", "percent"),
    ("resolution_assumed", "Resolved, assumed", "percent"),
    ("fallback_rate", "Not understood", "percent"),
    ("kb_answer_rate", "Help center answered", "percent"),
    ("kb_helpful_share", "Help center helpful", "percent"),
    ("csat_score", "CSAT (4-5)", "percent"),
    ("csat_response_rate", "CSAT response rate", "percent"),
    ("negative_share", "Negative messages", "percent"),
    ("reply_time_p50", "Reply time, median", "seconds"),
    ("reply_time_p95", "Reply time, 95th pct", "seconds"),
)
DEFINITION_OF_CARD = {
    "kb_answer_rate": "kb_answer_rate",
    "kb_helpful_share": "kb_helpful_share",
    "reply_time_p50": "reply_time",
    "reply_time_p95": "reply_time",
}


@dataclass(frozen=True)
class Card:
    name: str
    label: str
    value: str
    definition: str


def written(value: float | int | None, style: str) -> str:
    if value is None:
        return "–"
    if style == "percent":
        return f"{100 * value:.1f}%"
    if style == "seconds":
        return f"{value:.2f} s"
    return f"{value:,}"


def unanswered_table(figures: Figures) -> Table:
    groups = unanswered.group(figures.unanswered_texts)
    return Table(
        "unanswered",
        ("question", "messages", "similar wordings"),
        [(g.text, g.count, " | ".join(g.examples)) for g in groups],
    )


def alert_reach_table(figures: Figures) -> Table:
    """By the hour a surge would start: the period's messages in that hour of
    the day, on average, and the hours the alert would take to see it."""
    messages, hours_seen = [0] * 24, [0] * 24
    negative = 0
    for start, count, negatives, _ in figures.tables["sentiment_hourly"].rows:
        messages[datetime.strptime(start, "%Y-%m-%d %H:%M").hour] += count
        negative += negatives or 0
    hour = figures.period.start
    while hour < figures.period.end:
        hours_seen[hour.hour] += 1
        hour += timedelta(hours=1)
    per_hour = [m / seen if seen else 0.0 for m, seen in zip(messages, hours_seen)]
    share = negative / sum(messages) if sum(messages) else 0.0
    delays = expected_delays(per_hour, share, DetectorSettings.from_file())
    return Table(
        "alert_reach",
        ("surge starts (UTC)", "messages per hour", "hours to alert"),
        [
            (f"{h:02d}:00", round(per_hour[h], 1), None if d is None else round(d, 1))
            for h, d in enumerate(delays)
        ],
    )


def alert_reach_sentence(reach: Table) -> str:
    known = [(hour, delay) for hour, _, delay in reach.rows if delay is not None]
    if not known:
        return (
            "This period has too few customer messages for the surge alert to "
            "see a rise within a week."
        )
    (fast_hour, fast), (slow_hour, slow) = (
        min(known, key=lambda row: row[1]),
        max(known, key=lambda row: row[1]),
    )
    return (
        f"At this period's volume, a surge that began at {fast_hour} UTC would "
        f"be seen about {fast:.1f} h later, one that began at {slow_hour} UTC "
        f"about {slow:.1f} h later."
    )


def summary_table(figures: Figures) -> Table:
    return Table("summary", ("figure", "value"), list(figures.summary.items()))


def every_table(figures: Figures) -> dict[str, Table]:
    """What the page shows as tables, each downloadable as CSV, by name."""
    return {
        "summary": summary_table(figures),
        **figures.tables,
        "unanswered": unanswered_table(figures),
        "alert_reach": alert_reach_table(figures),
    }


def as_csv(table: Table) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(table.columns)
    writer.writerows(table.rows)
    return buffer.getvalue()


def render(
    figures: Figures,
    *,
    csv_link: str | None = None,
    picker: dict[str, str] | None = None,
    alerts: list | None = None,
) -> str:
    """The page. ``csv_link`` formats a table name into its CSV URL (served page
    only); ``picker`` holds the period form's values (served page only)."""
    cards = [
        Card(
            name,
            label,
            written(figures.summary.get(name), style),
            DEFINITIONS[DEFINITION_OF_CARD.get(name, name)],
        )
        for name, label, style in CARDS
    ]
    tables = every_table(figures)
    return _environment.get_template("page.html").render(
        period=figures.period,
        cards=cards,
        plots=all_plots(figures),
        tables=tables,
        definitions=DEFINITIONS,
        csv_link=csv_link,
        picker=picker,
        alerts=alerts or [],
        alert_reach=alert_reach_sentence(tables["alert_reach"]),
        percent=lambda v: written(v, "percent"),
    )
