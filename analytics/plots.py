"""The page's plots, drawn by matplotlib as inline SVG.

SVG keeps the page one self-contained file (the static report is the same
page), prints sharply and needs no JavaScript. Figures are drawn with
matplotlib's object API, never ``pyplot``, whose global state is not safe in a
server answering two requests at once. Text stays text (``svg.fonttype``), so
the page is searchable and small.
"""

from __future__ import annotations

import io
import warnings
from collections import defaultdict

from analytics.figures import Figures, Table

# matplotlib's import calls pyparsing's old camelCase names, which the pyparsing
# resolved beside Rasa reports as deprecated; Sanic, once imported, shows every
# DeprecationWarning (sanic/app.py), so `make report` printed a screenful about
# matplotlib's own code. Quiet for the import only.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import matplotlib
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

matplotlib.rcParams["svg.fonttype"] = "none"
matplotlib.rcParams["font.size"] = 9
COLOURS = ("#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#d53f8c", "#718096")
WIDTH, HEIGHT = 6.4, 2.6


def _svg(figure: Figure) -> str:
    figure.tight_layout()
    buffer = io.StringIO()
    FigureCanvasSVG(figure).print_svg(buffer)
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]  # no XML prolog inside HTML


def _figure(height: float = HEIGHT) -> tuple[Figure, object]:
    figure = Figure(figsize=(WIDTH, height))
    axes = figure.add_subplot()
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    return figure, axes


def _empty(axes, message: str = "no data in this period") -> None:
    axes.text(0.5, 0.5, message, ha="center", va="center", color="#718096")
    axes.set_axis_off()


def conversations_per_day(table: Table) -> str:
    figure, axes = _figure()
    days = sorted(set(table.column("day")))
    channels = sorted(set(table.column("channel")))
    counts = {(d, c): n for d, c, n, _ in table.rows}
    bottom = [0] * len(days)
    for colour, channel in zip(COLOURS * 3, channels):
        heights = [counts.get((day, channel), 0) for day in days]
        axes.bar(days, heights, bottom=bottom, label=channel, color=colour)
        bottom = [b + h for b, h in zip(bottom, heights)]
    if not days:
        _empty(axes)
    else:
        axes.set_ylabel("conversations")
        axes.legend(frameon=False, fontsize=8)
        axes.tick_params(axis="x", labelrotation=45)
    return _svg(figure)


def horizontal_bars(
    labels: list[str], values: list[float], xlabel: str, percent: bool = False
) -> str:
    figure, axes = _figure(max(1.6, 0.28 * len(labels) + 0.8))
    if not labels:
        _empty(axes)
        return _svg(figure)
    shown = [100 * v if percent else v for v in values]
    axes.barh(labels[::-1], shown[::-1], color=COLOURS[0])
    for y, value in enumerate(shown[::-1]):
        axes.text(value, y, f" {value:.1f}%" if percent else f" {value:g}", va="center")
    axes.set_xlabel(xlabel)
    if percent:
        axes.set_xlim(0, max(100, max(shown) * 1.15))
    return _svg(figure)


def intent_trend(table: Table) -> str:
    figure, axes = _figure()
    series: dict[str, dict[str, int]] = defaultdict(dict)
    for day, intent, count in table.rows:
        series[intent][day] = count
    days = sorted(set(table.column("day")))
    for colour, (intent, counts) in zip(COLOURS * 2, sorted(series.items())):
        axes.plot(days, [counts.get(d, 0) for d in days], label=intent, color=colour)
    if not days:
        _empty(axes)
    else:
        axes.set_ylabel("messages")
        axes.legend(frameon=False, fontsize=7, ncol=2)
        axes.tick_params(axis="x", labelrotation=45)
    return _svg(figure)


def negative_share_over_time(hourly: Table, daily: Table) -> str:
    figure, axes = _figure()
    if not hourly.rows:
        _empty(axes)
        return _svg(figure)
    axes.plot(
        range(len(hourly.rows)),
        [100 * (s or 0) for s in hourly.column("negative_share")],
        color=COLOURS[5],
        linewidth=0.8,
        label="per hour",
    )
    hours = hourly.column("start")
    positions = {hour[:10]: i for i, hour in reversed(list(enumerate(hours)))}
    axes.step(
        [positions.get(day[:10], 0) for day in daily.column("start")],
        [100 * (s or 0) for s in daily.column("negative_share")],
        where="post",
        color=COLOURS[1],
        linewidth=2,
        label="per day",
    )
    ticks = list(range(0, len(hours), max(1, len(hours) // 8)))
    axes.set_xticks(ticks, [hours[i] for i in ticks], rotation=45, ha="right")
    axes.set_ylabel("negative messages (%)")
    axes.legend(frameon=False, fontsize=8)
    return _svg(figure)


def all_plots(figures: Figures) -> dict[str, str]:
    """Every plot of the page, by name (the page's ``data-plot``)."""
    t = figures.tables
    s = figures.summary
    outcomes = [
        ("contained", s["containment"]),
        ("resolved, confirmed", s["resolution_confirmed"]),
        ("resolved, assumed", s["resolution_assumed"]),
        (
            "handed over",
            s["handoffs"] / s["conversations"] if s["conversations"] else None,
        ),
    ]
    outcomes = [(label, value) for label, value in outcomes if value is not None]
    top = t["top_intents"].rows[:10]
    by_intent = [row for row in t["sentiment_by_intent"].rows if row[1]][:10]
    return {
        "conversations": conversations_per_day(t["daily"]),
        "outcomes": horizontal_bars(
            [label for label, _ in outcomes],
            [value for _, value in outcomes],
            "share of conversations (%)",
            percent=True,
        ),
        "handoffs": horizontal_bars(
            t["handoffs"].column("reason"),
            t["handoffs"].column("tickets"),
            "tickets",
        ),
        "intents": horizontal_bars(
            [intent for intent, _, _ in top], [n for _, n, _ in top], "messages"
        ),
        "intent_trend": intent_trend(t["intent_trend"]),
        "csat": horizontal_bars(
            [f"{rating} ★" for rating in t["csat"].column("rating")],
            t["csat"].column("count"),
            "ratings",
        ),
        "sentiment": negative_share_over_time(
            t["sentiment_hourly"], t["sentiment_daily"]
        ),
        "sentiment_by_intent": horizontal_bars(
            [intent for intent, _, _ in by_intent],
            [share or 0 for _, _, share in by_intent],
            "negative messages (%)",
            percent=True,
        ),
    }
