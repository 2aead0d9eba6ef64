"""Benchmark: how fast the surge detector sees a rise in negative messages, and
how often it cries wolf, on replayed traffic.

    python -m scripts.alerts_bench [--peak 25] [--replays 10]

Each replay is 37 days of generated traffic (analytics/traffic.py: a day/night
curve with Poisson noise, 12% negative messages): 7 days to learn the baseline,
then 30 days watched. False alarms are counted on replays without a surge; the
detection delay on replays with one surge of +10 points for 12 hours, starting
at a random hour. The same replays are judged by a baseline rule measured in
the same run: alarm when an hour's negative share is 10 points above the past
week's (with at least 20 messages in the hour). One replay also goes through
SQLite and the detector's own SQL, which must find the same alarms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
from collections import defaultdict
from datetime import datetime, timedelta, timezone

from actions.db.engine import make_engine
from actions.db.migrate import upgrade_head
from analytics import traffic
from analytics.alerts import ALL, DetectorSettings, Series, alarms_between, detect
from analytics.sql import HOUR_S
from scripts.kb_bench import commit

START = datetime(2026, 1, 5, tzinfo=timezone.utc)
WARM_UP_DAYS, WATCHED_DAYS = 7, 30
BASE_SHARE, SURGE = 0.12, 0.10
SURGE_HOURS = 12
TARGET_DELAY_H, TARGET_FALSE_PER_30_DAYS = 2, 1


def series_of(
    conversations: list[traffic.Conversation], step_s: int
) -> dict[str, Series]:
    """The detector's counts per step, straight from the generated events."""
    series: dict[str, Series] = defaultdict(dict)
    for conversation in conversations:
        for event in traffic.conversation_events(conversation):
            sentiment = event.get("parse_data", {}).get("sentiment")
            if event["event"] != "user" or sentiment is None:
                continue
            hour = int(event["timestamp"]) - int(event["timestamp"]) % step_s
            negative = sentiment["label"] == "negative"
            intent = event["parse_data"]["intent"]["name"]
            for topic in (ALL, intent):
                n, k = series[topic].get(hour, (0, 0))
                series[topic][hour] = (n + 1, k + negative)
    return dict(series)


def naive(series: dict[str, Series], start: datetime, end: datetime) -> list[tuple]:
    """The baseline rule: an hour 10 points above the past week's share
    (``series`` counted per hour)."""
    alarms = []
    for topic, counts in series.items():
        for at in range(int(start.timestamp()), int(end.timestamp()), HOUR_S):
            n, k = counts.get(at, (0, 0))
            past = [counts.get(at - h * HOUR_S, (0, 0)) for h in range(1, 7 * 24 + 1)]
            past_n, past_k = sum(p[0] for p in past), sum(p[1] for p in past)
            if n >= 20 and past_n and k / n >= past_k / past_n + SURGE:
                alarms.append((topic, at))
    return alarms


