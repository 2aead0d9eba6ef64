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
from datetime import datetime, timezone
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from analytics import unanswered
from analytics.alerts import DetectorSettings, day_curve, expected_delays
from analytics.figures import DEFINITIONS, HOUR_FORMAT, Figures, Table
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
    the day, on average, and the hours the overall alert would take to see it."""
    hourly = figures.tables["sentiment_hourly"]
    curve = day_curve(
        (
            (datetime.strptime(hour, HOUR_FORMAT).replace(tzinfo=timezone.utc), n)
            for hour, n in zip(hourly.column("start"), hourly.column("messages"))
        ),
        figures.period.start,
        figures.period.end,
    )
    share = figures.summary.get("negative_share") or 0.0
    delays = expected_delays(curve, share, DetectorSettings.from_file())
    return Table(
        "alert_reach",
        ("surge starts (UTC)", "messages per hour", "hours to alert"),
        [
            (f"{h:02d}:00", round(curve[h], 1), None if d is None else round(d, 1))
            for h, d in enumerate(delays)
        ],
    )


def alert_reach_sentence(reach: Table) -> str:
    known = [(delay, hour) for hour, _, delay in reach.rows if delay is not None]
    if not known:
        return (
            "This period has too few customer messages for the surge alert to "
            "see a rise within a week."
        )
    fastest, slowest = min(known), max(known)
    return (
        f"At this period's volume, a surge in all messages that began at "
        f"{fastest[1]} UTC would be seen about {fastest[0]:.1f} h later, one that "
        f"began at {slowest[1]} UTC about {slowest[0]:.1f} h later (a surge in "
        f"one intent's messages takes longer)."
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
