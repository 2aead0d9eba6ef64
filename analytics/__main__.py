"""The analytics commands.

    python -m analytics report [--from 2026-11-01] [--to 2026-11-07] [--out FILE]
    python -m analytics watch [--every 300] [--once]

``report`` writes the analytics page as a static HTML file; ``--to`` is
inclusive (the whole day); without dates, the last 7 days. ``watch`` looks for
surges of negative messages (analytics/alerts.py) every ``--every`` seconds over
the past day, stores new alerts and POSTs them to $ALERT_WEBHOOK_URL; a round
that fails (a database down) is logged and the next one tries again. The
databases are the ones the assistant uses (DATABASE_URL, TRACKER_DATABASE_URL,
else the SQLite files in var/).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time as clock
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from actions.db.engine import make_engine
from analytics import alert_store
from analytics.alerts import alarms_between
from analytics.figures import Period, compute
from analytics.page import render
from settings import action_server as settings
from settings.rasa_server import tracker_database_url

DEFAULT_DAYS = 7
WATCHED_HOURS = 24
logger = logging.getLogger("analytics")


def period_of(first: str | None, last: str | None, days: int = DEFAULT_DAYS) -> Period:
    """The period from ``first`` to ``last`` (ISO dates, both inclusive).

    Raises ValueError with a sentence a person can act on."""
    try:
        first_day = date.fromisoformat(first) if first else None
        last_day = date.fromisoformat(last) if last else None
    except ValueError:
        raise ValueError(
            "dates are written YYYY-MM-DD, for example 2026-11-30"
        ) from None
    if first_day is None and last_day is None:
        return Period.last_days(days)
    last_day = last_day or datetime.now(timezone.utc).date()
    first_day = first_day or last_day - timedelta(days=days - 1)
    if last_day < first_day:
        raise ValueError("the period's last day comes before its first")
    start = datetime.combine(first_day, time(), timezone.utc)
    return Period(
        start, datetime.combine(last_day + timedelta(days=1), time(), timezone.utc)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analytics")
    commands = parser.add_subparsers(dest="command", required=True)
    report = commands.add_parser("report", help="write the page as a static HTML file")
    report.add_argument("--from", dest="first", help="first day, YYYY-MM-DD")
    report.add_argument("--to", dest="last", help="last day (inclusive), YYYY-MM-DD")
    report.add_argument("--out", type=Path, default=Path("var/analytics-report.html"))
    watch = commands.add_parser("watch", help="raise and deliver surge alerts")
    watch.add_argument(
        "--every", type=float, default=300, help="seconds between rounds"
    )
    watch.add_argument("--once", action="store_true", help="one round, then exit")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    # matplotlib logs a line per categorical axis at INFO: noise, not news.
    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    tracker = make_engine(tracker_database_url())
    business = make_engine()
    try:
        if args.command == "report":
            return write_report(tracker, business, args.first, args.last, args.out)
        while True:
            watch_round(tracker, business)
            if args.once:
                return 0
            clock.sleep(args.every)
    except KeyboardInterrupt:
        return 0
    finally:
        tracker.dispose()
        business.dispose()


def write_report(tracker, business, first, last, out: Path) -> int:
    try:
        period = period_of(first, last)
    except ValueError as error:
        print(f"analytics: {error}", file=sys.stderr)
        return 2
    figures = compute(tracker, business, period)
    alerts = alert_store.raised_between(business, period.start, period.end)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(figures, alerts=alerts), encoding="utf-8")
    print(f"analytics: {figures.summary['conversations']} conversations; wrote {out}")
    return 0


def watch_round(tracker, business, now: datetime | None = None) -> None:
    """Detect over the past day, keep new alerts, deliver what is pending."""
    now = now or datetime.now(timezone.utc)
    try:
        alarms = alarms_between(tracker, now - timedelta(hours=WATCHED_HOURS), now)
        for key in alert_store.store(business, tracker, alarms):
            logger.info("alert raised: %s", key)
        url = settings.ALERT_WEBHOOK_URL.read()
        if url:
            alert_store.deliver_pending(business, url)
    except SQLAlchemyError as error:
        logger.warning(
            "watch round failed, next round retries (%s)", type(error).__name__
        )


if __name__ == "__main__":
    sys.exit(main())