def replay(peak: float, seed: int, surge_at: datetime | None, step_s: int):
    hours = (WARM_UP_DAYS + WATCHED_DAYS) * 24
    surge = None
    if surge_at is not None:
        surge = (surge_at, surge_at + timedelta(hours=SURGE_HOURS), BASE_SHARE + SURGE)
    conversations = traffic.simulate(START, hours, peak, BASE_SHARE, surge, seed)
    return (
        conversations,
        series_of(conversations, step_s),
        series_of(conversations, HOUR_S),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--peak", type=float, default=80.0,
                        help="conversations in the busiest hour")  # fmt: skip
    parser.add_argument("--replays", type=int, default=10)
    args = parser.parse_args()
    settings = DetectorSettings.from_file()
    step_s = settings.step_s
    watched = START + timedelta(days=WARM_UP_DAYS)
    end = watched + timedelta(days=WATCHED_DAYS)
    rng = random.Random(5)

    false_alarms, naive_false, per_day = [], [], []
    for seed in range(args.replays):
        conversations, series, hourly = replay(args.peak, 100 + seed, None, step_s)
        per_day.append(len(conversations) / (WARM_UP_DAYS + WATCHED_DAYS))
        false_alarms.append(len(detect(series, watched, end, settings)))
        naive_false.append(len(naive(hourly, watched, end)))
    delays, naive_delays = [], []
    for seed in range(args.replays):
        surge_at = watched + timedelta(hours=rng.randrange(2 * 24, 28 * 24))
        _, series, hourly = replay(args.peak, 200 + seed, surge_at, step_s)
        window_end = surge_at + timedelta(hours=SURGE_HOURS)
        found = [alarm.at for alarm in detect(series, surge_at, window_end, settings)]
        delays.append(_hours(min(found) - surge_at) if found else None)
        naive_found = [at for _, at in naive(hourly, surge_at, window_end)]
        naive_delays.append(
            (min(naive_found) + HOUR_S - surge_at.timestamp()) / 3600
            if naive_found
            else None
        )

    print(
        f"alerts bench (commit {commit()}): {statistics.mean(per_day):.0f} "
        f"conversations a day (busiest hour {args.peak:g}), {BASE_SHARE:.0%} negative, "
        f"{args.replays} replays of {WATCHED_DAYS} days each way; detector {settings}"
    )
    for name, falses, found in (
        ("CUSUM (analytics/alerts.py)", false_alarms, delays),
        ("baseline: hour 10 points over last week", naive_false, naive_delays),
    ):
        seen = [d for d in found if d is not None]
        within = sum(d <= TARGET_DELAY_H for d in seen)
        print(
            f"  {name}: false alarms per 30 days {statistics.mean(falses):.2f} "
            f"(max {max(falses)}); surge detected {len(seen)}/{len(found)}, "
            f"within {TARGET_DELAY_H} h {within}/{len(found)}, delay median "
            f"{statistics.median(seen) if seen else float('nan'):.1f} h, "
            f"max {max(seen) if seen else float('nan'):.1f} h"
        )
    print(
        f"  targets: detected within {TARGET_DELAY_H} h, at most "
        f"{TARGET_FALSE_PER_30_DAYS} false alarm per 30 days"
    )
    _same_through_sql(args.peak, settings, watched, end)
    _by_time_of_day(args.peak, settings, args.replays)


def _same_through_sql(peak, settings, watched, end) -> None:
    conversations, series, _ = replay(peak, 100, None, settings.step_s)
    with tempfile.TemporaryDirectory() as directory:
        business_url = f"sqlite:///{directory}/assistant.db"
        upgrade_head(business_url)
        tracker = make_engine(f"sqlite:///{directory}/conversations.db")
        business = make_engine(business_url)
        traffic.write(tracker, business, conversations)
        through_sql = alarms_between(tracker, watched, end, settings)
        tracker.dispose()
        business.dispose()
    direct = detect(series, watched, end, settings)
    same = [a.key for a in through_sql] == [a.key for a in direct]
    print(f"  one replay through SQLite: {len(through_sql)} alarms, same: {same}")


def _by_time_of_day(peak: float, settings: DetectorSettings, replays: int) -> None:
    """Delay of surges starting at fixed hours: volume decides how fast."""
    watched = START + timedelta(days=WARM_UP_DAYS)
    line = []
    for hour in (3, 9, 14, 20):
        delays = []
        for seed in range(replays):
            surge_at = watched + timedelta(days=3 + 2 * seed, hours=hour)
            _, series, _ = replay(peak, 300 + seed, surge_at, settings.step_s)
            window_end = surge_at + timedelta(hours=SURGE_HOURS)
            found = [a.at for a in detect(series, surge_at, window_end, settings)]
            delays.append(_hours(min(found) - surge_at) if found else SURGE_HOURS)
        line.append(f"{hour:02d}:00 UTC {statistics.median(delays):.1f} h")
    print("  CUSUM delay (median) by the surge's start: " + ", ".join(line))


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


if __name__ == "__main__":
    main()
