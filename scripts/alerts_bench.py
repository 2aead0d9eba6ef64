"""Benchmark: how fast the surge detector sees a rise in negative messages, and
how often it cries wolf, on replayed traffic.

    python -m scripts.alerts_bench [--peak 212] [--replays 20]

Each replay is 37 days of generated traffic (analytics/traffic.py: a day/night
curve with Poisson noise, 12% negative messages, by default at the demo's
volume, the million events a month that ``make bench-analytics`` also
replays): 7 days to learn the baseline, then 30 days watched. False alarms are
counted on replays without a surge; the detection delay on replays with one
surge of +10 points for 12 hours, starting at a random hour. The same replays
are judged by a baseline rule measured in the same run: alarm when an hour's
negative share is 10 points above the past week's (with at least 20 messages
in the hour).

Then, because volume decides how fast a rise can be told from noise: the delay
by the hour the surge starts, at the demo's volume and at a third of it (a
surge not found in its 12 hours counts as 12 h there), beside what the page
expects (analytics.alerts.expected_delays); and the delay for a surge in one
intent's messages only (+30 points in the order status questions), with the
intent charts' threshold as configured and one lower, beside the false alarms
each gives. A delay is the first alarm of the chart meant for the surge: the
overall one, or the intent's. One surge replay also goes through SQLite and the
detector's own SQL, which must find the same alarms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections import defaultdict
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from actions.db.engine import make_engine
from actions.db.migrate import upgrade_head
from analytics import traffic
from analytics.alerts import (
    ALL,
    DetectorSettings,
    Series,
    alarms_between,
    day_curve,
    detect,
    expected_delays,
)
from analytics.sql import HOUR_S
from scripts.kb_bench import commit

START = datetime(2026, 1, 5, tzinfo=timezone.utc)
WARM_UP_DAYS, WATCHED_DAYS = 7, 30
WATCHED = START + timedelta(days=WARM_UP_DAYS)
END = WATCHED + timedelta(days=WATCHED_DAYS)
BASE_SHARE, SURGE = 0.12, 0.10
SURGE_HOURS = 12
ONE_INTENT, ONE_INTENT_SURGE = "check_order_status", 0.30
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


def surge_at(moment: datetime, intent: str | None = None) -> traffic.Surge:
    share = BASE_SHARE + (SURGE if intent is None else ONE_INTENT_SURGE)
    return traffic.Surge(moment, moment + timedelta(hours=SURGE_HOURS), share, intent)


def replay(peak: float, seed: int, surge: traffic.Surge | None):
    hours = (WARM_UP_DAYS + WATCHED_DAYS) * 24
    return traffic.simulate(START, hours, peak, BASE_SHARE, surge, seed)


def delay_h(series, surge: traffic.Surge, settings: DetectorSettings) -> float | None:
    """Hours from the surge's start to the first alarm of the chart meant for
    it (the overall one, or the intent's), None if none came."""
    topic = surge.intent or ALL
    found = [
        alarm.at
        for alarm in detect(series, surge.start, surge.end, settings)
        if alarm.topic == topic
    ]
    return (min(found) - surge.start).total_seconds() / 3600 if found else None


def summary(delays: list[float | None]) -> str:
    seen = [d for d in delays if d is not None]
    within = sum(d <= TARGET_DELAY_H for d in seen)
    if not seen:
        return f"detected 0/{len(delays)}"
    return (
        f"detected {len(seen)}/{len(delays)}, within {TARGET_DELAY_H} h "
        f"{within}/{len(delays)}, delay median {statistics.median(seen):.1f} h, "
        f"max {max(seen):.1f} h"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--peak", type=float, default=traffic.DEMO_PEAK_PER_HOUR,
                        help="conversations in the busiest hour")  # fmt: skip
    parser.add_argument("--replays", type=int, default=20)
    args = parser.parse_args()
    began = time.monotonic()
    settings = DetectorSettings.from_file()
    # The intent charts one step more sensitive, to show what their threshold buys.
    lower = replace(settings, intent_threshold=settings.intent_threshold - 1)
    step_s = settings.step_s
    rng = random.Random(5)

    false_overall, false_intents, false_lower, naive_false, per_day = [], [], [], [], []
    for seed in range(args.replays):
        conversations = replay(args.peak, 100 + seed, None)
        per_day.append(len(conversations) / (WARM_UP_DAYS + WATCHED_DAYS))
        series = series_of(conversations, step_s)
        alarms = detect(series, WATCHED, END, settings)
        false_overall.append(sum(alarm.topic == ALL for alarm in alarms))
        false_intents.append(sum(alarm.topic != ALL for alarm in alarms))
        false_lower.append(
            sum(alarm.topic != ALL for alarm in detect(series, WATCHED, END, lower))
        )
        naive_false.append(len(naive(series_of(conversations, HOUR_S), WATCHED, END)))
    delays, naive_delays = [], []
    for seed in range(args.replays):
        surge = surge_at(WATCHED + timedelta(hours=rng.randrange(2 * 24, 28 * 24)))
        conversations = replay(args.peak, 200 + seed, surge)
        delays.append(delay_h(series_of(conversations, step_s), surge, settings))
        hourly = series_of(conversations, HOUR_S)
        found = [at for _, at in naive(hourly, surge.start, surge.end)]
        naive_delays.append(
            (min(found) + HOUR_S - surge.start.timestamp()) / 3600 if found else None
        )

    print(
        f"alerts bench (commit {commit()}): {statistics.mean(per_day):,.0f} "
        f"conversations a day (busiest hour {args.peak:.0f}), "
        f"{BASE_SHARE:.0%} negative, "
        f"{args.replays} replays of {WATCHED_DAYS} days each way; detector {settings}"
    )
    falses = [a + b for a, b in zip(false_overall, false_intents)]
    print(
        f"  CUSUM (analytics/alerts.py): false alarms per 30 days "
        f"{statistics.mean(falses):.2f} (max {max(falses)}; all messages "
        f"{statistics.mean(false_overall):.2f}, intents "
        f"{statistics.mean(false_intents):.2f}); a +10-point surge, overall chart: "
        f"{summary(delays)}"
    )
    print(
        f"  baseline: hour 10 points over last week: false alarms per 30 days "
        f"{statistics.mean(naive_false):.2f} (max {max(naive_false)}); "
        f"a +10-point surge: {summary(naive_delays)}"
    )
    print(
        f"  targets: detected within {TARGET_DELAY_H} h, at most "
        f"{TARGET_FALSE_PER_30_DAYS} false alarm per 30 days"
    )
    replays = max(args.replays // 2, 1)
    for peak in (args.peak, args.peak / 3):
        print(
            f"  CUSUM by the surge's start, busiest hour {peak:.0f} "
            f"({replays} replays each): " + _by_time_of_day(peak, settings, replays)
        )
    one_intent, one_intent_lower = [], []
    for seed in range(args.replays):
        start = WATCHED + timedelta(hours=rng.randrange(2 * 24, 28 * 24))
        surge = surge_at(start, ONE_INTENT)
        series = series_of(replay(args.peak, 400 + seed, surge), step_s)
        one_intent.append(delay_h(series, surge, settings))
        one_intent_lower.append(delay_h(series, surge, lower))
    print(
        f"  CUSUM, +{ONE_INTENT_SURGE * 100:.0f} points in {ONE_INTENT} only, "
        f"its chart: {summary(one_intent)}; at intent threshold "
        f"{lower.intent_threshold:g}: {summary(one_intent_lower)}, intent false "
        f"alarms per 30 days {statistics.mean(false_lower):.2f} "
        f"(at {settings.intent_threshold:g}: {statistics.mean(false_intents):.2f})"
    )
    _same_through_sql(args.peak, settings)
    print(f"  {time.monotonic() - began:.0f} s in all")


def _by_time_of_day(peak: float, settings: DetectorSettings, replays: int) -> str:
    """Delay of surges starting at fixed hours: volume decides how fast. Beside
    each, what the page would expect from a week of the same traffic."""
    expected = _expected_delays(peak, settings)
    line = []
    for hour in (3, 9, 14, 20):
        delays = []
        for seed in range(replays):
            surge = surge_at(WATCHED + timedelta(days=3 + 2 * seed, hours=hour))
            conversations = replay(peak, 300 + seed, surge)
            delays.append(
                delay_h(series_of(conversations, settings.step_s), surge, settings)
            )
        seen = [d if d is not None else SURGE_HOURS for d in delays]
        within = sum(d <= TARGET_DELAY_H for d in seen)
        line.append(
            f"{hour:02d}:00 UTC median {statistics.median(seen):.1f} h "
            f"(the page expects {_hours(expected[hour])}), max {max(seen):.1f} h, "
            f"within {TARGET_DELAY_H} h {within}/{replays}"
        )
    known = [(d, hour) for hour, d in enumerate(expected) if d is not None]
    if known:
        slowest, hour = max(known)
        line.append(f"the page's slowest start {hour:02d}:00 UTC, {slowest:.1f} h")
    return "; ".join(line)


def _hours(delay: float | None) -> str:
    return "never within a week" if delay is None else f"{delay:.1f} h"


def _expected_delays(peak: float, settings: DetectorSettings) -> list[float | None]:
    """analytics.alerts.expected_delays from a steady replay's watched days."""
    counts = series_of(replay(peak, 999, None), HOUR_S)[ALL]
    watched = {at: n_k for at, n_k in counts.items() if WATCHED <= _utc(at) < END}
    curve = day_curve(((_utc(at), n) for at, (n, _) in watched.items()), WATCHED, END)
    negative = sum(k for _, k in watched.values())
    share = negative / sum(n for n, _ in watched.values())
    return expected_delays(curve, share, settings)


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)


def _same_through_sql(peak: float, settings: DetectorSettings) -> None:
    surge = surge_at(WATCHED + timedelta(days=10, hours=9))
    conversations = replay(peak, 100, surge)
    with tempfile.TemporaryDirectory() as directory:
        business_url = f"sqlite:///{directory}/assistant.db"
        upgrade_head(business_url)
        tracker = make_engine(f"sqlite:///{directory}/conversations.db")
        business = make_engine(business_url)
        traffic.write(tracker, business, conversations)
        through_sql = alarms_between(tracker, WATCHED, END, settings)
        tracker.dispose()
        business.dispose()
    direct = detect(series_of(conversations, settings.step_s), WATCHED, END, settings)
    same = [a.key for a in through_sql] == [a.key for a in direct]
    print(
        f"  one surge replay through SQLite: {len(through_sql)} alarms, "
        f"the same as counted directly: {same}"
    )


if __name__ == "__main__":
    main()
