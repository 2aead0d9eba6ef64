"""Warn when the share of negative customer messages surges.

A Bernoulli CUSUM per topic (all messages, and each intent) on the counts of
customer messages in steps of ``step_minutes`` from the tracker store. Each step
adds the log-likelihood ratio of its messages under "the share rose by
``shift``" against "the share is the baseline", the baseline being the share
over the ``baseline_days`` before that step (the recent past, learned again at
every step). The sum never goes below zero; when it reaches ``threshold`` the
topic alarms, the sum restarts, and the topic is quiet for ``cooldown_hours``.
Steps shorter than an hour raise the alarm as soon as the evidence is there,
not at the end of the hour. CUSUM is the quickest detector of such a shift
for a given rate of false alarms, and counting messages (not averaging hourly
shares) weighs a busy afternoon more than a quiet night, as it should.

The parameters live in ``analytics/alerts.yml``; ``make bench-alerts``
measures detection delay and false alarms on replayed traffic. How soon a surge
can be seen depends on the volume more than on the rule, so ``expected_delays``
works it out from a period's messages per hour, for the page to say.

Detection is a pure function of the counts, so running it again over the same
hours finds the same alarms: the alarm's topic and step make its idempotency
key.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Engine

from analytics.figures import NEGATIVE
from analytics.sql import HOUR_S, bucket, events, json_text

SETTINGS_FILE = Path(__file__).with_name("alerts.yml")
ALL = "all messages"
WEEK_H = 7 * 24


@dataclass(frozen=True)
class DetectorSettings:
    shift: float  # the rise in negative share (0.10 = 10 points) to detect
    threshold: float  # CUSUM decision interval: higher, fewer false alarms
    intent_threshold: float  # the same for one intent's messages
    step_minutes: int  # how often the evidence is weighed (divides 60)
    baseline_days: int  # the recent past the baseline share is learned from
    min_baseline_messages: int  # below this, a topic's baseline is not trusted
    cooldown_hours: int  # after an alarm, the topic is quiet this long

    @classmethod
    def from_file(cls, path: Path = SETTINGS_FILE) -> DetectorSettings:
        values = yaml.safe_load(path.read_text())["detector"]
        names = {field.name for field in fields(cls)}
        if set(values) != names:
            raise ValueError(f"{path}: detector needs exactly {sorted(names)}")
        settings = cls(**values)
        if settings.step_minutes <= 0 or 60 % settings.step_minutes:
            raise ValueError(f"{path}: step_minutes must divide 60")
        if not 0 < settings.shift < 1:
            raise ValueError(f"{path}: shift is a share, between 0 and 1")
        return settings

    @property
    def step_s(self) -> int:
        return self.step_minutes * 60


@dataclass(frozen=True)
class Alarm:
    topic: str
    at: datetime  # the end of the step that raised it
    since: datetime  # where the rise began (the CUSUM's last zero)
    baseline: float
    current: float  # the share since ``since``
    messages: int  # messages since ``since``

    @property
    def key(self) -> str:
        return f"negative-surge:{self.topic}:{self.at:%Y-%m-%dT%H:%M}"


# step start (Unix seconds) -> (messages with a sentiment, negative ones)
Series = dict[int, tuple[int, int]]


def step_counts(
    tracker: Engine, start: datetime, end: datetime, step_s: int = HOUR_S
) -> dict[str, Series]:
    """Per topic, the counts of customer messages per step in [start, end)."""
    sentiment = json_text(events.c.data, "parse_data", "sentiment", "label")
    hour = bucket(events.c.timestamp, step_s).label("step")
    query = (
        sa.select(
            hour,
            events.c.intent_name,
            sa.func.count(sentiment),
            sa.func.sum(sa.case((sentiment == NEGATIVE, 1), else_=0)),
        )
        .where(
            events.c.type_name == "user",
            events.c.timestamp >= start.timestamp(),
            events.c.timestamp < end.timestamp(),
        )
        .group_by(hour, events.c.intent_name)
    )
    series: dict[str, Series] = defaultdict(dict)
    with tracker.connect() as connection:
        for at, intent, messages, negative in connection.execute(query):
            if not messages:
                continue
            for topic in (ALL, intent or "unknown"):
                n, k = series[topic].get(int(at), (0, 0))
                series[topic][int(at)] = (n + messages, k + (negative or 0))
    return dict(series)


def detect(
    series: dict[str, Series],
    start: datetime,
    end: datetime,
    settings: DetectorSettings,
) -> list[Alarm]:
    """The alarms raised in the steps within [start, end); ``series`` (counted
    in ``settings.step_minutes``) must reach back ``baseline_days`` before."""
    alarms = []
    for topic, counts in sorted(series.items()):
        alarms.extend(_detect_topic(topic, counts, start, end, settings))
    return sorted(alarms, key=lambda alarm: (alarm.at, alarm.topic))


def _detect_topic(
    topic: str, counts: Series, start: datetime, end: datetime, s: DetectorSettings
) -> list[Alarm]:
    step = s.step_s
    threshold = s.threshold if topic == ALL else s.intent_threshold
    first, last = _step(start, step), _step(end, step)
    window = s.baseline_days * 24 * HOUR_S
    # Running sums over the baseline window, moved one step at a time.
    base_n = base_k = 0
    for at in range(first - window, first, step):
        n, k = counts.get(at, (0, 0))
        base_n, base_k = base_n + n, base_k + k
    alarms, total, since, quiet_until = [], 0.0, None, first
    run_n = run_k = 0
    for at in range(first, last, step):
        n, k = counts.get(at, (0, 0))
        if base_n >= s.min_baseline_messages and n:
            p0, p1 = _before_and_after(base_k / base_n, s.shift)
            evidence = k * math.log(p1 / p0) + (n - k) * math.log((1 - p1) / (1 - p0))
            if total == 0:
                since, run_n, run_k = at, 0, 0
            total = max(0.0, total + evidence)
            run_n, run_k = run_n + n, run_k + k
            if total >= threshold and at >= quiet_until:
                raised = _moment(at + step)
                alarms.append(
                    Alarm(topic, raised, _moment(since), p0, run_k / run_n, run_n)
                )
                total, quiet_until = 0.0, at + s.cooldown_hours * HOUR_S
            elif total >= threshold:
                total = 0.0
        old_n, old_k = counts.get(at - window, (0, 0))
        base_n, base_k = base_n + n - old_n, base_k + k - old_k
    return alarms


def day_curve(
    counts: Iterable[tuple[datetime, int]], start: datetime, end: datetime
) -> list[float]:
    """Messages per hour of the day (UTC), on average over the hours of
    [start, end): ``counts`` holds (hour, messages) for the hours that had any."""
    messages, hours = [0] * 24, [0] * 24
    for hour, count in counts:
        messages[hour.astimezone(timezone.utc).hour] += count
    hour = start.astimezone(timezone.utc)
    while hour < end:
        hours[hour.hour] += 1
        hour += timedelta(hours=1)
    return [m / n if n else 0.0 for m, n in zip(messages, hours)]


def expected_delays(
    curve: Sequence[float], share: float, settings: DetectorSettings
) -> list[float | None]:
    """Hours the overall chart is expected to take to alarm on a surge of
    ``settings.shift`` starting at each hour of the day (UTC), at this volume
    (``curve``: messages per hour of the day) and this baseline ``share``; None
    where a week's messages would not be enough.

    Each message adds on average ``drift`` to the CUSUM under the surge, so the
    alarm needs about (threshold - 1 + e^-threshold) / drift messages (Wald's
    approximation of a CUSUM's mean delay); the hours are how long the day's
    curve takes to bring them, plus half a step for when the evidence is
    weighed. ``make bench-alerts`` prints these beside the measured delays.
    """
    if len(curve) != 24:
        raise ValueError("the curve has one value per hour of the day")
    p0, p1 = _before_and_after(share, settings.shift)
    drift = p1 * math.log(p1 / p0) + (1 - p1) * math.log((1 - p1) / (1 - p0))
    h = settings.threshold
    needed = (h - 1 + math.exp(-h)) / drift
    half_step_h = settings.step_minutes / 60 / 2
    delays: list[float | None] = []
    for start in range(24):
        remaining, hours = needed, None
        for elapsed in range(WEEK_H):
            arriving = curve[(start + elapsed) % 24]
            if arriving >= remaining:
                hours = elapsed + remaining / arriving + half_step_h
                break
            remaining -= arriving
        delays.append(hours)
    return delays


def _before_and_after(baseline: float, shift: float) -> tuple[float, float]:
    """The shares the chart weighs, kept off 0 and 1 where logs would fail."""
    p0 = min(max(baseline, 0.005), 0.9)
    return p0, min(p0 + shift, 0.99)


def _step(moment: datetime, step: int) -> int:
    seconds = int(moment.timestamp())
    return seconds - seconds % step


def _moment(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)


def alarms_between(
    tracker: Engine,
    start: datetime,
    end: datetime,
    settings: DetectorSettings | None = None,
) -> list[Alarm]:
    """Read the counts and detect: the alarms raised in [start, end)."""
    settings = settings or DetectorSettings.from_file()
    history = start - timedelta(days=settings.baseline_days)
    series = step_counts(tracker, history, end, settings.step_s)
    return detect(series, start, end, settings)
