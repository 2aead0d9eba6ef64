"""Benchmark: the analytics page's queries over a million events on PostgreSQL.

    python -m scripts.analytics_bench [--events 1000000] [--days 30]

Starts a private PostgreSQL (cluster/services.py), fills a tracker store and an
assistant database with generated traffic (analytics/traffic.py: a day/night
curve, as Rasa and the action server store it), and times, for the last 7 days
and for the whole period:

* the page's queries (``analytics.figures.compute``): the target is 10 s;
* the page's rendering (plots and tables);
* the baseline, measured in the same run: reading every event of the period
  into Python and decoding its JSON, the least any figure computed outside the
  database would cost.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from actions.db.engine import make_engine
from actions.db.migrate import upgrade_head
from analytics import traffic
from analytics.figures import Period, compute
from analytics.page import render
from analytics.sql import ensure_indexes, events
from cluster.services import create_database, free_port, postgres
from scripts.kb_bench import commit

TARGET_S = 10.0


def timed(function, repeat: int = 3) -> tuple[float, object]:
    """Median seconds of ``repeat`` calls, and the last result."""
    seconds, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), result


def load_everything(tracker: sa.engine.Engine, period: Period) -> int:
    """The baseline: every event of the period, into Python, decoded."""
    decoded = 0
    with tracker.connect() as connection:
        rows = connection.execution_options(stream_results=True).execute(
            sa.select(events.c.data).where(
                events.c.timestamp >= period.first_s, events.c.timestamp < period.end_s
            )
        )
        for (data,) in rows:
            json.loads(data)
            decoded += 1
    return decoded


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=traffic.DEMO_EVENTS_PER_30_DAYS)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    end = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=args.days)
    hours = args.days * 24
    peak = traffic.peak_for(args.events, args.days)

    with tempfile.TemporaryDirectory(prefix="analytics-bench-") as state:
        os.chmod(state, 0o755)  # PostgreSQL runs as its own account
        port = free_port()
        server = postgres(Path(state), port)
        server.start()
        try:
            tracker_url = create_database(port, "conversations")
            business_url = create_database(port, "assistant")
            upgrade_head(business_url)
            tracker, business = make_engine(tracker_url), make_engine(business_url)
            began = time.perf_counter()
            conversations = traffic.simulate(start, hours, peak, seed=11)
            written = traffic.write(tracker, business, conversations)
            ensure_indexes(tracker)
            with tracker.begin() as connection:
                connection.execute(sa.text("ANALYZE"))
            print(
                f"generated {len(conversations):,} conversations, {written:,} events "
                f"over {args.days} days in {time.perf_counter() - began:.0f} s "
                f"(PostgreSQL, commit {commit()})"
            )
            print(f"{'period':<10} {'events':>10} {'page queries':>13} "
                  f"{'rendering':>10} {'baseline: load all':>19}")  # fmt: skip
            for label, days in (("7 days", 7), (f"{args.days} days", args.days)):
                period = Period(end - timedelta(days=days), end)
                queries_s, figures = timed(
                    lambda p=period: compute(tracker, business, p)
                )
                render_s, _ = timed(lambda f=figures: render(f), repeat=1)
                load_s, loaded = timed(lambda p=period: load_everything(tracker, p), 1)
                verdict = "met" if queries_s <= TARGET_S else "NOT met"
                print(
                    f"{label:<10} {loaded:>10,} {queries_s:>11.2f} s "
                    f"{render_s:>8.2f} s {load_s:>17.2f} s   "
                    f"target {TARGET_S:.0f} s: {verdict}"
                )
            tracker.dispose()
            business.dispose()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
